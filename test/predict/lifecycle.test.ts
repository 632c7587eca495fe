// The predict suite has what the other two have: generated answers (the paper protocol) on the
// tiny model, with a seeded temperature; an interrupted run resumes to the records of an
// uninterrupted one; a resume refuses predict flags that contradict the run; shards merge into
// the unsharded run; compare reads two predict runs; labels come from an imported released
// Task-2 file; and the same predict run through a real llama-server gives the embedded engine's
// letter probabilities.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureStandinModel } from "../../src/gguf/index.js";
import { readManifest } from "../../src/records/manifest.js";
import { deterministicPart, readRecords, type RunRecord } from "../../src/records/records.js";
import { labelsFromRun } from "../../src/suites/predict/labels.js";
import { tinyLabelsRun } from "../helpers/labelsRun.js";
import { valuelens } from "../helpers/cli.js";
import { llamaServerBinary, NO_LLAMA_SERVER, type RunningServer, startLlamaServer } from "../helpers/llamaServer.js";
import { PROJECT_ROOT } from "../helpers/models.js";
import { FIDELITY, haveShared, SHARED } from "../helpers/shared.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-predict-life-"));
const via = path.join(work, "via");
const cache = path.join(work, "cache");
const quiet = ["--progress", "quiet", "--cache-dir", cache];

function records(dir: string): RunRecord[] {
  return readRecords(path.join(dir, "records.jsonl")).records;
}
function deterministic(dir: string) {
  return records(dir).map(deterministicPart);
}
function byMode(dir: string): unknown {
  return JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8")).byMode;
}
function ok(args: string[]) {
  const r = valuelens(args);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r;
}

beforeAll(async () => {
  const r = await tinyLabelsRun(via, quiet);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}, 600_000);

