// A resume takes the run directory's own config (issue 10): `valuelens run --out DIR --resume`
// needs no other flag; flags that contradict the run are refused naming them; the same dataset
// at another path is the same run; SIGHUP stops a run like Ctrl-C; the printed resume command
// is shell-safe and, pasted into a shell, continues the run.
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SAMPLE_VIA_PATH } from "../../src/suites/via/dataset.js";
import { readManifest } from "../../src/records/manifest.js";
import { resumeCommand } from "../../src/cli/run.js";
import { VALUELENS_BIN, valuelens, valuelensSpawn } from "../helpers/cli.js";
import { tinyModelPath } from "../helpers/models.js";
import {
  deterministicOf,
  finished,
  killLeftovers,
  oneLineError,
  recordsOf,
  SLICE,
  tracked,
  whenLines,
} from "./helpers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-resume-config-"));
const cache = path.join(work, "cache");

/** Cut records.jsonl to its first `keep` lines: what a crash leaves (the manifest is not told). */
function loseRecords(dir: string, keep: number): void {
  const file = path.join(dir, "records.jsonl");
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  writeFileSync(file, lines.slice(0, keep).join("\n") + "\n");
}

let clean: ReturnType<typeof deterministicOf>;

beforeAll(async () => {
  await tinyModelPath();
  const r = valuelens(["run", ...SLICE, "--out", path.join(work, "clean"), "--cache-dir", cache]);
  expect(r.code, r.stderr).toBe(0);
  clean = deterministicOf(path.join(work, "clean"));
}, 600_000);

afterEach(killLeftovers);

