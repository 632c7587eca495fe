// Old run directories keep working (issue 12, item 5). test/fixtures/runs holds small run
// directories written by valuelens at db53974 (before the suite refactor; how they were made:
// test/fixtures/runs/README.md): VIA letters, VIA paper protocol, the dilemma suite, and the two
// shards of the VIA letters run. With the code of this tree, each one must still
// - report: metrics.json and report.md recomputed from its records equal the committed ones;
// - carry a config digest that this code computes from its config;
// - resume: a complete run re-run with --resume asks nothing and keeps records.jsonl byte for
//   byte (the resume checks every record's cache key against this code's key, so the cache keys
//   are still valid: a record with a wrong key is refused); an interrupted copy (last records
//   lost, or a torn last line) resumes to the fixture's records (those computed again: exactly
//   as an uninterrupted run computes them on this machine's CPU kernels, and the fixture's
//   within a tolerance);
// - merge: the two shards merge into the unsharded run's records, metrics and report;
// - compare: VIA letters with the merged shards, the dilemma run with a copy of itself, against
//   the compare.md / compare.json db53974 wrote (test/fixtures/compare, paths as <tmp>).
// Every CLI call runs on a copy, with a fresh cache root: the tiny model is rebuilt here and must
// have the sha256 the fixtures recorded, and nothing comes from an answer cache.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configDigest } from "../../src/runner/run.js";
import { type CliResult, valuelens } from "../helpers/cli.js";
import { PROJECT_ROOT } from "../helpers/models.js";

const FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "runs");
const COMPARE_FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "compare");

/** The fixture run directories: their record counts and the charts `report` draws for them. */
const RUNS = {
  "via-letters": { records: 28, charts: ["alignment-rate-by-country-and-topic.svg"] },
  "via-letters-shard1-of-2": { records: 14, charts: ["alignment-rate-by-country-and-topic.svg"] },
  "via-letters-shard2-of-2": { records: 14, charts: ["alignment-rate-by-country-and-topic.svg"] },
  "via-paper": { records: 8, charts: [] },
  dilemmas: {
    records: 48,
    charts: ["alignment-distance-by-value-and-kind.svg", "alignment-rate-by-value-and-kind.svg"],
  },
} as const;
type RunName = keyof typeof RUNS;
const NAMES = Object.keys(RUNS) as RunName[];

/** The sha256 of the tiny model every fixture was made with (valuelens-tiny-f16-seed1.gguf). */
const TINY_SHA256 = "5583e359da98c6839e6e9c57c990e2d30ddd8d56972df1f20b15e8d3eeda0ed8";

let work: string;
let env: Record<string, string>;

