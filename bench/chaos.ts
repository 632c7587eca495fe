/**
 * make chaos: crash safety and bad inputs, measured the way SQLite's crash tests do it.
 *
 * 1. Kills: for each suite (VIA letters, both tasks; the dilemma suite with personas) an
 *    uninterrupted reference run on the tiny model. Then N times: start the same run into a new
 *    directory with a fresh answer cache, SIGKILL it at a random moment of the reference's wall
 *    time, resume it (again and again, until it says complete), and compare its records with the
 *    reference's: lost (an id missing), doubled (an id twice in records.jsonl), wrong (the same
 *    id with other content). Goal: N / 0 / 0 / 0.
 * 2. Bad inputs: each is run once; it must exit non-zero with one line on stderr. Printed as a table.
 *
 * Usage: node --import tsx bench/chaos.ts [--kills 50] [--seed 1]   (needs `npm run build` first)
 * Writes bench/results/chaos.json.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureTestModel, writeTestModel } from "../src/gguf/index.js";
import { deterministicPart, type RunRecord } from "../src/records/records.js";
import { seededRandom } from "../src/util/random.js";
import { rewriteInPlace } from "../test/helpers/scripted.js";
import { packageRoot } from "../src/util/paths.js";

const root = packageRoot();
const BIN = path.join(root, "bin", "valuelens.js");
/** The runs' cache root: the project's .cache, where the tiny model is prepared below (not ~/.cache). */
const CACHE_ROOT = path.join(root, ".cache");
const { values } = parseArgs({
  options: { kills: { type: "string", default: "50" }, seed: { type: "string", default: "1" } },
});
const kills = Number(values.kills);
const random = seededRandom("chaos", Number(values.seed));
const work = mkdtempSync(path.join(tmpdir(), "vl-chaos-"));

const SUITES: Record<string, string[]> = {
  via: ["--repeats", "10"],
  dilemmas: [
    "--suite",
    "dilemmas",
    "--persona",
    "none,max",
    "--quadrants",
    "secular-self-expression",
    "--limit",
    "4",
    "--repeats",
    "6",
  ],
};

function cli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: CACHE_ROOT, ...env },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t };
}

/** Every line of records.jsonl parsed (torn lines skipped), in file order. */
function recordLines(dir: string): RunRecord[] {
  const file = path.join(dir, "records.jsonl");
  if (!existsSync(file)) return [];
  const out: RunRecord[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      if (line.trim()) out.push(JSON.parse(line) as RunRecord);
    } catch {
      // a torn line: the resume cuts it off
    }
  }
  return out;
}

function status(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { status?: string }).status;
  } catch {
    return undefined;
  }
}

/** When to kill: after `ms` of wall time, or once records.jsonl holds `records` lines (then a few ms more). */
type KillAt = { ms: number } | { records: number; extraMs: number };

function describeKill(k: KillAt): string {
  return "ms" in k ? `at ${k.ms} ms` : `after record ${k.records} (+${k.extraMs} ms)`;
}

/** Start a run and SIGKILL it at `when`; resolves whether the kill landed (the run had not ended by itself). */
function killedRun(args: string[], out: string, when: KillAt): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: CACHE_ROOT },
      stdio: "ignore",
    });
    const kill = () => child.kill("SIGKILL");
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    if ("ms" in when) timer = setTimeout(kill, when.ms);
    else {
      poll = setInterval(() => {
        if (recordCount(out) >= when.records) {
          clearInterval(poll);
          poll = undefined;
          timer = setTimeout(kill, when.extraMs);
        }
      }, 3);
    }
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(signal === "SIGKILL");
    });
  });
}

/** Lines in records.jsonl (cheap: counts newlines). */
function recordCount(dir: string): number {
  try {
    const buf = readFileSync(path.join(dir, "records.jsonl"));
    let n = 0;
    for (const b of buf) if (b === 10) n += 1;
    return n;
  } catch {
    return 0;
  }
}