describe("run --out DIR --resume", () => {
  it("with no other flag continues the directory's own run (model, options, dataset) to the clean run's records", () => {
    const out = path.join(work, "bare");
    expect(valuelens(["run", ...SLICE, "--out", out, "--cache-dir", cache]).code).toBe(0);
    loseRecords(out, 30);
    const r = valuelens(["run", "--out", out, "--resume", "--cache-dir", cache, "--progress", "quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done: \d+ answered/);
    expect(deterministicOf(out)).toEqual(clean);
    expect(readManifest(out)!.status).toBe("complete");
    expect(readManifest(out)!.sessions).toHaveLength(2);
  });

  it("flags that agree with the run are accepted; those that contradict it are refused naming each, and nothing is written", () => {
    const out = path.join(work, "contradict");
    expect(valuelens(["run", ...SLICE, "--out", out, "--cache-dir", cache]).code).toBe(0);
    loseRecords(out, 20);
    const before = readFileSync(path.join(out, "records.jsonl"), "utf8");
    const manifestBefore = readFileSync(path.join(out, "manifest.json"), "utf8");

    const seed = valuelens(["run", "--out", out, "--resume", "--seed", "12", "--cache-dir", cache]);
    oneLineError(seed, "--seed 12 (the run has 11)", "drop that flag", "--resume");
    const two = valuelens([
      "run",
      "--out",
      out,
      "--resume",
      "--repeats",
      "2",
      "--countries",
      "Nigeria",
      "--cache-dir",
      cache,
    ]);
    oneLineError(
      two,
      "--repeats 2 (the run has 3)",
      "--countries Nigeria (the run has Nigeria,Germany)",
      "drop those flags",
    );
    const model = valuelens(["run", "--out", out, "--resume", "--model", "bench", "--cache-dir", cache]);
    oneLineError(model, "--model bench (the run has tiny)");
    const suite = valuelens(["run", "--out", out, "--resume", "--suite", "dilemmas", "--cache-dir", cache]);
    oneLineError(suite, "--suite dilemmas (the run has via)");
    expect(readFileSync(path.join(out, "records.jsonl"), "utf8")).toBe(before);
    expect(readFileSync(path.join(out, "manifest.json"), "utf8")).toBe(manifestBefore);

    // The full original command line (what earlier versions printed) still resumes it.
    const same = valuelens([
      "run",
      ...SLICE,
      "--out",
      out,
      "--resume",
      "--cache-dir",
      cache,
      "--bootstrap",
      "20",
      "--min-letter-mass",
      "0.1",
    ]);
    expect(same.code, same.stderr).toBe(0);
    expect(deterministicOf(out)).toEqual(clean);
    expect(readManifest(out)!.config.minLetterMass).toBe(0.1);
  });

  it("the same dataset at another path (same sha256) is the same run; another file is refused; a dataset gone is a one-line error", () => {
    const first = path.join(work, "via-a.csv");
    const moved = path.join(work, "via-b.csv");
    copyFileSync(SAMPLE_VIA_PATH, first);
    const out = path.join(work, "moved-dataset");
    expect(valuelens(["run", ...SLICE, "--via", first, "--out", out, "--cache-dir", cache]).code).toBe(0);
    loseRecords(out, 25);
    renameSync(first, moved);

    const gone = valuelens(["run", "--out", out, "--resume", "--cache-dir", cache]);
    oneLineError(gone, first, "is not on this machine", "--via PATH");

    const other = path.join(work, "via-other.csv");
    writeFileSync(other, readFileSync(moved, "utf8").replace("Nigeria", "Nigeria ").replace(/\n$/, "\n"));
    const changed = valuelens(["run", "--out", out, "--resume", "--via", other, "--cache-dir", cache]);
    oneLineError(changed, `--via ${other} is not the dataset of the run`, "sha256");

    const r = valuelens(["run", "--out", out, "--resume", "--via", moved, "--cache-dir", cache, "--progress", "quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(deterministicOf(out)).toEqual(clean);
    const m = readManifest(out)!;
    expect(m.config.via).toBe(first); // the run's identity (its config digest) is unchanged
    expect(m.dataset.path).toBe(moved); // where it was read this time
    // From now on the copy is found without --via.
    loseRecords(out, 10);
    const again = valuelens(["run", "--out", out, "--resume", "--cache-dir", cache, "--progress", "quiet"]);
    expect(again.code, again.stderr).toBe(0);
    expect(deterministicOf(out)).toEqual(clean);
  });

  it("a dilemma run resumes from its directory alone", () => {
    const args = [
      "--model",
      "tiny",
      "--suite",
      "dilemmas",
      "--persona",
      "none,moderate",
      "--limit",
      "2",
      "--repeats",
      "2",
      "--progress",
      "quiet",
      "--bootstrap",
      "20",
    ];
    const whole = path.join(work, "dilemmas-clean");
    expect(valuelens(["run", ...args, "--out", whole, "--cache-dir", cache]).code).toBe(0);
    const out = path.join(work, "dilemmas");
    expect(valuelens(["run", ...args, "--out", out, "--cache-dir", cache]).code).toBe(0);
    loseRecords(out, 5);
    const r = valuelens(["run", "--out", out, "--resume", "--cache-dir", cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(deterministicOf(out)).toEqual(deterministicOf(whole));
    const persona = valuelens(["run", "--out", out, "--resume", "--persona", "none", "--cache-dir", cache]);
    oneLineError(persona, "--persona none (the run has none,moderate)");
  });

  it("a directory of imported outputs is not a run to resume", () => {
    const out = path.join(work, "imported");
    cpSync(path.join(work, "clean"), out, { recursive: true });
    const file = path.join(out, "manifest.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), imported: true }, null, 2) + "\n");
    oneLineError(
      valuelens(["run", "--out", out, "--resume", "--cache-dir", cache]),
      "imported by `valuelens import`",
      "not a run to continue",
    );
  });

  it("without a run to take the config from, --model is still required; a missing directory is named", () => {
    oneLineError(
      valuelens(["run", "--out", path.join(work, "nothing-here"), "--resume"]),
      "does not exist, so there is no run to resume",
    );
    oneLineError(valuelens(["run", "--progress", "quiet"]), "--model");
  });
});

describe("SIGHUP and the printed resume command", () => {
  it("SIGHUP (terminal closed) stops like Ctrl-C: exit 129, status interrupted, and the printed command, run by a shell, completes the run", async () => {
    // A directory name a shell would split or expand unquoted.
    const out = path.join(work, "it's a $HOME run");
    const race = SLICE.map((a, i) => (SLICE[i - 1] === "--repeats" ? "24" : a));
    const child = tracked(valuelensSpawn(["run", ...race, "--out", out, "--cache-dir", path.join(work, "cache hup")]));
    const done = finished(child);
    await whenLines(path.join(out, "records.jsonl"), 5, child);
    child.kill("SIGHUP");
    const r = await done;
    expect(r.code, r.stderr).toBe(129);
    expect(r.stderr).toContain("interrupting (SIGHUP)");
    expect(readManifest(out)!.status).toBe("interrupted");
    const line = r.stdout.split("\n").find((l) => l.startsWith("resume with: "));
    expect(line, r.stdout).toBeDefined();
    const command = line!.slice("resume with: ".length);
    expect(command).toBe(
      `valuelens run --out '${out.replace(/'/g, `'\\''`)}' --resume --cache-dir '${path.join(work, "cache hup")}'`,
    );
    // The shell hands the words back exactly: run the printed command with `valuelens` defined as a function.
    const sh = spawnSync(
      "sh",
      ["-c", `valuelens() { "${process.execPath}" "${VALUELENS_BIN}" "$@"; }; ${command} --progress quiet`],
      {
        encoding: "utf8",
        env: { ...process.env, CI: "1", VALUELENS_VIA: "sample" },
      },
    );
    expect(sh.status, sh.stderr).toBe(0);
    expect(readManifest(out)!.status).toBe("complete");
    expect(recordsOf(out)).toHaveLength(readManifest(out)!.questions.total);
    expect(existsSync(path.join(out, "records.jsonl"))).toBe(true);
  });

  it("resumeCommand quotes what a shell would split or expand, and keeps where the model and cache are", () => {
    expect(
      resumeCommand("runs/a b", [
        "node",
        "valuelens",
        "run",
        "--model",
        "x y",
        "--models",
        "my models.yaml",
        "--seed",
        "3",
        "--out",
        "runs/a b",
      ]),
    ).toBe("valuelens run --out 'runs/a b' --resume --models 'my models.yaml'");
    expect(resumeCommand("runs/plain", ["node", "valuelens", "run", "--cache-dir=/c", "--model", "tiny"])).toBe(
      "valuelens run --out runs/plain --resume --cache-dir=/c",
    );
  });
});
