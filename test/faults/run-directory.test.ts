// What a run does with the directory it is given (issue 10): records without their manifest are
// kept only when they are this run's (cache keys), a resume checks every kept record the same
// way, --resume needs a run to resume, a non-empty directory that is not a run is never written
// into, and re-running a finished run never marks it "running".
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { loadVia, SAMPLE_VIA_PATH } from "../../src/suites/via/dataset.js";
import { runBenchmark } from "../../src/runner/run.js";
import { readManifest } from "../../src/records/manifest.js";
import { LOCK_FILE } from "../../src/runs/lock.js";
import { valuelens } from "../helpers/cli.js";
import { testConfig } from "../helpers/config.js";
import { TEST_THREADS, tinyModelPath } from "../helpers/models.js";
import { deterministicOf, oneLineError, recordsOf, SLICE } from "./helpers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-run-dir-"));
const A = path.join(work, "A"); // SLICE, seed 11
const B = path.join(work, "B"); // SLICE with seed 12: the same question ids, other option orders
const cache = path.join(work, "cache");

function copyOf(dir: string, name: string): string {
  const to = path.join(work, name);
  cpSync(dir, to, { recursive: true });
  return to;
}

const bytes = (dir: string, file: string) => readFileSync(path.join(dir, file));
const withSeed = (seed: string) => SLICE.map((a, i) => (SLICE[i - 1] === "--seed" ? seed : a));