describe("the predict suite's paper protocol on the tiny model", () => {
  const base = [
    "run",
    "--suite",
    "predict",
    "--labels",
    via,
    "--model",
    "tiny",
    "--protocol",
    "paper",
    "--modes",
    "default,explanation",
    "--train",
    "2",
    "--test",
    "2",
    "--seed",
    "5",
  ];
  const out = path.join(work, "paper");
  beforeAll(() => {
    ok([...base, "--out", out, ...quiet]);
  }, 600_000);

  it("keeps every generated answer and its parse; unparseable answers are data with a reason", () => {
    const recs = records(out) as (RunRecord & { mode: string; row: number; label: boolean })[];
    // 2 modes x 4 test rows (2 per label), one repeat (greedy).
    expect(recs).toHaveLength(8);
    for (const r of recs) {
      expect(r.protocol).toBe("predict-paper");
      expect(typeof r.generation!.raw).toBe("string");
      expect(r.generation!.generatedTokens).toBeGreaterThan(0);
      if (r.parsed!.ok) expect(["True", "False"]).toContain(r.parsed!.chosen);
      else expect(r.parsed!.reason).toMatch(/space/);
      expect(r.score).toBe(r.parsed!.ok ? (r.parsed!.chosen === "True" ? 1 : 0) : null);
    }
    const m = JSON.parse(readFileSync(path.join(out, "metrics.json"), "utf8"));
    for (const mode of ["default", "explanation"]) {
      const x = m.byMode[mode];
      const unparsed = recs.filter((r) => r.mode === mode && !r.parsed!.ok).length;
      expect(x.unparsed).toBe(unparsed);
      expect(x.tp + x.fp + x.tn + x.fn + x.unparsed).toBe(4);
    }
  });

  it("valuelens prompts --labels shows the conversations the run sent, one line per test row", () => {
    const r = ok([
      "prompts",
      "--labels",
      via,
      "--task",
      "action",
      "--protocol",
      "paper",
      "--mode",
      "explanation",
      "--train",
      "2",
      "--test",
      "2",
      "--seed",
      "5",
    ]);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; system: string; history: { role: string }[]; prompt: string });
    const ids = records(out)
      .filter((x) => (x as unknown as { mode: string }).mode === "explanation")
      .map((x) => x.id);
    expect(lines.map((l) => l.id)).toEqual(ids);
    for (const l of lines) {
      expect(l.history).toHaveLength(8);
      expect(l.prompt).toMatch(/^Predict the Action: '.*'$/s);
      expect(l.system).toContain("Reason for the assessment");
    }
  });

  it("samples at --temperature with the run's seed: the same seed gives the same answers", () => {
    const a = path.join(work, "paper-t1");
    const b = path.join(work, "paper-t2");
    ok([...base, "--temperature", "0.2", "--out", a, ...quiet]);
    ok([...base, "--temperature", "0.2", "--out", b, "--progress", "quiet", "--cache-dir", path.join(work, "cache-t")]);
    expect(readManifest(a)!.config.suiteOptions).toMatchObject({ temperature: 0.2 });
    expect(deterministic(b)).toEqual(deterministic(a));
    expect(readManifest(a)!.configDigest).not.toBe(readManifest(out)!.configDigest);
    // Letters are read from one forward pass: a temperature there is refused.
    const r = valuelens(["run", "--suite", "predict", "--labels", via, "--model", "tiny", "--temperature", "0.2"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--temperature applies to generated answers (--protocol paper)");
  }, 600_000);

  it("an interrupted run resumes to the uninterrupted run's records", () => {
    const dir = path.join(work, "paper-interrupted");
    cpSync(out, dir, { recursive: true });
    const file = path.join(dir, "records.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, lines.slice(0, 3).join("\n") + "\n" + lines[3]!.slice(0, 50));
    const manifestFile = path.join(dir, "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    manifest.status = "interrupted";
    manifest.finishedAt = null;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
    rmSync(path.join(dir, "metrics.json"));
    const r = valuelens([
      "run",
      "--out",
      dir,
      "--resume",
      "--progress",
      "quiet",
      "--cache-dir",
      path.join(work, "cache-resume"),
    ]);
    expect(r.stderr).toBe("records.jsonl: dropped a torn last line left by an interrupted run; it is asked again\n");
    expect(r.code).toBe(0);
    expect(readManifest(dir)!.status).toBe("complete");
    expect(deterministic(dir)).toEqual(deterministic(out));
    expect(byMode(dir)).toEqual(byMode(out));
  }, 600_000);

  it("a resume refuses predict flags that contradict the run, and accepts those that agree", () => {
    for (const [flags, says] of [
      [["--test", "3"], "--test 3 (the run has 2)"],
      [["--modes", "default"], "--modes default (the run has default,explanation)"],
      [["--train", "1"], "--train 1 (the run has 2)"],
    ] as const) {
      const r = valuelens(["run", "--out", out, "--resume", ...flags, ...quiet]);
      expect(r.code, flags.join(" ")).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(says);
    }
    const r = valuelens(["run", "--out", out, "--resume", "--test", "2", "--labels", via, ...quiet]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/done: 0 answered/);
  }, 600_000);

  it("two shards merge into the unsharded run; compare reads two predict runs", () => {
    const s1 = path.join(work, "shard1");
    const s2 = path.join(work, "shard2");
    ok([...base, "--shard", "1/2", "--out", s1, ...quiet]);
    ok([...base, "--shard", "2/2", "--out", s2, ...quiet]);
    expect(records(s1).length + records(s2).length).toBe(8);
    expect(records(s1).length).toBeGreaterThan(0);
    const merged = path.join(work, "merged");
    ok(["merge", s2, s1, "--out", merged]);
    expect(deterministic(merged)).toEqual(deterministic(out));
    expect(byMode(merged)).toEqual(byMode(out));
    const c = valuelens(["compare", out, merged, "--bootstrap", "20"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    expect(c.stdout).toContain("default");
    // Runs that differ only in --temperature ask the same questions: compared, with a note.
    const t = valuelens([
      "compare",
      out,
      path.join(work, "paper-t1"),
      "--bootstrap",
      "0",
      "--out",
      path.join(work, "cmp-t"),
    ]);
    expect(t.stderr).toBe("");
    expect(t.code).toBe(0);
    expect(readFileSync(path.join(work, "cmp-t", "compare.md"), "utf8")).toContain("suiteOptions.temperature differ");
  }, 600_000);
});

const T2 = path.join(SHARED.releasedOutputs, "gpt-4o-mini_t2_partial.csv");
const haveT2 = haveShared("predict/lifecycle.test", "labels from an imported released Task-2 file", T2, SHARED.viaCsv);

describe.skipIf(!haveT2)("labels from an imported released Task-2 file", FIDELITY, () => {
  const imported = path.join(work, "gpt-4o-mini-t2");
  beforeAll(() => {
    ok(["import", "official", "--t2", T2, "--via", SHARED.viaCsv, "--model-name", "gpt-4o-mini", "--out", imported]);
  }, 600_000);

  it("labels each row of a released pair by the parsed choice: one True, one False", () => {
    const labels = labelsFromRun(imported);
    expect(labels.method).toBe("paper");
    const recs = records(imported).filter((r) => r.task === "action") as (RunRecord & {
      viaRows?: { positive: number; negative: number };
    })[];
    let pairs = 0;
    for (const r of recs) {
      if (!r.viaRows || !r.parsed?.ok) continue;
      pairs++;
      const chosePositive = r.parsed.chosen === "positive";
      expect(labels.labels.get(r.viaRows.positive)).toBe(chosePositive);
      expect(labels.labels.get(r.viaRows.negative)).toBe(!chosePositive);
    }
    expect(pairs).toBeGreaterThan(5);
    expect(labels.labels.size).toBe(2 * pairs);
  });

  it("a predict run on those labels asks rows from the released file's pairs", () => {
    const out = path.join(work, "predict-released-labels");
    ok([
      "run",
      "--suite",
      "predict",
      "--labels",
      imported,
      "--via",
      SHARED.viaCsv,
      "--model",
      "tiny",
      "--protocol",
      "paper",
      "--modes",
      "default",
      "--train",
      "2",
      "--test",
      "3",
      "--out",
      out,
      ...quiet,
    ]);
    const labels = labelsFromRun(imported).labels;
    const recs = records(out) as (RunRecord & { row: number; label: boolean })[];
    expect(recs).toHaveLength(6);
    for (const r of recs) {
      expect(r.row).toBeGreaterThanOrEqual(7000); // the test pool of the full VIA
      expect(labels.get(r.row)).toBe(r.label);
    }
  }, 600_000);
});

const hasGit = spawnSync("git", ["--version"]).status === 0;
const haveServer = llamaServerBinary() !== undefined;
if (!haveServer) console.warn(`${NO_LLAMA_SERVER} [predict/lifecycle.test: the predict suite on llama-server]`);

describe.skipIf(!haveServer || !hasGit)(
  "the predict suite through a real llama-server (stand-in llama3)",
  FIDELITY,
  () => {
    let server: RunningServer | undefined;
    afterAll(async () => {
      await server?.stop();
    });

    it("letters: the embedded engine and llama-server give the same P(True) for every question", async () => {
      const model = await ensureStandinModel("llama3", { root: PROJECT_ROOT });
      server = await startLlamaServer(model, { ctx: 4096 });
      const slice = [
        "--suite",
        "predict",
        "--labels",
        via,
        "--modes",
        "default,attribution",
        "--train",
        "2",
        "--test",
        "2",
      ];
      const a = path.join(work, "server-embedded");
      const b = path.join(work, "server-remote");
      ok(["run", "--model", "standin:llama3", ...slice, "--out", a, ...quiet]);
      ok(["run", "--model", `llama-server:${server.url}`, ...slice, "--out", b, ...quiet]);
      const ra = new Map(records(a).map((r) => [r.id, r]));
      const rb = new Map(records(b).map((r) => [r.id, r]));
      expect([...rb.keys()].sort()).toEqual([...ra.keys()].sort());
      // 2 modes x 2 repeats x 4 test rows.
      expect(ra.size).toBe(16);
      for (const [id, x] of ra) {
        const y = rb.get(id)!;
        expect(y.letters!.mass, id).toBeGreaterThan(0);
        expect(Math.abs(y.letters!.mass - x.letters!.mass) / x.letters!.mass, `${id}: mass`).toBeLessThan(1e-4);
        expect(Math.abs(y.optionProbs!.True! - x.optionProbs!.True!), `${id}: P(True)`).toBeLessThan(1e-4);
      }
    }, 900_000);
  },
);
