// One writer per run directory (issue 10): a second run, a report or a merge into a directory
// another valuelens process is writing is refused in one line naming the holder; the lock goes
// away however the holder ends; a lock left by a process that is gone is taken over.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/records/manifest.js";
import { acquireRunLock, LOCK_FILE, lockHolder } from "../../src/runs/lock.js";
import { UserError } from "../../src/util/errors.js";
import { valuelens, valuelensSpawn } from "../helpers/cli.js";
import { thrown } from "../helpers/errors.js";
import { tinyModelPath } from "../helpers/models.js";
import {
  deterministicOf,
  finished,
  killLeftovers,
  lineCount,
  oneLineError,
  recordsOf,
  SLICE,
  tracked,
  whenLines,
} from "./helpers.js";

// 720 questions: the first run is still answering (seconds) while a second command starts (a second or two).
const RACE = SLICE.map((a, i) => (SLICE[i - 1] === "--repeats" ? "24" : a));

const work = mkdtempSync(path.join(tmpdir(), "vl-one-writer-"));

/** A pid that no process has any more: a process that ran and exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  expect(r.status).toBe(0);
  return r.pid!;
}

function writeLock(
  dir: string,
  holder: { pid: number; hostname: string; startedAt?: string; command?: string },
): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  writeFileSync(
    file,
    JSON.stringify({ startedAt: new Date().toISOString(), command: "valuelens run --model tiny", ...holder }) + "\n",
  );
  return file;
}

describe("the run directory lock (src/runs/lock.ts)", () => {
  it("is exclusive within a process too, released once, and taken again after release", () => {
    const dir = path.join(work, "unit");
    const lock = acquireRunLock(dir, { command: "first" });
    expect(lockHolder(dir)).toMatchObject({ pid: process.pid, hostname: hostname(), command: "first" });
    const err = thrown(() => acquireRunLock(dir, { command: "second" }));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(`pid ${process.pid} on ${hostname()}`);
    expect(err.message).toContain(": first");
    expect(err.message).not.toContain("\n");
    lock.release();
    lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const again = acquireRunLock(dir, { command: "third" });
    expect(lockHolder(dir)!.command).toBe("third");
    again.release();
  });

  it("takes over a stale lock: a dead pid, our own pid left by an earlier process (a restarted container), a pid that now runs something else than Node (pid 1 of a new container)", () => {
    const notes: string[] = [];
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    for (const [name, holder] of [
      ["dead", { pid: deadPid(), hostname: hostname() }],
      ["not-node", { pid: other.pid!, hostname: hostname(), startedAt: new Date(Date.now() + 5000).toISOString() }],
      [
        "reused",
        {
          pid: process.pid,
          hostname: hostname(),
          startedAt: new Date(Date.now() - (process.uptime() + 3600) * 1000).toISOString(),
        },
      ],
    ] as const) {
      const dir = path.join(work, `stale-${name}`);
      writeLock(dir, holder);
      const lock = acquireRunLock(dir, { command: "new holder", log: (l) => notes.push(l) });
      expect(lockHolder(dir)).toMatchObject({ pid: process.pid, command: "new holder" });
      lock.release();
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    }
    other.kill();
    expect(notes).toHaveLength(3);
    for (const n of notes) expect(n).toMatch(/no longer runs; its lock is taken over/);
  });

  it("refuses a lock that is not a valuelens lock, naming the file", () => {
    const dir = path.join(work, "garbage-lock");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, LOCK_FILE), "not json");
    const err = thrown(() => acquireRunLock(dir));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(path.join(dir, LOCK_FILE));
    expect(readFileSync(path.join(dir, LOCK_FILE), "utf8")).toBe("not json");
  });
});

describe("valuelens run: one writer per run directory (tiny model)", () => {
  const cleanDir = path.join(work, "clean");

  beforeAll(async () => {
    await tinyModelPath();
  });
  afterEach(killLeftovers);

  /** The records of an uninterrupted run of RACE (made once, from a warm cache where possible). */
  function clean(cacheDir: string) {
    if (!existsSync(path.join(cleanDir, "manifest.json"))) {
      const r = valuelens(["run", ...RACE, "--out", cleanDir, "--cache-dir", cacheDir]);
      expect(r.code, r.stderr).toBe(0);
    }
    return deterministicOf(cleanDir);
  }

  it("a second run --resume while the first runs is refused in one line; the first ends with exactly the clean run's records", async () => {
    const out = path.join(work, "race-resume");
    const cache = path.join(work, "cache-race-resume"); // cold: the first run takes seconds
    const first = tracked(valuelensSpawn(["run", ...RACE, "--out", out, "--cache-dir", cache]));
    const firstDone = finished(first);
    await whenLines(path.join(out, "records.jsonl"), 5, first);
    const second = valuelens(["run", ...RACE, "--out", out, "--cache-dir", cache, "--resume"]);
    expect(first.exitCode, "the first run ended before the second started: the race was not exercised").toBeNull();
    oneLineError(
      second,
      `${out} is in use by another valuelens process`,
      `pid ${first.pid} on ${hostname()}`,
      "since ",
      "wait for it to finish",
    );
    expect(second.stdout).toBe("");
    const r = await firstDone;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const manifest = readManifest(out)!;
    expect(manifest.status).toBe("complete");
    expect(manifest.sessions).toHaveLength(1);
    expect(lineCount(path.join(out, "records.jsonl"))).toBe(manifest.questions.total);
    expect(deterministicOf(out)).toEqual(clean(cache));
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
  });

  it("two runs started at once into one --out: one runs, the other is refused; one session, the clean records", async () => {
    const out = path.join(work, "race-start");
    const cache = path.join(work, "cache-race-start");
    const a = tracked(valuelensSpawn(["run", ...RACE, "--out", out, "--cache-dir", cache]));
    const b = tracked(valuelensSpawn(["run", ...RACE, "--out", out, "--cache-dir", cache]));
    const results = await Promise.all([finished(a), finished(b)]);
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners, results.map((r) => r.stderr).join("\n")).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const winnerPid = results[0]!.code === 0 ? a.pid : b.pid;
    oneLineError(
      { code: losers[0]!.code, stdout: losers[0]!.stdout, stderr: losers[0]!.stderr },
      "in use by another valuelens process",
      `pid ${winnerPid} `,
    );
    const manifest = readManifest(out)!;
    expect(manifest.status).toBe("complete");
    expect(manifest.sessions).toHaveLength(1);
    expect(deterministicOf(out)).toEqual(clean(cache));
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
  });

  it("SIGTERM stops after the current question: status interrupted, the lock removed, --resume completes", async () => {
    const out = path.join(work, "sigterm");
    const cache = path.join(work, "cache-sigterm");
    const child = tracked(valuelensSpawn(["run", ...RACE, "--out", out, "--cache-dir", cache]));
    const done = finished(child);
    await whenLines(path.join(out, "records.jsonl"), 5, child);
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(true);
    child.kill("SIGTERM");
    const r = await done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stdout).toContain("resume with:");
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
    expect(readManifest(out)!.status).toBe("interrupted");
    const partial = recordsOf(out).length;
    expect(partial).toBeLessThan(readManifest(out)!.questions.total);
    const resumed = valuelens(["run", ...RACE, "--out", out, "--cache-dir", cache, "--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`${readManifest(out)!.questions.total - partial} answered`);
    expect(deterministicOf(out)).toEqual(clean(cache));
  });

  it("a lock left by a killed run (its pid gone) is taken over with a note; the resumed run completes and removes it", async () => {
    const out = path.join(work, "killed");
    const cache = path.join(work, "cache-killed");
    const child = tracked(valuelensSpawn(["run", ...RACE, "--out", out, "--cache-dir", cache]));
    const done = finished(child);
    await whenLines(path.join(out, "records.jsonl"), 5, child);
    child.kill("SIGKILL");
    await done;
    const stale = lockHolder(out);
    expect(stale?.pid).toBe(child.pid);
    const resumed = valuelens(["run", ...RACE, "--out", out, "--cache-dir", cache, "--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `${out} was locked by pid ${child.pid} (since ${stale!.startedAt}), which no longer runs; its lock is taken over`,
    );
    expect(existsSync(path.join(out, LOCK_FILE))).toBe(false);
    expect(readManifest(out)!.status).toBe("complete");
    expect(deterministicOf(out)).toEqual(clean(cache));
  });

  it("a live holder or another host's lock refuses run, report and merge --out, and they write nothing", () => {
    const cache = path.join(work, "cache-race-resume");
    clean(cache);
    const before = (f: string) => readFileSync(path.join(cleanDir, f));
    const files = ["manifest.json", "records.jsonl", "metrics.json", "report.md"];
    const snapshot = files.map(before);
    for (const [holder, needles] of [
      [
        { pid: process.pid, hostname: hostname() },
        ["in use by another valuelens process", `pid ${process.pid} on ${hostname()}`],
      ],
      [
        { pid: 4242, hostname: "gpu-box-7" },
        ["locked by a valuelens process on another host", "pid 4242 on gpu-box-7", "if that process is gone, delete"],
      ],
    ] as const) {
      const lockFile = writeLock(cleanDir, holder);
      const lockText = readFileSync(lockFile, "utf8");
      const line = oneLineError(valuelens(["run", ...RACE, "--out", cleanDir, "--cache-dir", cache]), ...needles);
      if (holder.hostname !== hostname()) expect(line).toContain(`delete ${lockFile}`);
      oneLineError(valuelens(["report", cleanDir, "--quiet"]), ...needles, "then run valuelens report again");
      oneLineError(valuelens(["report", cleanDir, "--format", "csv"]), ...needles);
      // The lock is left to its holder.
      expect(readFileSync(lockFile, "utf8")).toBe(lockText);
      expect(files.map(before)).toEqual(snapshot);
      expect(existsSync(path.join(cleanDir, "tables"))).toBe(false);

      const mergeOut = path.join(work, `merge-into-locked-${holder.pid}`);
      writeLock(mergeOut, holder);
      oneLineError(valuelens(["merge", cleanDir, "--out", mergeOut]), ...needles, "merge into another --out");
      expect(existsSync(path.join(mergeOut, "manifest.json"))).toBe(false);
      expect(existsSync(path.join(mergeOut, LOCK_FILE))).toBe(true);
    }
    // Once the holder is gone (its lock deleted by hand for another host), the report runs again.
    writeLock(cleanDir, { pid: deadPid(), hostname: hostname() });
    const r = valuelens(["report", cleanDir, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("its lock is taken over");
    expect(existsSync(path.join(cleanDir, LOCK_FILE))).toBe(false);
  });

  it("the lock is removed when a run is refused and when a report or merge ends (normally or with an error)", () => {
    const cache = path.join(work, "cache-race-resume");
    clean(cache);
    const other = valuelens(["run", ...RACE, "--seed", "12", "--out", cleanDir, "--cache-dir", cache]);
    oneLineError(other, "different config", "seed");
    expect(existsSync(path.join(cleanDir, LOCK_FILE))).toBe(false);
    expect(valuelens(["report", cleanDir, "--quiet"]).code).toBe(0);
    expect(existsSync(path.join(cleanDir, LOCK_FILE))).toBe(false);
    const merged = path.join(work, "merged-clean");
    const m = valuelens(["merge", cleanDir, "--out", merged, "--bootstrap", "0"]);
    expect(m.code, m.stderr).toBe(0);
    expect(existsSync(path.join(merged, LOCK_FILE))).toBe(false);
    expect(deterministicOf(merged)).toEqual(deterministicOf(cleanDir));
    const failedMerge = path.join(work, "merged-fails");
    oneLineError(
      valuelens(["merge", cleanDir, path.join(work, "nowhere"), "--out", failedMerge]),
      "not a run directory",
    );
    expect(existsSync(failedMerge)).toBe(false);
  });
});
