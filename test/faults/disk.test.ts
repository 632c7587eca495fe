// Disk faults and durable writes (issue 10). A full disk under --out, --cache-dir, a merge or a
// report, a read-only --out, a file where a directory belongs: one line naming the file and what
// to do, exit 1, manifest.json "failed" with the real (first) cause where the disk lets it be
// written, no *.tmp left anywhere, metrics.json replaced atomically (the old one stays whole), and
// a resume once the space is back ends with exactly the records of an uninterrupted run.
//
// The faults come from VALUELENS_FAULTS (src/util/durableFiles.ts): tests run as root here and in
// CI, where chmod stops nothing and tmpfs mounts are not allowed.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/records/manifest.js";
import { LOCK_FILE } from "../../src/runs/lock.js";
import { AppendFile, ensureDir, FileWriteError, parseFaults, writeFileAtomic } from "../../src/util/durableFiles.js";
import { valuelens } from "../helpers/cli.js";
import { thrown } from "../helpers/errors.js";
import { tinyModelPath } from "../helpers/models.js";
import { deterministicOf, lineCount, oneLineError, recordsOf } from "./helpers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-disk-"));
const clean = path.join(work, "clean"); // the uninterrupted run every resumed one must equal
const cleanCache = path.join(work, "clean-cache");

/** The tiny model, 16 questions (Nigeria, 4 per task, 2 repeats): a few seconds a run. */
const ARGS = [
  "--model",
  "tiny",
  "--countries",
  "Nigeria",
  "--limit",
  "4",
  "--repeats",
  "2",
  "--seed",
  "5",
  "--progress",
  "quiet",
  "--bootstrap",
  "50",
];
const TOTAL = 16;

const run = (out: string, cache: string, extra: string[] = [], faults?: string) =>
  valuelens(
    ["run", ...ARGS, "--out", out, "--cache-dir", cache, ...extra],
    faults ? { env: { VALUELENS_FAULTS: faults } } : {},
  );

/** A fresh directory for one case: its --out and --cache-dir live under it (one "disk"). */
function disk(name: string): { root: string; out: string; cache: string } {
  const root = path.join(work, name);
  mkdirSync(root, { recursive: true });
  return { root, out: path.join(root, "out"), cache: path.join(root, "cache") };
}

/** Every *.tmp file under `dir` (none may be left by a failed write). */
function tmpFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".tmp"))
    .map((f) => path.join(dir, f));
}

