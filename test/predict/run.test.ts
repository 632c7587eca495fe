// The predict suite end to end: a VIA letters run on the tiny model gives the labels; a predict
// run on them (letters on a stand-in with a real vocabulary, where "True" and "False" are single
// tokens; the tiny model's 2,000-token vocabulary has neither) writes records, metrics.json and
// report.md; a resume of the finished run asks nothing; the same config and seed give the same
// records.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/records/manifest.js";
import { deterministicPart, readRecords } from "../../src/records/records.js";
import { PREDICT_MODES } from "../../src/suites/predict/conversation.js";
import { labelsFromRun } from "../../src/suites/predict/labels.js";
import { tinyLabelsRun } from "../helpers/labelsRun.js";
import { valuelens } from "../helpers/cli.js";

const hasGit = spawnSync("git", ["--version"]).status === 0;
if (!hasGit) console.warn("SKIPPED test/predict/run.test.ts letters run: the stand-in model needs git to be built");

const work = mkdtempSync(path.join(tmpdir(), "vl-predict-"));
const via = path.join(work, "via");
const cache = path.join(work, "cache");
const quiet = ["--progress", "quiet", "--cache-dir", cache];

function records(dir: string) {
  return readRecords(path.join(dir, "records.jsonl")).records;
}

beforeAll(async () => {
  const r = await tinyLabelsRun(via, quiet);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}, 600_000);

describe("labels from a VIA letters run", () => {
  it("labels each row of an action pair by its order-balanced probability: one True, one False", () => {
    const labels = labelsFromRun(via);
    expect(labels.method).toBe("letters");
    expect(labels.labels.size + 2 * labels.ties.length).toBeGreaterThan(40);
    const recs = records(via).filter((r) => r.task === "action");
    for (const r of recs) {
      const rows = (r as unknown as { viaRows: { positive: number; negative: number } }).viaRows;
      const a = labels.labels.get(rows.positive);
      const b = labels.labels.get(rows.negative);
      if (a === undefined) expect(labels.ties).toContain(rows.positive);
      else expect(b).toBe(!a);
    }
    expect(labels.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a directory that is not a run, and letters on a vocabulary without a True token", () => {
    const none = valuelens(["run", "--suite", "predict", "--labels", work, "--model", "tiny", ...quiet]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/is not a run directory/);
    const missing = valuelens(["run", "--suite", "predict", "--model", "tiny", ...quiet]);
    expect(missing.stderr).toMatch(/needs --labels DIR/);
    const tiny = valuelens([
      "run",
      "--labels",
      via,
      "--train",
      "2",
      "--test",
      "3",
      "--model",
      "tiny",
      "--out",
      path.join(work, "tiny"),
      ...quiet,
    ]);
    expect(tiny.code).not.toBe(0);
    expect(tiny.stderr).toMatch(/no single token for the answer letter "True"/);
  }, 600_000);
});

describe.skipIf(!hasGit)("valuelens run --suite predict (letters, stand-in llama3)", () => {
  const out = path.join(work, "predict");
  const args = ["run", "--suite", "predict", "--labels", via, "--train", "2", "--test", "3", "--seed", "5"];

  beforeAll(() => {
    const r = valuelens([...args, "--model", "standin:llama3", "--out", out, ...quiet]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("| Mode | n | F1 |");
  }, 600_000);

  it("asks every mode, repeat and test row, with the few-shot conversation as its prompt", () => {
    const manifest = readManifest(out)!;
    expect(manifest.status).toBe("complete");
    expect(manifest.config.protocol).toBe("predict-letters");
    expect(manifest.config.suiteOptions).toMatchObject({ train: 2, test: 3, modes: [...PREDICT_MODES] });
    const recs = records(out);
    // 4 modes x 2 repeats (both label orders) x 6 test rows (3 per label).
    expect(recs.length).toBe(48);
    expect(manifest.questions.total).toBe(48);
    for (const r of recs) {
      const x = r as unknown as { mode: string; row: number; label: boolean };
      expect(PREDICT_MODES).toContain(x.mode);
      expect(r.order).toEqual(["True", "False"]);
      expect(r.letters!.mass).toBeGreaterThan(0);
      expect(r.score).toBeCloseTo(r.optionProbs!.True!, 12);
    }
    // The same six test rows in every mode, balanced by label.
    const rowsOf = (mode: string) => [
      ...new Set(recs.filter((r) => (r as unknown as { mode: string }).mode === mode).map((r) => r.id.split("/")[2])),
    ];
    for (const mode of PREDICT_MODES) expect(rowsOf(mode)).toEqual(rowsOf("default"));
    const labels = recs.filter((r) => r.repeat === 0 && (r as unknown as { mode: string }).mode === "default");
    expect(labels.filter((r) => (r as unknown as { label: boolean }).label).length).toBe(3);
  });

  it("writes metrics.json byMode.<mode>.{f1, accuracy, precision, recall, n} and a report led by the modes table", () => {
    const metrics = JSON.parse(readFileSync(path.join(out, "metrics.json"), "utf8"));
    for (const mode of PREDICT_MODES) {
      const m = metrics.byMode[mode];
      for (const k of ["f1", "accuracy", "precision", "recall"]) expect(typeof m[k]).toBe("number");
      expect(m.n).toBe(6);
      expect(m.tp + m.fp + m.tn + m.fn).toBe(6);
      expect(m.intervals.f1.low).toBeTypeOf("number");
      expect(m.nProbability).toBe(6);
    }
    expect(Object.keys(metrics.differences).sort()).toEqual(["attribution", "attribution_explanation", "explanation"]);
    const report = readFileSync(path.join(out, "report.md"), "utf8");
    const firstTable = report.split("\n").find((l) => l.startsWith("|"));
    expect(firstTable).toContain("| Mode | n | F1 | Accuracy | Precision | Recall | Brier | AUC |");
    expect(report).toContain("## Improvement over default");
    expect(report).toMatch(/\*\*attribution\*\* against default \(6 paired rows\): F1 .* (includes|excludes) zero/);
  });

  it("a resume of the finished run asks nothing", () => {
    const r = valuelens(["run", "--out", out, "--resume", ...quiet]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/done: 0 answered \(0 from the cache, 0 model evaluations\)/);
  }, 600_000);

  it("the same config and seed give identical records", () => {
    const again = path.join(work, "predict-again");
    const r = valuelens([...args, "--model", "standin:llama3", "--out", again, ...quiet]);
    expect(r.code).toBe(0);
    expect(records(again).map(deterministicPart)).toEqual(records(out).map(deterministicPart));
    expect(readManifest(again)!.configDigest).toBe(readManifest(out)!.configDigest);
  }, 600_000);
});