/** How far a killed run got: records on disk, and the status its manifest was left in. */
function stage(dir: string): string {
  const st = status(dir);
  return st === undefined ? "before the manifest" : `${st}, ${recordLines(dir).length} records`;
}

await ensureTestModel("tiny", { root });
const reference = new Map<string, { records: Map<string, string>; ms: number }>();
for (const [suite, slice] of Object.entries(SUITES)) {
  const out = path.join(work, `reference-${suite}`);
  const r = cli([
    "run",
    "--model",
    "tiny",
    ...slice,
    "--out",
    out,
    "--cache-dir",
    path.join(work, `cache-reference-${suite}`),
    "--progress",
    "quiet",
  ]);
  if (r.code !== 0) throw new Error(`reference run (${suite}) failed: ${r.stderr}`);
  reference.set(suite, {
    records: new Map(recordLines(out).map((x) => [x.id, JSON.stringify(deterministicPart(x))])),
    ms: r.ms,
  });
  process.stdout.write(
    `reference ${suite}: ${reference.get(suite)!.records.size} records in ${(r.ms / 1000).toFixed(1)} s\n`,
  );
}

const totals = { kills: 0, survived: 0, lost: 0, doubled: 0, wrong: 0 };
const suites = Object.keys(SUITES);
let missed = 0; // draws where the run ended before its kill (not counted as kills)
for (let i = 0; totals.kills < kills; i++) {
  const suite = suites[totals.kills % suites.length]!;
  const ref = reference.get(suite)!;
  const out = path.join(work, `kill-${i}`);
  const args = [
    "run",
    "--model",
    "tiny",
    ...SUITES[suite]!,
    "--out",
    out,
    "--cache-dir",
    path.join(work, `cache-${i}`),
    "--progress",
    "quiet",
  ];
  // One kill in five at a random moment of the run's wall time (model load, setup, outputs);
  // the others while it answers, after a random number of records (both tasks, mid-write).
  const at: KillAt =
    random() < 0.2
      ? { ms: Math.floor(random() * ref.ms) }
      : { records: 1 + Math.floor(random() * (ref.records.size - 1)), extraMs: Math.floor(random() * 20) };
  if (!(await killedRun(args, out, at))) {
    missed += 1;
    continue;
  }
  totals.kills += 1;
  const killedAt = stage(out);
  let tries = 0;
  while (status(out) !== "complete" && tries < 5) {
    const started = existsSync(path.join(out, "manifest.json"));
    cli(started ? [...args, "--resume"] : args);
    tries += 1;
  }
  const lines = recordLines(out);
  const seen = new Map<string, number>();
  for (const r of lines) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  const lost = [...ref.records.keys()].filter((id) => !seen.has(id)).length;
  const doubled = [...seen.values()].filter((n) => n > 1).length;
  const wrong =
    lines.filter((r) => ref.records.has(r.id) && ref.records.get(r.id) !== JSON.stringify(deterministicPart(r)))
      .length + lines.filter((r) => !ref.records.has(r.id)).length;
  if (status(out) === "complete" && lost === 0 && doubled === 0 && wrong === 0) totals.survived += 1;
  totals.lost += lost;
  totals.doubled += doubled;
  totals.wrong += wrong;
  process.stdout.write(
    `kill ${totals.kills}/${kills} (${suite}, ${describeKill(at)}, left ${killedAt}): ${status(out)} after ${tries} resume(s); lost ${lost}, doubled ${doubled}, wrong ${wrong}\n`,
  );
}

