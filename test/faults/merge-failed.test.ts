// Failed questions across `valuelens merge` (issue 10): a question that failed in one directory
// and was answered in another is no conflict (the answer is kept); one that failed everywhere
// stays failed in the merged run, counted in its manifest and left out of its metrics, and the
// unsharded `--resume --retry-failed` asks exactly it again.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/records/manifest.js";
import type { RunRecord } from "../../src/records/records.js";
import { valuelens } from "../helpers/cli.js";
import { tinyModelPath } from "../helpers/models.js";
import { deterministicOf, recordsOf } from "./helpers.js";
import { dropRecordsDigest } from "../helpers/scripted.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-merge-failed-"));
const cache = path.join(work, "cache");
const ARGS = [
  "--model",
  "tiny",
  "--countries",
  "Nigeria",
  "--repeats",
  "2",
  "--seed",
  "5",
  "--progress",
  "quiet",
  "--bootstrap",
  "20",
  "--cache-dir",
  cache,
];

/** Turn record `id` of `dir` into what a backend that rejected it leaves: no answer, a reason. */
function failRecord(dir: string, id: string): void {
  const file = path.join(dir, "records.jsonl");
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  const edited = lines.map((line) => {
    const r = JSON.parse(line) as RunRecord & Record<string, unknown>;
    if (r.id !== id) return line;
    const { letters: _l, optionProbs: _o, ...rest } = r;
    return JSON.stringify({
      ...rest,
      score: null,
      failed: { reason: "HTTP 500: failed to parse the output", status: 500 },
    });
  });
  writeFileSync(file, edited.join("\n") + "\n");
  dropRecordsDigest(dir);
}

let whole: string;
let shard1: string;
let shard2: string;
let failedId: string;

beforeAll(async () => {
  await tinyModelPath();
  whole = path.join(work, "whole");
  shard1 = path.join(work, "s1");
  shard2 = path.join(work, "s2");
  for (const [dir, extra] of [
    [whole, []],
    [shard1, ["--shard", "1/2"]],
    [shard2, ["--shard", "2/2"]],
  ] as const) {
    const r = valuelens(["run", ...ARGS, ...extra, "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
  }
  failedId = recordsOf(shard1).find((r) => r.task === "action")!.id;
  failRecord(shard1, failedId);
}, 600_000);

describe("merge and failed questions", () => {
  it("a question failed in one directory and answered in another is merged with its answer, and the merge says so", () => {
    const out = path.join(work, "merged-with-whole");
    const r = valuelens(["merge", shard1, whole, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("failed in one directory and was answered in another");
    const merged = recordsOf(out);
    expect(merged.find((x) => x.id === failedId)!.failed).toBeUndefined();
    expect(deterministicOf(out)).toEqual(deterministicOf(whole));
    expect(readManifest(out)!.questions.failed).toBeUndefined();
    expect(readManifest(out)!.status).toBe("complete");
  });

  it("a question failed in its only shard stays failed: counted in the merged manifest and report, out of the metrics; --retry-failed asks only it", () => {
    const out = path.join(work, "merged-shards");
    const r = valuelens(["merge", shard1, shard2, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const m = readManifest(out)!;
    expect(m.status).toBe("complete");
    expect(m.questions.failed).toBe(1);
    expect(m.notes.join("\n")).toContain("1 question failed");
    expect(readFileSync(path.join(out, "report.md"), "utf8")).toContain("1 x HTTP 500: failed to parse the output");

    const retried = valuelens([
      "run",
      "--out",
      out,
      "--resume",
      "--retry-failed",
      "--cache-dir",
      cache,
      "--progress",
      "quiet",
    ]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/done: 1 answered/);
    expect(readManifest(out)!.questions.failed).toBeUndefined();
    expect(deterministicOf(out)).toEqual(deterministicOf(whole));
  });
});
