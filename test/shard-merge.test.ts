// Shards (`valuelens run --shard I/N`) and `valuelens merge`: shards are disjoint and cover
// every question; merging the shards of a run gives exactly the unsharded run's records.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadVia, SAMPLE_VIA_PATH } from "../src/suites/via/dataset.js";
import { buildRunQuestions, configDigest } from "../src/runner/run.js";
import { baseOfId, inShard, parseShard, shardOfId } from "../src/questions/shard.js";
import { readManifest, type RunConfig } from "../src/records/manifest.js";
import { deterministicPart, readRecords } from "../src/records/records.js";
import { valuelens, type CliResult } from "./helpers/cli.js";
import { tinyModelPath } from "./helpers/models.js";
import { testConfig } from "./helpers/config.js";

const SLICE = [
  "--model",
  "tiny",
  "--via",
  "sample",
  "--countries",
  "Nigeria,Germany",
  "--repeats",
  "2",
  "--progress",
  "quiet",
  "--bootstrap",
  "50",
];

function records(dir: string) {
  return readRecords(path.join(dir, "records.jsonl")).records;
}
function deterministic(dir: string) {
  return records(dir).map(deterministicPart);
}
function oneLine(r: CliResult): string {
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, `stderr was:\n${r.stderr}`).toHaveLength(1);
  expect(lines[0]).not.toContain("internal error");
  return lines[0]!;
}

const baseConfig: RunConfig = testConfig();