// Bad inputs: each must end with one line on stderr and a non-zero exit.
const bad = path.join(work, "bad");
mkdirSync(bad, { recursive: true });
writeFileSync(path.join(bad, "models.yaml"), "models:\n  broken:\n    backend: llama.cpp\n    sourse: x.gguf\n");
writeFileSync(path.join(bad, "not-a-model.gguf"), "this is not a GGUF file");
writeFileSync(path.join(bad, "via.csv"), "country,topic\nNigeria\n");
writeFileSync(path.join(bad, "notes.txt"), "somebody's notes");
// The shipped sample with one cell changed: a valid VIA file, but not the run's dataset.
writeFileSync(
  path.join(bad, "via-other.csv"),
  readFileSync(path.join(root, "datasets", "via-sample.csv"), "utf8").replace("Nigeria", "Nigeria "),
);
// Issue 22's inputs: bounds, paths and bytes that used to hang or crash.
writeFileSync(
  path.join(bad, "models-huge.yaml"),
  "models:\n  huge:\n    backend: llama.cpp\n    source: builtin:tiny\n    contextSize: 1000000000000\n",
);
const counts = Buffer.alloc(4096);
counts.write("GGUF", 0, "latin1");
counts.writeUInt32LE(3, 4);
counts.writeBigUInt64LE(2n ** 32n - 1n, 8); // 4 billion tensors in 4 KB
writeFileSync(path.join(bad, "many-tensors.gguf"), counts);
symlinkSync(path.join(bad, "no-such-dir"), path.join(bad, "dangling"));
const sample = readFileSync(path.join(root, "datasets", "via-sample.csv"));
const third = sample.indexOf(10, sample.indexOf(10) + 1) + 5;
for (const [name, byte] of [
  ["via-latin1.csv", 0xe9],
  ["via-nul.csv", 0],
] as const) {
  const b = Buffer.from(sample);
  b[third] = byte;
  writeFileSync(path.join(bad, name), b);
}
const INPUTS: [string, string[], Record<string, string>?][] = [
  [
    "contextSize 1e12",
    ["run", "--model", "huge", "--models", path.join(bad, "models-huge.yaml"), "--out", path.join(bad, "o12")],
  ],
  [
    "a GGUF declaring 2^32-1 tensors",
    ["run", "--model", path.join(bad, "many-tensors.gguf"), "--out", path.join(bad, "o13")],
  ],
  ["--out under /proc", ["run", "--model", "tiny", "--out", "/proc/valuelens-chaos/run"]],
  [
    "--cache-dir under /proc",
    ["run", "--model", "tiny", "--cache-dir", "/proc/self/x", "--out", path.join(bad, "o14")],
  ],
  ["--out under a dangling symbolic link", ["run", "--model", "tiny", "--out", path.join(bad, "dangling", "run")]],
  ["--bootstrap 1e9", ["run", "--model", "tiny", "--bootstrap", "1000000000", "--out", path.join(bad, "o15")]],
  [
    "a non-UTF-8 byte in the VIA CSV",
    ["run", "--model", "tiny", "--via", path.join(bad, "via-latin1.csv"), "--out", path.join(bad, "o16")],
  ],
  [
    "a NUL byte in the VIA CSV",
    ["run", "--model", "tiny", "--via", path.join(bad, "via-nul.csv"), "--out", path.join(bad, "o17")],
  ],
  [
    "models.yaml with an unknown field",
    ["run", "--model", "broken", "--models", path.join(bad, "models.yaml"), "--out", path.join(bad, "o1")],
  ],
  ["a file that is not a GGUF", ["run", "--model", path.join(bad, "not-a-model.gguf"), "--out", path.join(bad, "o2")]],
  ["a directory as --model", ["run", "--model", bad, "--out", path.join(bad, "o3")]],
  [
    "a VIA CSV without the columns",
    ["run", "--model", "tiny", "--via", path.join(bad, "via.csv"), "--out", path.join(bad, "o4")],
  ],
  ["--repeats 100000", ["run", "--model", "tiny", "--repeats", "100000", "--out", path.join(bad, "o5")]],
  ["--repeats 1e400", ["run", "--model", "tiny", "--repeats", "1e400", "--out", path.join(bad, "o6")]],
  ["--shard 3/2", ["run", "--model", "tiny", "--shard", "3/2", "--out", path.join(bad, "o7")]],
  [
    "--resume on a directory that does not exist",
    ["run", "--model", "tiny", "--out", path.join(bad, "missing"), "--resume"],
  ],
  ["--out: a non-empty directory that is not a run", ["run", "--model", "tiny", "--out", bad]],
  ["report on a directory that is not a run", ["report", bad]],
  ["unknown model name", ["run", "--model", "no-such-model", "--out", path.join(bad, "o8")]],
  ["--out that is a file", ["run", "--model", "tiny", "--out", path.join(bad, "notes.txt")]],
  [
    "--cache-dir that is a file",
    ["run", "--model", "tiny", "--cache-dir", path.join(bad, "notes.txt"), "--out", path.join(bad, "o9")],
  ],
  [
    "--resume with a flag that contradicts the run",
    ["run", "--out", path.join(work, "reference-via"), "--resume", "--seed", "99"],
  ],
  [
    "--resume with another dataset",
    ["run", "--out", path.join(work, "reference-via"), "--resume", "--via", path.join(bad, "via-other.csv")],
  ],
  [
    "disk full for --out (VALUELENS_FAULTS)",
    ["run", "--model", "tiny", "--limit", "2", "--repeats", "1", "--progress", "quiet", "--out", path.join(bad, "o10")],
    { VALUELENS_FAULTS: "ENOSPC:records.jsonl" },
  ],
  [
    "read-only --out (VALUELENS_FAULTS)",
    ["run", "--model", "tiny", "--limit", "2", "--repeats", "1", "--progress", "quiet", "--out", path.join(bad, "o11")],
    { VALUELENS_FAULTS: `EROFS:${path.join(bad, "o11")}:on=write+mkdir` },
  ],
  [
    "disk full for report (VALUELENS_FAULTS)",
    ["report", path.join(work, "reference-via"), "--quiet"],
    { VALUELENS_FAULTS: "ENOSPC:metrics.json" },
  ],
];
// Attacks on what a figure is computed from (issue 22): each attempt ends refused (one line,
// non-zero exit, nothing wrong kept), recovered (finished with the right records), or silently
// wrong (finished, and some record differs from the clean reference).
interface Attack {
  attack: string;
  attempts: number;
  refused: number;
  recovered: number;
  silentlyWrong: number;
}
const attacks: Attack[] = [];
const viaReference = reference.get("via")!.records;
const sameAsReference = (dir: string) =>
  recordLines(dir).every((r) => viaReference.get(r.id) === JSON.stringify(deterministicPart(r)));
{
  // The model file rewritten in place mid-run (as `cp other.gguf model.gguf`, without its truncation).
  const a: Attack = { attack: "model file rewritten mid-run", attempts: 0, refused: 0, recovered: 0, silentlyWrong: 0 };
  const original = await ensureTestModel("tiny", { root });
  const other = path.join(work, "other-weights.gguf");
  await writeTestModel({ shape: "tiny", type: "f16", seed: 2, out: other });
  for (let i = 0; i < 3; i++) {
    const dir = path.join(work, `swap-${i}`);
    mkdirSync(dir, { recursive: true });
    const model = path.join(dir, "model.gguf");
    copyFileSync(original, model);
    const models = path.join(dir, "models.yaml");
    writeFileSync(models, `models:\n  tiny:\n    backend: llama.cpp\n    source: ${model}\n    contextSize: 2048\n`);
    const out = path.join(dir, "run");
    const args = ["run", "--model", "tiny", "--models", models, ...SUITES.via!, "--out", out, "--progress", "quiet"];
    const child = spawn(process.execPath, [BIN, ...args, "--cache-dir", path.join(dir, "cache")], {
      cwd: root,
      env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: CACHE_ROOT },
      stdio: "ignore",
    });
    const after = 5 + Math.floor(random() * 40);
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (recordCount(out) < after) return;
        clearInterval(poll);
        rewriteInPlace(model, other);
      }, 3);
      child.on("exit", (c) => {
        clearInterval(poll);
        resolve(c);
      });
    });
    a.attempts++;
    copyFileSync(original, model); // restored, then resumed from the same cache
    const resumed = cli([
      ...args.slice(0, 1),
      "--out",
      out,
      "--resume",
      "--models",
      models,
      "--cache-dir",
      path.join(dir, "cache"),
      "--progress",
      "quiet",
    ]);
    const right = resumed.code === 0 && sameAsReference(out) && recordLines(out).length === viaReference.size;
    if (!right) a.silentlyWrong++;
    else if (code === 0)
      a.recovered++; // the run ended before the rewrite
    else a.refused++;
  }
  attacks.push(a);
}
{
  // A record edited: its score, one probability or the letter mass.
  const a: Attack = {
    attack: "a record edited (score, a probability, the mass)",
    attempts: 0,
    refused: 0,
    recovered: 0,
    silentlyWrong: 0,
  };
  const source = path.join(work, "reference-via");
  const lines = readFileSync(path.join(source, "records.jsonl"), "utf8").split("\n").filter(Boolean);
  for (const edit of ["score", "optionProbs", "mass"] as const) {
    const dir = path.join(work, `edited-${edit}`);
    cpSync(source, dir, { recursive: true });
    const r = JSON.parse(lines[3]!);
    if (edit === "score") r.score = r.score > 0.5 ? r.score - 0.5 : r.score + 0.5;
    if (edit === "optionProbs") r.optionProbs[Object.keys(r.optionProbs)[0]!] = -0.1;
    if (edit === "mass") r.letters.mass = 6.3;
    const edited = [...lines];
    edited[3] = JSON.stringify(r);
    writeFileSync(path.join(dir, "records.jsonl"), `${edited.join("\n")}\n`);
    const rep = cli(["report", dir, "--quiet"]);
    a.attempts++;
    if (rep.code !== 0 && rep.stderr.trim().split("\n").length === 1) a.refused++;
    else a.silentlyWrong++;
  }
  attacks.push(a);
}

