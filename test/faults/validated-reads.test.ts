// One validating loader for every reader of a run directory (issue 10): report, compare, merge
// and a resumed run count an identical duplicate record once (with a note), refuse a conflicting
// duplicate and a record the run's config does not ask, naming the id; a partial report says so
// in its first line.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { compareInput } from "../../src/compare/compare.js";
import { loadRun } from "../../src/compare/load.js";
import { compareViaRuns } from "../../src/suites/via/compare.js";
import { ViaRecordSchema } from "../../src/suites/via/record.js";
import { loadRunDirectory } from "../../src/runs/load.js";
import type { RunRecord } from "../../src/records/records.js";
import { UserError } from "../../src/util/errors.js";
import { valuelens } from "../helpers/cli.js";
import { thrown } from "../helpers/errors.js";
import { suiteCompareInput } from "../helpers/suiteRecords.js";
import { tinyModelPath } from "../helpers/models.js";
import { deterministicOf, oneLineError, recordsOf, SLICE } from "./helpers.js";
import { dropRecordsDigest } from "../helpers/scripted.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-validated-"));
const A = path.join(work, "A");
const cache = path.join(work, "cache");

function copyOfA(name: string): string {
  const dir = path.join(work, name);
  cpSync(A, dir, { recursive: true });
  return dir;
}