describe("shards", () => {
  it("are disjoint and cover every id, and all repeats of a question share a shard", () => {
    const ids: string[] = [];
    for (const task of ["stated", "action"]) {
      for (let c = 0; c < 12; c++) {
        for (let v = 0; v < 56; v++)
          for (let r = 0; r < 5; r++) ids.push(`letters/${task}/country${c}/Health/value${v}/r${r}`);
        for (let variant = 0; variant < 8; variant++)
          ids.push(`paper/${task}/country${c}/Politics/variant${variant}/r0`);
      }
    }
    for (const count of [1, 2, 3, 4, 7, 16]) {
      const sizes = new Array<number>(count).fill(0);
      for (const id of ids) {
        const owners = Array.from({ length: count }, (_, i) => i + 1).filter((index) => inShard(id, { index, count }));
        expect(owners).toHaveLength(1); // exactly one shard: disjoint and covering
        expect(owners[0]).toBe(shardOfId(id, count));
        sizes[owners[0]! - 1]! += 1;
        expect(shardOfId(baseOfId(id) + "/r0", count)).toBe(owners[0]); // repeats travel together
      }
      // Roughly balanced (hash): no shard empty or more than twice its share.
      for (const s of sizes) {
        expect(s).toBeGreaterThan(0);
        expect(s).toBeLessThan((2 * ids.length) / count);
      }
    }
    expect(baseOfId("letters/action/Nigeria/Health and Health Care/Equality/r12")).toBe(
      "letters/action/Nigeria/Health and Health Care/Equality",
    );
    expect(baseOfId("paper/stated/Nigeria/Politics/variant3/r0")).toBe("paper/stated/Nigeria/Politics/variant3");
  });

  it("split the sample's real question list without overlap", async () => {
    const questions = buildRunQuestions(baseConfig, await loadVia(SAMPLE_VIA_PATH));
    const parts = [1, 2, 3].map((index) =>
      questions.filter((q) => inShard(q.id, { index, count: 3 })).map((q) => q.id),
    );
    expect(parts.flat().sort()).toEqual(questions.map((q) => q.id).sort());
    for (const p of parts) expect(p.length).toBeGreaterThan(0);
  });

  it("parse I/N and refuse anything else", () => {
    expect(parseShard("2/5")).toEqual({ index: 2, count: 5 });
    expect(parseShard("1/1")).toEqual({ index: 1, count: 1 });
    for (const bad of ["3/2", "0/2", "1/0", "2", "a/b", "-1/2", "1/2/3"])
      expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it("leave the config digest of an unsharded run as it was", () => {
    // The digest of this config before the shard field existed (existing run directories keep resuming).
    const before = "8553c2a01b24ca2528c104bbd1831b3c8dec906a700824fde4aea0a626393c72";
    expect(configDigest(baseConfig)).toBe(before);
    expect(configDigest({ ...baseConfig, shard: null })).toBe(before);
    expect(configDigest({ ...baseConfig, shard: { index: 1, count: 2 } })).not.toBe(before);
    expect(configDigest({ ...baseConfig, shard: { index: 2, count: 2 } })).not.toBe(
      configDigest({ ...baseConfig, shard: { index: 1, count: 2 } }),
    );
  });
});

describe("valuelens run --shard and valuelens merge (tiny model, sample data)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-shard-"));
  const whole = path.join(work, "whole");
  const shardDir = (i: number) => path.join(work, `shard-${i}of3`);
  const shardCache = path.join(work, "cache-shards"); // the shards compute for real, apart from the whole run

  beforeAll(async () => {
    await tinyModelPath();
    const r = valuelens(["run", ...SLICE, "--out", whole, "--cache-dir", path.join(work, "cache-whole")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const i of [1, 2, 3]) {
      const s = valuelens(["run", ...SLICE, "--shard", `${i}/3`, "--out", shardDir(i), "--cache-dir", shardCache]);
      expect(s.stderr).toBe("");
      expect(s.code).toBe(0);
    }
  });

  it("each shard records its part of the run, and the parts are disjoint and complete", () => {
    const all = records(whole).map((r) => r.id);
    const parts = [1, 2, 3].map((i) => records(shardDir(i)).map((r) => r.id));
    for (const [i, part] of parts.entries()) {
      const m = readManifest(shardDir(i + 1))!;
      expect(m.status).toBe("complete");
      expect(m.config.shard).toEqual({ index: i + 1, count: 3 });
      expect(m.questions.total).toBe(part.length);
      expect(part.length).toBeGreaterThan(0);
      expect(part.length).toBeLessThan(all.length);
    }
    expect(parts.flat().sort()).toEqual([...all].sort());
    // The whole run's manifest has a null shard and its pre-shard digest.
    const m = readManifest(whole)!;
    expect(m.config.shard).toBeNull();
    expect(m.configDigest).toBe(configDigest({ ...m.config, shard: undefined }));
  });

  it("merge joins the shards into exactly the unsharded run's records, in its order", () => {
    const merged = path.join(work, "merged");
    const r = valuelens(["merge", shardDir(3), shardDir(1), shardDir(2), "--out", merged, "--bootstrap", "50"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${records(whole).length} of ${records(whole).length} questions`);
    expect(deterministic(merged)).toEqual(deterministic(whole));
    const m = readManifest(merged)!;
    const w = readManifest(whole)!;
    expect(m.status).toBe("complete");
    expect(m.config).toEqual(w.config);
    expect(m.configDigest).toBe(w.configDigest);
    expect(m.questions).toEqual(w.questions);
    expect(m.merged!.from).toEqual([shardDir(3), shardDir(1), shardDir(2)]);
    expect(m.merged!.shards.map((s) => s.shard)).toEqual([
      { index: 3, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    expect(m.merged!.missing).toBe(0);
    expect(m.sessions).toHaveLength(3);
    // metrics and report as an unsharded run writes them (same records, same bootstrap).
    const metrics = (dir: string) => JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
    expect(metrics(merged).alignmentRate).toEqual(metrics(whole).alignmentRate);
    expect(existsSync(path.join(merged, "report.md"))).toBe(true);
    // The merged directory is an ordinary finished run: the unsharded command re-runs it without asking anything.
    const again = valuelens(["run", ...SLICE, "--out", merged, "--cache-dir", path.join(work, "cache-empty")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("0 answered");
  });

  it("identical duplicates are kept once; a conflicting duplicate is refused naming the id", () => {
    const dup = path.join(work, "merged-dup");
    const r = valuelens(["merge", shardDir(1), shardDir(2), shardDir(3), whole, "--out", dup, "--bootstrap", "0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${records(whole).length} identical duplicates kept once`);
    expect(deterministic(dup)).toEqual(deterministic(whole));

    // Change one answer of a copy of the whole run.
    const edited = path.join(work, "edited");
    const m = valuelens(["merge", whole, "--out", edited, "--bootstrap", "0"]);
    expect(m.code).toBe(0);
    const file = path.join(edited, "records.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    const target = records(shardDir(2))[0]!.id;
    const idx = lines.findIndex((l) => JSON.parse(l).id === target);
    const rec = JSON.parse(lines[idx]!);
    // Another answer that is consistent in itself (records/consistency.ts): the top token read differently.
    rec.letters.top.text = `${rec.letters.top.text}-other`;
    lines[idx] = JSON.stringify(rec);
    writeFileSync(file, lines.join("\n") + "\n");
    // The edit is refused as such first (manifest.json's records digest) ...
    const tampered = valuelens(["report", edited, "--quiet"]);
    expect(oneLine(tampered)).toContain("is not what valuelens wrote for this run");
    // ... and, the digest dropped, the conflict between the two answers is named.
    const manifestFile = path.join(edited, "manifest.json");
    const { records: _digest, ...withoutDigest } = JSON.parse(readFileSync(manifestFile, "utf8"));
    writeFileSync(manifestFile, `${JSON.stringify(withoutDigest, null, 2)}\n`);
    const bad = valuelens(["merge", shardDir(1), shardDir(2), edited, "--out", path.join(work, "merged-conflict")]);
    expect(bad.code).toBe(1);
    const line = oneLine(bad);
    expect(line).toContain(target);
    expect(line).toContain("different answers");
    expect(existsSync(path.join(work, "merged-conflict"))).toBe(false);
  });

  it("a gap (2 of 3 shards) is written as an interrupted run, reported with its count, exit 1; --resume fills it", () => {
    const partial = path.join(work, "merged-partial");
    const r = valuelens(["merge", shardDir(1), shardDir(3), "--out", partial, "--bootstrap", "0"]);
    expect(r.code).toBe(1);
    const missing = records(shardDir(2)).length;
    const total = records(whole).length;
    const line = oneLine(r);
    expect(line).toContain(`${missing} of ${total} questions are missing from every shard (shard 2/3)`);
    const m = readManifest(partial)!;
    expect(m.status).toBe("interrupted");
    expect(m.finishedAt).toBeNull();
    expect(m.merged!.missing).toBe(missing);
    expect(records(partial)).toHaveLength(total - missing);
    // The unsharded command resumes the merged directory and asks exactly the missing questions.
    const resumed = valuelens([
      "run",
      ...SLICE,
      "--out",
      partial,
      "--cache-dir",
      path.join(work, "cache-fill"),
      "--resume",
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`${missing} answered`);
    expect(readManifest(partial)!.status).toBe("complete");
    expect(deterministic(partial)).toEqual(deterministic(whole));
  });

  it("refuses shards of different runs, naming what differs and where", () => {
    const other = path.join(work, "shard-seed9");
    const s = valuelens(["run", ...SLICE, "--seed", "9", "--shard", "2/3", "--out", other, "--cache-dir", shardCache]);
    expect(s.code).toBe(0);
    const r = valuelens(["merge", shardDir(1), other, shardDir(3), "--out", path.join(work, "merged-mismatch")]);
    expect(r.code).toBe(1);
    const line = oneLine(r);
    expect(line).toContain(other);
    expect(line).toContain("seed");
    expect(line).toContain("0 vs 9");
    expect(existsSync(path.join(work, "merged-mismatch"))).toBe(false);

    const notRun = valuelens(["merge", shardDir(1), work + "/nowhere", "--out", path.join(work, "merged-x")]);
    expect(notRun.code).toBe(1);
    expect(oneLine(notRun)).toContain("not a run directory");

    const into = valuelens(["merge", shardDir(1), shardDir(2), "--out", shardDir(3)]);
    expect(into.code).toBe(1);
    expect(oneLine(into)).toContain("not empty");
  });

  it("--shard is validated in one line", () => {
    for (const bad of ["3/2", "0/3", "x"]) {
      const r = valuelens(["run", ...SLICE, "--shard", bad, "--out", path.join(work, `bad-${bad.replace("/", "-")}`)]);
      expect(r.code).toBe(1);
      expect(oneLine(r)).toContain(`--shard ${bad}`);
      expect(existsSync(path.join(work, `bad-${bad.replace("/", "-")}`))).toBe(false);
    }
  });
});