beforeAll(() => {
  // realpath: compare output holds absolute run paths, written as <tmp> in the expected files.
  work = realpathSync(mkdtempSync(path.join(tmpdir(), "vl-compat-")));
  env = { VALUELENS_CACHE_DIR: path.join(work, "cache-root") };
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function cli(args: string[]): CliResult {
  const r = valuelens(args, { env });
  expect(r.code, `valuelens ${args.join(" ")}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  return r;
}

/** A copy of a fixture at <work>/<where>/<name> (the directory name shows in compare's labels). */
function copyOf(name: RunName, where: string, as: string = name): string {
  const dir = path.join(work, where, as);
  mkdirSync(path.dirname(dir), { recursive: true });
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

const fixtureFile = (name: RunName, file: string) => path.join(FIXTURES, name, file);
const text = (file: string) => readFileSync(file, "utf8");
const json = (file: string) => JSON.parse(text(file));

interface Session {
  evaluations: number;
  answered: number;
  cacheHits: number;
}

/** records.jsonl as lines of the records without their volatile `meta` (ms, cacheHit, tokens), key order kept. */
function deterministicLines(file: string): string[] {
  return text(file)
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const { meta: _meta, ...rest } = JSON.parse(l);
      return JSON.stringify(rest);
    });
}

/** report.md with the dataset's absolute path (a run summary row) left out. */
function withoutDatasetPath(report: string): string {
  return report.replace(/^\| dataset \| .* \(sha256 /m, "| dataset | <path> (sha256 ");
}

function sha256Of(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

describe("fixture run directories made by db53974", () => {
  it.each(NAMES)("%s: its manifest is complete and its config digest is what this code computes", (name) => {
    const manifest = json(fixtureFile(name, "manifest.json"));
    expect(manifest.status).toBe("complete");
    expect(manifest.backend.modelSha256).toBe(TINY_SHA256);
    expect(text(fixtureFile(name, "records.jsonl")).split("\n").filter(Boolean)).toHaveLength(RUNS[name].records);
    expect(configDigest(manifest.config as Parameters<typeof configDigest>[0])).toBe(manifest.configDigest);
  });

  it.each(NAMES)("%s: `valuelens report` recomputes the same metrics.json and report.md", (name) => {
    const dir = copyOf(name, "report");
    cli(["report", dir]);
    expect(json(path.join(dir, "metrics.json"))).toStrictEqual(json(fixtureFile(name, "metrics.json")));
    expect(text(path.join(dir, "report.md"))).toBe(text(fixtureFile(name, "report.md")));
    for (const chart of RUNS[name].charts) expect(existsSync(path.join(dir, "charts", chart)), chart).toBe(true);
    // report writes only its outputs
    expect(text(path.join(dir, "records.jsonl"))).toBe(text(fixtureFile(name, "records.jsonl")));
    expect(text(path.join(dir, "manifest.json"))).toBe(text(fixtureFile(name, "manifest.json")));
  });

  // (shard 2/2's records are resumed below, in the merged run)
  it.each(NAMES.filter((name) => name !== "via-letters-shard2-of-2"))(
    "%s: `run --out DIR --resume` of the complete run asks nothing and keeps records.jsonl byte for byte",
    (name) => {
      const dir = copyOf(name, "resume-complete");
      cli(["run", "--out", dir, "--resume", "--cache-dir", path.join(work, "answers", name), "--progress", "quiet"]);
      const before = json(fixtureFile(name, "manifest.json"));
      const manifest = json(path.join(dir, "manifest.json"));
      expect(manifest.status).toBe("complete");
      expect(manifest.configDigest).toBe(before.configDigest);
      expect(manifest.sessions).toHaveLength(before.sessions.length + 1);
      const session: Session = manifest.sessions.at(-1);
      expect([session.evaluations, session.answered, session.cacheHits]).toEqual([0, 0, 0]);
      expect(text(path.join(dir, "records.jsonl"))).toBe(text(fixtureFile(name, "records.jsonl")));
      expect(json(path.join(dir, "metrics.json"))).toStrictEqual(json(fixtureFile(name, "metrics.json")));
      // The tiny model was rebuilt in this test's fresh cache root, identical to the one recorded.
      expect(manifest.backend.model.path.startsWith(env.VALUELENS_CACHE_DIR!)).toBe(true);
      expect(sha256Of(manifest.backend.model.path)).toBe(TINY_SHA256);
      expect(manifest.backend.modelSha256).toBe(TINY_SHA256);
    },
  );

  it("via-letters: a record whose cache key this code does not compute is refused by --resume", () => {
    const dir = copyOf("via-letters", "resume-foreign-key");
    const file = path.join(dir, "records.jsonl");
    const lines = text(file).split("\n");
    const record = JSON.parse(lines[3]!);
    record.cacheKey = (record.cacheKey.startsWith("0") ? "1" : "0") + record.cacheKey.slice(1);
    lines[3] = JSON.stringify(record);
    writeFileSync(file, lines.join("\n"));
    const r = valuelens(["run", "--out", dir, "--resume", "--cache-dir", path.join(work, "answers-foreign")], { env });
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain(record.id);
    expect(text(file)).toBe(lines.join("\n"));
  });

  // keep: the records an interrupted run had written; torn: a half-written record follows them.
  // The records computed on resume come from this machine's llama.cpp CPU kernels, which are not
  // those the fixtures were made with on every CPU (ggml picks a kernel variant per processor:
  // haswell, skylakex, zen4...; their last digits differ). So the resumed run must equal, exactly,
  // the fixture's kept records followed by what an uninterrupted run computes here, and the
  // fixture itself within KERNEL_TOLERANCE.
  it.each([
    { name: "via-letters", keep: 12, torn: false },
    { name: "via-paper", keep: 3, torn: false },
    { name: "dilemmas", keep: 36, torn: true },
  ] as const)(
    "$name: an interrupted copy ($keep records kept, torn last line: $torn) resumes to the fixture's records",
    ({ name, keep, torn }) => {
      const resume = (dir: string, cache: string) =>
        cli(["run", "--out", dir, "--resume", "--cache-dir", path.join(work, cache, name), "--progress", "quiet"]);
      const dir = copyOf(name, "resume-interrupted");
      const file = path.join(dir, "records.jsonl");
      const kept = interrupt(dir, keep, torn);
      // The same directory with no record kept: every record computed here, none from a cache.
      const fresh = copyOf(name, "resume-fresh");
      interrupt(fresh, 0, false);
      resume(fresh, "answers-fresh");
      resume(dir, "answers-interrupted");
      const after = json(path.join(dir, "manifest.json"));
      expect(after.status).toBe("complete");
      const session: Session = after.sessions.at(-1);
      expect(session.answered).toBe(RUNS[name].records - keep);
      expect(session.cacheHits).toBe(0);
      expect(session.evaluations).toBeGreaterThan(0);
      const records = text(file);
      expect(records.startsWith(kept)).toBe(true); // the kept records are not rewritten
      const fixture = deterministicLines(fixtureFile(name, "records.jsonl"));
      const here = deterministicLines(path.join(fresh, "records.jsonl"));
      expect(here.map((l) => JSON.parse(l).id)).toEqual(fixture.map((l) => JSON.parse(l).id));
      expect(deterministicLines(file)).toEqual([...fixture.slice(0, keep), ...here.slice(keep)]);
      expectWithinKernelTolerance(deterministicLines(file), fixture);
      // metrics.json is that of the uninterrupted run: the same records, reported.
      const freshLines = text(path.join(fresh, "records.jsonl")).split("\n").filter(Boolean);
      writeFileSync(
        path.join(fresh, "records.jsonl"),
        [...kept.split("\n").filter(Boolean), ...freshLines.slice(keep)].join("\n") + "\n",
      );
      // Records spliced by hand are not what the run wrote (manifest.json's records digest):
      // this test made them on purpose, so it drops the digest before reporting them.
      const manifestFile = path.join(fresh, "manifest.json");
      const { records: _digest, ...withoutDigest } = json(manifestFile);
      writeFileSync(manifestFile, `${JSON.stringify(withoutDigest, null, 2)}\n`);
      cli(["report", fresh, "--quiet"]);
      expect(json(path.join(dir, "metrics.json"))).toStrictEqual(json(path.join(fresh, "metrics.json")));
      expect(existsSync(path.join(dir, "report.md"))).toBe(true);
    },
  );
});

/** Leaves `dir` as an interrupted run does: its first `keep` records (a torn line after them if asked), manifest "interrupted", no outputs. Returns the kept text. */
function interrupt(dir: string, keep: number, torn: boolean): string {
  const file = path.join(dir, "records.jsonl");
  const lines = text(file).split("\n");
  const kept = keep === 0 ? "" : lines.slice(0, keep).join("\n") + "\n";
  writeFileSync(file, kept + (torn ? lines[keep]!.slice(0, 120) : ""));
  const manifestFile = path.join(dir, "manifest.json");
  const manifest = json(manifestFile);
  manifest.status = "interrupted";
  manifest.finishedAt = null;
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  rmSync(path.join(dir, "metrics.json"));
  rmSync(path.join(dir, "report.md"));
  return kept;
}

/**
 * How far llama.cpp's CPU kernel variants move a probability of the tiny model (F16): measured up
 * to 4.4e-4 between the fixtures' machine and a zen4 one.
 */
const KERNEL_TOLERANCE = 2e-3;

/**
 * The same records, every number within KERNEL_TOLERANCE and everything else equal, except the
 * text of the top token (`letters.top.text`), which a near-tie among the vocabulary may change.
 */
function expectWithinKernelTolerance(actual: string[], expected: string[]): void {
  expect(actual).toHaveLength(expected.length);
  const close = (a: unknown, e: unknown, where: string): void => {
    if (typeof e === "number" && typeof a === "number") {
      expect(Math.abs(a - e), where).toBeLessThanOrEqual(KERNEL_TOLERANCE);
    } else if (where.endsWith(".letters.method") && typeof e === "string" && typeof a === "string") {
      // The fixtures read letters through node-llama-cpp's softmax; this install reads the same
      // numbers (within 1e-6, test/native-letters.test.ts) natively, and says so.
      expect(a.replace(/:logits\b/, ":softmax"), where).toBe(e);
    } else if (e !== null && typeof e === "object" && a !== null && typeof a === "object") {
      expect(Object.keys(a), where).toEqual(Object.keys(e));
      for (const [k, v] of Object.entries(e))
        if (!where.endsWith(".top") || k !== "text") close((a as Record<string, unknown>)[k], v, `${where}.${k}`);
    } else expect(a, where).toEqual(e);
  };
  actual.forEach((line, i) => close(JSON.parse(line), JSON.parse(expected[i]!), JSON.parse(expected[i]!).id));
}

describe("merge and compare of the fixtures", () => {
  let merged: string;

  beforeAll(() => {
    const shards = [copyOf("via-letters-shard1-of-2", "runs"), copyOf("via-letters-shard2-of-2", "runs")];
    merged = path.join(work, "runs", "via-letters-merged");
    cli(["merge", ...shards, "--out", merged]);
  });

  it("`valuelens merge` of the two shards gives the unsharded run: records, digest, metrics, report", () => {
    const whole = json(fixtureFile("via-letters", "manifest.json"));
    const manifest = json(path.join(merged, "manifest.json"));
    expect(manifest.status).toBe("complete");
    expect(manifest.config).toStrictEqual(whole.config);
    expect(manifest.configDigest).toBe(whole.configDigest);
    expect(deterministicLines(path.join(merged, "records.jsonl"))).toEqual(
      deterministicLines(fixtureFile("via-letters", "records.jsonl")),
    );
    expect(json(path.join(merged, "metrics.json"))).toStrictEqual(json(fixtureFile("via-letters", "metrics.json")));
    // report.md: the unsharded run's, plus the note that says it was merged; the dataset's path is
    // where merge found it on this machine (the sample: <project>/datasets/via-sample.csv).
    const report = withoutDatasetPath(text(path.join(merged, "report.md"))).split("\n");
    const note = report.filter((l) => l.includes("valuelens merge"));
    expect(note).toEqual(["- Merged from 2 run directories (shard 1/2, shard 2/2) by valuelens merge."]);
    expect(report.filter((l) => !note.includes(l)).join("\n")).toBe(
      withoutDatasetPath(text(fixtureFile("via-letters", "report.md"))),
    );
    // A report of the merged run recomputes the same, and a resume of it asks nothing.
    cli(["report", merged]);
    expect(json(path.join(merged, "metrics.json"))).toStrictEqual(json(fixtureFile("via-letters", "metrics.json")));
    cli(["run", "--out", merged, "--resume", "--cache-dir", path.join(work, "answers-merged"), "--progress", "quiet"]);
    const session: Session = json(path.join(merged, "manifest.json")).sessions.at(-1);
    expect([session.evaluations, session.answered]).toEqual([0, 0]);
  });

  /** compare.md and compare.json of `valuelens compare a b --out`, against the expected files of db53974. */
  function expectCompare(a: string, b: string, expected: string): void {
    const out = path.join(work, `compare-${expected}`);
    cli(["compare", a, b, "--out", out]);
    const asWritten = (file: string) => text(file).split(work).join("<tmp>");
    expect(asWritten(path.join(out, "compare.md"))).toBe(text(path.join(COMPARE_FIXTURES, `compare-${expected}.md`)));
    expect(JSON.parse(asWritten(path.join(out, "compare.json")))).toStrictEqual(
      json(path.join(COMPARE_FIXTURES, `compare-${expected}.json`)),
    );
  }

  it("`valuelens compare` of VIA letters with the merged shards: no differences, as db53974 wrote it", () => {
    const letters = copyOf("via-letters", "runs");
    expectCompare(letters, merged, "via");
  });

  it("`valuelens compare` of the dilemma run with a copy of itself, as db53974 wrote it", () => {
    const a = copyOf("dilemmas", "runs");
    const b = copyOf("dilemmas", "runs", "dilemmas-copy");
    expectCompare(a, b, "dilemmas");
  });
});