/** Every file under `dir` with its bytes, to show a failed command changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const abs = path.join(dir, f);
    if (statSync(abs).isFile()) files[f] = readFileSync(abs, "base64");
  }
  return files;
}

function expectCleanRecords(dir: string): void {
  expect(recordsOf(dir)).toHaveLength(TOTAL);
  expect(deterministicOf(dir)).toEqual(deterministicOf(clean));
}

describe("disk faults (VALUELENS_FAULTS, tiny model)", () => {
  beforeAll(async () => {
    await tinyModelPath();
    const r = run(clean, cleanCache);
    expect(r.code, r.stderr).toBe(0);
    expect(recordsOf(clean)).toHaveLength(TOTAL);
  });

  it("disk full on records.jsonl mid-run: one line naming it, manifest failed with that ENOSPC, no *.tmp; a resume once freed gives the clean run's records", () => {
    const d = disk("records-full");
    const line = oneLineError(
      run(d.out, d.cache, [], "ENOSPC:records.jsonl:after=3"),
      `${d.out}/records.jsonl: no space left on device (ENOSPC)`,
      "free space",
      "resume with: valuelens run",
      "--resume",
    );
    expect(line).toContain(d.out);
    const manifest = readManifest(d.out)!;
    expect(manifest.status).toBe("failed");
    expect(manifest.lastError?.kind).toBe("error");
    expect(manifest.lastError?.message).toContain(`${d.out}/records.jsonl: no space left on device (ENOSPC)`);
    // The three records written before the disk filled are whole (the short fourth was cut off).
    expect(lineCount(path.join(d.out, "records.jsonl"))).toBe(3);
    expect(recordsOf(d.out)).toHaveLength(3);
    expect(tmpFiles(d.root)).toEqual([]);
    expect(existsSync(path.join(d.out, LOCK_FILE))).toBe(false);

    const resumed = run(d.out, d.cache, ["--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readManifest(d.out)!.status).toBe("complete");
    expectCleanRecords(d.out);
  });

  it("a disk that stays full (run directory and cache on it): the user sees the first ENOSPC, never the manifest's; nothing half written", () => {
    const d = disk("whole-disk-full");
    const r = run(d.out, d.cache, [], `ENOSPC:${d.root}:after=8`);
    const line = oneLineError(r, "no space left on device (ENOSPC)", "resume with:");
    expect(line).not.toContain("manifest.json");
    expect(line).toMatch(new RegExp(`${d.root}/(out/records\\.jsonl|cache/answers/[^ ]+\\.jsonl):`));
    // manifest.json could not be rewritten: it still says how the run began, whole.
    expect(readManifest(d.out)!.status).toBe("running");
    const kept = recordsOf(d.out).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(TOTAL);
    expect(tmpFiles(d.root)).toEqual([]);

    const resumed = run(d.out, d.cache, ["--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectCleanRecords(d.out);
  });

  it("disk full on --cache-dir mid-run: one line naming the cache segment, manifest failed with it, no *.tmp; a resume once freed gives the clean run's records", () => {
    const d = disk("cache-full");
    const line = oneLineError(
      run(d.out, d.cache, [], `ENOSPC:${d.cache}:after=6`),
      "no space left on device (ENOSPC)",
      "free space",
      "resume with:",
    );
    expect(line).toMatch(new RegExp(`^valuelens: ${d.cache}/answers/[^ /]+\\.jsonl: `));
    const manifest = readManifest(d.out)!;
    expect(manifest.status).toBe("failed");
    expect(manifest.lastError?.message).toMatch(
      new RegExp(`${d.cache}/answers/[^ /]+\\.jsonl: no space left on device \\(ENOSPC\\)`),
    );
    expect(recordsOf(d.out).length).toBeGreaterThan(0);
    expect(recordsOf(d.out).length).toBeLessThan(TOTAL);
    // Every cache segment ends on a whole line (the short write was cut off).
    for (const f of readdirSync(path.join(d.cache, "answers")))
      expect(readFileSync(path.join(d.cache, "answers", f), "utf8")).toMatch(/(^|\n)$/);
    expect(tmpFiles(d.root)).toEqual([]);

    const resumed = run(d.out, d.cache, ["--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectCleanRecords(d.out);
  });

  it("a read-only --out: one line naming it, nothing in it changed; a new --out on a read-only disk likewise", () => {
    const d = disk("read-only");
    cpSync(clean, d.out, { recursive: true });
    const before = snapshot(d.out);
    oneLineError(
      run(d.out, cleanCache, [], `EROFS:${d.out}`),
      `${d.out}: read-only file system (EROFS)`,
      "remount it read-write",
    );
    oneLineError(run(d.out, cleanCache, ["--resume"], `EROFS:${d.out}`), `${d.out}: read-only file system (EROFS)`);
    expect(snapshot(d.out)).toEqual(before);

    const fresh = path.join(d.root, "ro-mount", "new-run");
    oneLineError(
      run(fresh, cleanCache, [], `EROFS:${path.dirname(fresh)}`),
      `${fresh}: read-only file system (EROFS)`,
      "run the command again",
    );
    expect(existsSync(path.dirname(fresh))).toBe(false);
  });

  it("--out that is a regular file (or lies under one): one line naming the file, which is left as it was", () => {
    const d = disk("out-is-file");
    const file = path.join(d.root, "results.txt");
    writeFileSync(file, "not a directory\n");
    oneLineError(
      run(file, d.cache),
      `${file}: exists and is not a directory (EEXIST)`,
      "move that file away or choose another directory",
    );
    oneLineError(run(path.join(file, "run"), d.cache), `${file}: exists and is not a directory (ENOTDIR)`);
    expect(readFileSync(file, "utf8")).toBe("not a directory\n");
    expect(readdirSync(d.root)).toEqual(["results.txt"]);
  });

  it("--cache-dir that is a regular file: one line naming it (before the model loads), no run directory left behind", () => {
    const d = disk("cache-is-file");
    writeFileSync(d.cache, "not a directory\n");
    oneLineError(
      run(d.out, d.cache),
      `${d.cache}: exists and is not a directory (ENOTDIR)`,
      "choose another directory",
    );
    expect(readFileSync(d.cache, "utf8")).toBe("not a directory\n");
    expect(existsSync(d.out)).toBe(false);
  });

  it("metrics.json that cannot be written: the previous one stays whole (atomic), no *.tmp, the finished run stays complete", () => {
    const d = disk("metrics-full");
    cpSync(clean, d.out, { recursive: true });
    const before = snapshot(d.out);
    // A finished run run again evaluates nothing and rewrites its outputs: metrics.json first.
    oneLineError(
      run(d.out, cleanCache, [], "ENOSPC:metrics.json"),
      `${d.out}/metrics.json: no space left on device (ENOSPC)`,
      "free space",
    );
    expect(readFileSync(path.join(d.out, "metrics.json"), "base64")).toBe(before["metrics.json"]);
    expect(readFileSync(path.join(d.out, "report.md"), "base64")).toBe(before["report.md"]);
    expect(readManifest(d.out)!.status).toBe("complete");
    expect(tmpFiles(d.root)).toEqual([]);
    expectCleanRecords(d.out);
  });

  it("merge onto a full disk: one line naming the file, --out left as it was (merge again works); when only the report fails, the merged run is in place and valuelens report finishes it", () => {
    const d = disk("merge-full");
    const shards = [1, 2].map((i) => path.join(d.root, `shard-${i}`));
    for (const [i, dir] of shards.entries()) {
      const r = run(dir, cleanCache, ["--shard", `${i + 1}/2`]);
      expect(r.code, r.stderr).toBe(0);
    }
    const merged = path.join(d.root, "merged");
    // Full after the directory, its lock and the merge's marker: records.jsonl is the first file that does not fit.
    const full = valuelens(["merge", ...shards, "--out", merged, "--bootstrap", "50"], {
      env: { VALUELENS_FAULTS: `ENOSPC:${merged}:after=3` },
    });
    oneLineError(
      full,
      `${merged}/records.jsonl: no space left on device (ENOSPC)`,
      "free space",
      "run the command again",
    );
    expect(existsSync(merged) ? readdirSync(merged) : []).toEqual([]);
    expect(tmpFiles(d.root)).toEqual([]);

    const again = valuelens(["merge", ...shards, "--out", merged, "--bootstrap", "50"]);
    expect(again.code, again.stderr).toBe(0);
    expectCleanRecords(merged);

    const merged2 = path.join(d.root, "merged-2");
    const noReport = valuelens(["merge", ...shards, "--out", merged2, "--bootstrap", "50"], {
      env: { VALUELENS_FAULTS: "ENOSPC:metrics.json" },
    });
    oneLineError(
      noReport,
      `${merged2}/metrics.json: no space left on device (ENOSPC)`,
      `then write the report with: valuelens report ${merged2}`,
    );
    expect(readManifest(merged2)!.status).toBe("complete");
    expectCleanRecords(merged2);
    expect(existsSync(path.join(merged2, "metrics.json"))).toBe(false);
    expect(tmpFiles(d.root)).toEqual([]);
    const report = valuelens(["report", merged2, "--quiet"]);
    expect(report.code, report.stderr).toBe(0);
    expect(existsSync(path.join(merged2, "metrics.json"))).toBe(true);
  });

  it("report onto a full disk: one line naming the file; metrics.json, report.md and the charts unchanged, no *.tmp, no lock left; report again once freed", () => {
    const d = disk("report-full");
    cpSync(clean, d.out, { recursive: true });
    const before = snapshot(d.out);
    // The lock fits; metrics.json (the first output) does not.
    oneLineError(
      valuelens(["report", d.out, "--quiet"], { env: { VALUELENS_FAULTS: `ENOSPC:${d.out}:after=1` } }),
      `${d.out}/metrics.json: no space left on device (ENOSPC)`,
      "free space",
      "run the command again",
    );
    expect(snapshot(d.out)).toEqual(before);
    expect(tmpFiles(d.root)).toEqual([]);
    // The last output (report.html) does not fit, while metrics.json and report.md would have
    // changed (no intervals): all outputs stay the old ones, none is new (withStagedWrites).
    oneLineError(
      valuelens(["report", d.out, "--bootstrap", "0", "--quiet"], { env: { VALUELENS_FAULTS: "ENOSPC:report.html" } }),
      "report.html: no space left on device (ENOSPC)",
    );
    expect(snapshot(d.out)).toEqual(before);
    expect(tmpFiles(d.root)).toEqual([]);
    // Tables: their directory cannot be made.
    oneLineError(
      valuelens(["report", d.out, "--format", "csv", "--quiet"], { env: { VALUELENS_FAULTS: "ENOSPC:tables" } }),
      `${d.out}/tables: no space left on device (ENOSPC)`,
    );
    expect(existsSync(path.join(d.out, "tables"))).toBe(false);
    expect(existsSync(path.join(d.out, LOCK_FILE))).toBe(false);
    expect(tmpFiles(d.root)).toEqual([]);

    const freed = valuelens(["report", d.out, "--quiet"]);
    expect(freed.code, freed.stderr).toBe(0);
    expect(readFileSync(path.join(d.out, "metrics.json"), "base64")).toBe(before["metrics.json"]);
  });

  it("temporary files a killed writer left (metrics.json.<pid>.tmp, charts/*.svg.<pid>.tmp) are removed by the next run or report, never read", () => {
    const d = disk("leftover-tmp");
    cpSync(clean, d.out, { recursive: true });
    const left = [
      path.join(d.out, "metrics.json.99999.tmp"),
      path.join(d.out, "records.jsonl.4242.tmp"),
      path.join(d.out, "charts", "alignment.svg.77.tmp"),
    ];
    for (const f of left) writeFileSync(f, "half a file");
    const report = valuelens(["report", d.out, "--quiet"]);
    expect(report.code, report.stderr).toBe(0);
    expect(tmpFiles(d.out)).toEqual([]);
    for (const f of left.slice(0, 2)) writeFileSync(f, "half a file");
    const again = run(d.out, cleanCache, ["--resume"]);
    expect(again.code, again.stderr).toBe(0);
    expect(tmpFiles(d.out)).toEqual([]);
    expectCleanRecords(d.out);
  });
});

describe("src/util/durableFiles.ts", () => {
  const dir = path.join(work, "unit");
  const faults = (spec: string) => (process.env.VALUELENS_FAULTS = spec);
  afterEach(() => {
    delete process.env.VALUELENS_FAULTS;
  });

  it("writeFileAtomic: a failed write (short, then ENOSPC) leaves the old file whole and no temporary file", () => {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "state.json");
    writeFileAtomic(file, "old\n");
    faults("ENOSPC:state.json");
    const err = thrown(() => writeFileAtomic(file, "new content, longer than the old\n"));
    expect(err).toBeInstanceOf(FileWriteError);
    expect(err.message).toBe(
      `${file}: no space left on device (ENOSPC); free space on that disk, then run the command again`,
    );
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(tmpFiles(dir)).toEqual([]);
    delete process.env.VALUELENS_FAULTS;
    writeFileAtomic(file, "new\n");
    expect(readFileSync(file, "utf8")).toBe("new\n");
  });

  it("AppendFile: a short append is cut off again (the file ends on a whole line) and later appends refuse with the same error; EIO on fsync is one line too", () => {
    const file = path.join(dir, "lines.jsonl");
    faults("ENOSPC:lines.jsonl:after=2");
    const w = new AppendFile(file, { syncEveryMs: Infinity });
    w.append("one\n");
    w.append("two\n");
    const err = thrown(() => w.append("three, which does not fit\n"));
    expect(err.message).toContain(`${file}: no space left on device (ENOSPC)`);
    expect(thrown(() => w.append("four\n"))).toBe(err);
    w.close();
    expect(readFileSync(file, "utf8")).toBe("one\ntwo\n");

    faults("EIO:lines.jsonl:on=fsync");
    const s = new AppendFile(file);
    s.append("five\n");
    expect(thrown(() => s.sync()).message).toBe(
      `${file}: input/output error (EIO); check the disk (dmesg, fsck) or use another one, then run the command again`,
    );
    s.close();
  });

  it("ensureDir and FileWriteError: a file in the way is named; withNext changes how to continue", () => {
    const file = path.join(dir, "a-file");
    writeFileSync(file, "");
    const err = thrown(() => ensureDir(path.join(file, "x", "y"))) as FileWriteError;
    expect(err.message).toBe(
      `${file}: exists and is not a directory (ENOTDIR); move that file away or choose another directory, then run the command again`,
    );
    expect(err.withNext("resume with: valuelens run --resume", (f) => path.basename(f)).message).toBe(
      "a-file: exists and is not a directory (ENOTDIR); move that file away or choose another directory, then resume with: valuelens run --resume",
    );
    rmSync(file);
  });

  it("VALUELENS_FAULTS: rules are checked (a typo injects nothing and would prove nothing)", () => {
    expect(parseFaults("ENOSPC:records.jsonl:after=3; EROFS:/data/runs:on=write+mkdir")).toMatchObject([
      { code: "ENOSPC", match: "records.jsonl", byPath: false, after: 3 },
      { code: "EROFS", match: "/data/runs", byPath: true, after: 0 },
    ]);
    for (const bad of ["ENOSPACE:records.jsonl", "ENOSPC", "ENOSPC:x:after=soon", "ENOSPC:x:on=read"])
      expect(() => parseFaults(bad)).toThrow(/VALUELENS_FAULTS/);
  });
});