const table: { input: string; exit: number | null; lines: number; stderr: string }[] = [];
for (const [input, args, env] of INPUTS) {
  const r = cli(args, env);
  const lines = r.stderr.trim().split("\n").filter(Boolean);
  table.push({ input, exit: r.code, lines: lines.length, stderr: lines[0] ?? "" });
}

process.stdout.write(
  `\nkills survived / records lost / records doubled / wrong records: ${totals.survived}/${totals.kills} / ${totals.lost} / ${totals.doubled} / ${totals.wrong}   (goal: ${totals.kills} / 0 / 0 / 0; ${missed} draw(s) fell after the run had ended and were drawn again)\n\n`,
);
process.stdout.write("| bad input | exit | stderr lines | the error |\n| --- | --- | --- | --- |\n");
for (const t of table)
  process.stdout.write(`| ${t.input} | ${t.exit} | ${t.lines} | ${t.stderr.replace(/\|/g, "\\|")} |\n`);
const ok = table.filter((t) => t.exit !== 0 && t.exit !== null && t.lines === 1).length;
process.stdout.write(
  "\n| attack | attempts | refused | recovered | silently wrong |\n| --- | --- | --- | --- | --- |\n",
);
for (const a of attacks)
  process.stdout.write(`| ${a.attack} | ${a.attempts} | ${a.refused} | ${a.recovered} | ${a.silentlyWrong} |\n`);
process.stdout.write(`\nbad inputs answered with one line and a non-zero exit: ${ok}/${table.length}\n`);
mkdirSync(path.join(root, "bench", "results"), { recursive: true });
writeFileSync(
  path.join(root, "bench", "results", "chaos.json"),
  JSON.stringify({ when: new Date().toISOString(), totals, missed, badInputs: table, attacks }, null, 2) + "\n",
);