function appendRecords(dir: string, records: RunRecord[]): void {
  writeFileSync(
    path.join(dir, "records.jsonl"),
    readFileSync(path.join(dir, "records.jsonl"), "utf8") + records.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  dropRecordsDigest(dir);
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8");
const metrics = (dir: string) => JSON.parse(read(dir, "metrics.json")) as Record<string, unknown>;

describe("validated reads of a run directory (tiny model)", () => {
  beforeAll(async () => {
    await tinyModelPath();
    const r = valuelens(["run", ...SLICE, "--out", A, "--cache-dir", cache]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("report counts an identical duplicate once (same metrics as the clean run) and says so in report.md", () => {
    const dup = copyOfA("dup");
    // Every Nigerian action answer written a second time (another session's meta: not part of the answer).
    const again = recordsOf(A)
      .filter((r) => r.country === "Nigeria" && r.task === "action")
      .map((r) => ({ ...r, meta: { ...r.meta, cacheHit: !r.meta.cacheHit, ms: r.meta.ms + 7 } }));
    expect(again.length).toBeGreaterThan(0);
    appendRecords(dup, again);
    const r = valuelens(["report", dup, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(metrics(dup)).toEqual(metrics(A));
    expect(r.stderr).toBe(
      `note: records.jsonl holds ${again.length} identical duplicate records (first: ${again[0]!.id}); each question is counted once\n`,
    );
    expect(read(dup, "report.md")).toContain(
      `- records.jsonl holds ${again.length} identical duplicate records (first: ${again[0]!.id}); each question is counted once.`,
    );
    expect(read(dup, "report.md").split("\n")[0]).not.toContain("PARTIAL");

    // compare and merge read it the same way.
    const c = compareViaRuns(
      suiteCompareInput(ViaRecordSchema, compareInput([loadRun(A), loadRun(dup)], { bootstrap: 0 })),
    );
    expect(c.pairs[0]!.difference.overall.estimate).toBe(0);
    expect(c.runs[1]!.compared).toBe(recordsOf(A).length);
    expect(c.notes.join("\n")).toContain("identical duplicate records");
    const merged = path.join(work, "dup-merged");
    const m = valuelens(["merge", dup, "--out", merged, "--bootstrap", "0"]);
    expect(m.code, m.stderr).toBe(0);
    expect(deterministicOf(merged)).toEqual(deterministicOf(A));
    // A resumed run keeps one record per question and asks nothing.
    const resumed = valuelens(["run", ...SLICE, "--out", dup, "--cache-dir", cache, "--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("0 answered");
    expect(deterministicOf(dup)).toEqual(deterministicOf(A));
  });

  it("a conflicting duplicate (same id, another answer) is refused naming the id by report, compare, merge and run; nothing is written", () => {
    const bad = copyOfA("conflict");
    const target = recordsOf(A).find((r) => r.task === "action")!;
    appendRecords(bad, [{ ...target, optionProbs: { positive: 0.5, negative: 0.5 }, score: 0.5 }]);
    const before = ["metrics.json", "report.md", "manifest.json", "records.jsonl"].map((f) => read(bad, f));

    const needles = [
      `${path.join(bad, "records.jsonl")} holds two different records for ${target.id}`,
      "delete the wrong line",
    ];
    oneLineError(valuelens(["report", bad]), ...needles);
    oneLineError(valuelens(["compare", A, bad]), ...needles);
    oneLineError(valuelens(["merge", bad, "--out", path.join(work, "conflict-merged")]), ...needles);
    oneLineError(valuelens(["run", ...SLICE, "--out", bad, "--cache-dir", cache, "--resume"]), ...needles);
    expect(["metrics.json", "report.md", "manifest.json", "records.jsonl"].map((f) => read(bad, f))).toEqual(before);
    const err = thrown(() => loadRunDirectory(bad));
    expect(err).toBeInstanceOf(UserError);
  });

  it("a record the run's config does not ask (another run's) is refused naming the id", () => {
    const foreign = copyOfA("foreign");
    const source = recordsOf(A).find((r) => r.country === "Nigeria")!;
    const stranger = { ...source, id: source.id.replace("/Nigeria/", "/Egypt/"), country: "Egypt" };
    expect(stranger.id).not.toBe(source.id);
    appendRecords(foreign, [stranger]);
    const before = read(foreign, "metrics.json");
    const needles = [`holds record ${stranger.id}`, "does not ask"];
    oneLineError(valuelens(["report", foreign]), ...needles);
    oneLineError(valuelens(["compare", A, foreign]), ...needles);
    oneLineError(valuelens(["merge", foreign, "--out", path.join(work, "foreign-merged")]), ...needles);
    oneLineError(valuelens(["run", ...SLICE, "--out", foreign, "--cache-dir", cache, "--resume"]), ...needles);
    expect(read(foreign, "metrics.json")).toBe(before);
  });

  it("where the run's dataset is not on this machine the records cannot be checked, and report.md says so", () => {
    const moved = copyOfA("moved");
    const m = JSON.parse(read(moved, "manifest.json"));
    m.config.via = path.join(work, "elsewhere", "via.csv");
    writeFileSync(path.join(moved, "manifest.json"), JSON.stringify(m));
    const r = valuelens(["report", moved, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(read(moved, "report.md")).toContain(
      `The records were not checked against the run's question list: its dataset ${m.config.via} is not on this machine.`,
    );
    expect(metrics(moved)).toEqual(metrics(A));
  });

  it("a partial run's report says so in its first line; a complete one's does not", () => {
    const partial = copyOfA("partial");
    const all = recordsOf(A);
    const kept = all.slice(0, Math.floor(all.length / 2));
    writeFileSync(path.join(partial, "records.jsonl"), kept.map((x) => JSON.stringify(x) + "\n").join(""));
    dropRecordsDigest(partial);
    const m = JSON.parse(read(partial, "manifest.json"));
    writeFileSync(
      path.join(partial, "manifest.json"),
      JSON.stringify({ ...m, status: "interrupted", finishedAt: null }),
    );
    const r = valuelens(["report", partial]);
    expect(r.code, r.stderr).toBe(0);
    const first = r.stdout.split("\n")[0]!;
    expect(first).toMatch(/^# valuelens report: /);
    expect(first).toContain(`(PARTIAL: ${kept.length} of ${all.length} questions recorded; the run was interrupted)`);
    expect(read(partial, "report.md").split("\n")[0]).toBe(first);

    const complete = valuelens(["report", A]);
    expect(complete.code).toBe(0);
    expect(complete.stdout.split("\n")[0]).not.toContain("PARTIAL");
  });
});