describe("a run directory without its manifest, and resumed records (tiny model)", () => {
  beforeAll(async () => {
    await tinyModelPath();
    for (const [out, seed] of [
      [A, "11"],
      [B, "12"],
    ] as const) {
      const r = valuelens(["run", ...withSeed(seed), "--out", out, "--cache-dir", cache]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("with manifest.json deleted, a run with another seed refuses the old records, counting those that are not its own", () => {
    const dir = copyOf(A, "no-manifest-seed");
    rmSync(path.join(dir, "manifest.json"));
    const before = bytes(dir, "records.jsonl");
    // The records a seed-12 run would not have made: those whose cache key differs from B's.
    const keyB = new Map(recordsOf(B).map((r) => [r.id, r.cacheKey]));
    const foreign = recordsOf(A).filter((r) => r.cacheKey !== keyB.get(r.id));
    expect(foreign.length).toBeGreaterThan(0);
    for (const extra of [[], ["--resume"]]) {
      const line = oneLineError(
        valuelens(["run", ...withSeed("12"), "--out", dir, "--cache-dir", cache, ...extra]),
        `${foreign.length} of its ${recordsOf(A).length} records were not made by this run`,
        `first: ${foreign[0]!.id}`,
        "manifest.json is missing",
        "choose a new --out",
      );
      expect(line).toContain(dir);
      expect(bytes(dir, "records.jsonl")).toEqual(before);
      expect(existsSync(path.join(dir, "manifest.json"))).toBe(false);
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    }
  });

  it("with manifest.json deleted, another model file is refused: none of the records are its own", async () => {
    const dir = copyOf(A, "no-manifest-model");
    rmSync(path.join(dir, "manifest.json"));
    const f32 = await tinyModelPath("f32");
    const args = SLICE.map((a, i) => (SLICE[i - 1] === "--model" ? f32 : a));
    const n = recordsOf(A).length;
    oneLineError(
      valuelens(["run", ...args, "--out", dir, "--cache-dir", cache]),
      `${n} of its ${n} records were not made by this run`,
    );
    expect(existsSync(path.join(dir, "manifest.json"))).toBe(false);
  });

  it("with manifest.json deleted, the same run keeps its records (checked) and asks nothing", () => {
    const dir = copyOf(A, "no-manifest-same");
    rmSync(path.join(dir, "manifest.json"));
    const r = valuelens(["run", ...SLICE, "--out", dir, "--cache-dir", cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `has no manifest.json; its ${recordsOf(A).length} records were checked (cache keys) and are this run's`,
    );
    expect(r.stdout).toContain("0 answered");
    expect(readManifest(dir)!.status).toBe("complete");
    expect(deterministicOf(dir)).toEqual(deterministicOf(A));
  });

  it("a resume refuses records whose cache key is not this run's (made with another prompt or engine)", () => {
    const dir = copyOf(A, "other-keys");
    const file = path.join(dir, "records.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    const changed = [1, 5, 9];
    const edited = lines.map((l, i) =>
      changed.includes(i) ? JSON.stringify({ ...JSON.parse(l), cacheKey: "0".repeat(64) }) : l,
    );
    writeFileSync(file, edited.join("\n") + "\n");
    const m = readManifest(dir)!;
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ ...m, status: "interrupted" }));
    const before = bytes(dir, "records.jsonl");
    oneLineError(
      valuelens(["run", ...SLICE, "--out", dir, "--cache-dir", cache, "--resume"]),
      `${changed.length} of its ${lines.length} records were not made by this run`,
      `first: ${JSON.parse(lines[1]!).id}`,
    );
    expect(bytes(dir, "records.jsonl")).toEqual(before);
    expect(readManifest(dir)!.status).toBe("interrupted");
  });

  it("--resume on a directory that does not exist (or holds no run) is an error, not a new run", () => {
    const missing = path.join(work, "typo", "run");
    oneLineError(
      valuelens(["run", ...SLICE, "--out", missing, "--cache-dir", cache, "--resume"]),
      missing,
      "does not exist",
      "drop --resume",
    );
    expect(existsSync(path.join(work, "typo"))).toBe(false);
    const empty = path.join(work, "empty");
    mkdirSync(empty);
    oneLineError(valuelens(["run", ...SLICE, "--out", empty, "--cache-dir", cache, "--resume"]), empty, "holds no run");
    expect(existsSync(path.join(empty, "manifest.json"))).toBe(false);
  });

  it("--out naming a non-empty directory that is not a run is refused and left exactly as it was", () => {
    const home = path.join(work, "home");
    mkdirSync(path.join(home, "src"), { recursive: true });
    writeFileSync(path.join(home, "notes.txt"), "my notes\n");
    const foreign = path.join(work, "foreign-records");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "records.jsonl"), "not a valuelens record, and no newline");
    for (const [dir, files] of [
      [home, ["notes.txt", "src"]],
      [foreign, ["records.jsonl"]],
    ] as const) {
      const before = files.map((f) => (f === "src" ? "" : readFileSync(path.join(dir, f), "utf8")));
      oneLineError(
        valuelens(["run", ...SLICE, "--out", dir, "--cache-dir", cache]),
        `--out ${dir} is not empty and holds no valuelens run`,
        "nothing was written",
      );
      // import (checked before its input files are read) refuses it too.
      const t1 = path.join(work, "t1-never-read.csv");
      oneLineError(
        valuelens(["import", "official", "--t1", t1, "--model-name", "m", "--out", dir]),
        /is not empty and holds no valuelens run|holds records.jsonl without a manifest.json/,
      );
      expect(files.map((f) => (f === "src" ? "" : readFileSync(path.join(dir, f), "utf8")))).toEqual(before);
      for (const f of ["manifest.json", "metrics.json", "report.md", LOCK_FILE])
        expect(existsSync(path.join(dir, f))).toBe(false);
    }
  });
});

describe("re-running a finished run", () => {
  it("keeps it complete on disk the whole time (a crash mid-way leaves it complete, not running)", async () => {
    const out = path.join(work, "rerun");
    const modelPath = await tinyModelPath();
    const config = testConfig({ countries: ["Nigeria"], limit: 2 });
    const dataset = await loadVia(SAMPLE_VIA_PATH);
    const load = () =>
      LlamaCppBackend.load({
        name: "tiny",
        modelPath,
        contextSize: 1024,
        gpuLayers: 0,
        threads: TEST_THREADS,
        batchSize: 512,
        sequences: 1,
        flashAttention: false,
        gpu: false,
      });
    const opts = {
      config,
      dataset,
      out,
      resume: false,
      cacheDir: path.join(work, "cache-rerun"),
      progress: "quiet" as const,
      log: () => {},
      outputs: { bootstrap: 0 },
    };
    const first = await runBenchmark({ ...opts, openBackend: load });
    expect(first.manifest.status).toBe("complete");
    const finishedAt = first.manifest.finishedAt;

    // The re-run's backend fails as it closes: the status on disk then, and after, is the finished run's.
    const seen: string[] = [];
    const failing = async () => {
      const backend = await load();
      const close = backend.close.bind(backend);
      backend.close = async () => {
        seen.push(readManifest(out)!.status);
        await close();
        throw new Error("the engine crashed while closing");
      };
      return backend;
    };
    await expect(runBenchmark({ ...opts, openBackend: failing })).rejects.toThrow("the engine crashed while closing");
    expect(seen).toEqual(["complete"]);
    const after = readManifest(out)!;
    expect(after.status).toBe("complete");
    expect(after.finishedAt).toBe(finishedAt);
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
    expect(recordsOf(out).length).toBe(first.total);
  });
});
