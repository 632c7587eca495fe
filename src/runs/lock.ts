/**
 * One writer per run directory: `<dir>/.lock`.
 *
 * Every command that writes into a run directory (`run`, `merge --out`, `report`, `import`)
 * holds the directory's lock while it works. The lock file is created exclusively (a complete
 * file hard-linked into place, so a reader never sees it half written) and holds the holder's
 * pid, host, start time and command. It is removed when the command ends: normally, on an error,
 * on Ctrl-C and on SIGTERM (and on `process.exit`).
 *
 * A lock left by a process that no longer runs on this host (killed, crashed, the machine
 * rebooted) is stale: the next command takes it over and says so. A live holder, or a lock
 * made on another host (valuelens cannot tell whether that process still runs), is refused in
 * one line naming the holder and what to do.
 */
import {
  closeSync,
  existsSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { hostname as osHostname } from "node:os";
import path from "node:path";
import { ensureDir, fileError, injectedFault, removeLeftoverTempFiles, unlinkQuietly } from "../util/durableFiles.js";
import { UserError } from "../util/errors.js";

export const LOCK_FILE = ".lock";

/** Files of the locking itself: never content of a run directory. */
export function isLockFile(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`);
}

export interface LockHolder {
  pid: number;
  hostname: string;
  /** When the lock was taken (ISO time). */
  startedAt: string;
  /** The command line that holds it. */
  command: string;
}

export interface RunLock {
  dir: string;
  file: string;
  holder: LockHolder;
  /** Remove the lock (only if it is still ours). Idempotent. */
  release(): void;
}

export interface LockOptions {
  /** The holder's command line (default: this process's, as `valuelens ...`). */
  command?: string;
  /** Where the note about a stale lock taken over goes (default stderr). */
  log?: (line: string) => void;
  /** What to do instead, for the refusal (default "wait for it to finish, or choose another --out"). */
  advice?: string;
}

/** Locks held by this process: file -> its content. */
const held = new Map<string, string>();

/**
 * Take the lock of `dir` (created if missing). Throws a one-line UserError naming the holder
 * when another live process holds it; takes over a stale one.
 */
export function acquireRunLock(dir: string, opts: LockOptions = {}): RunLock {
  const abs = path.resolve(dir);
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  ensureDir(abs); // a file in the way, a read-only or full disk: one line naming it (FileWriteError)
  const file = path.join(abs, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: new Date().toISOString(),
    command: opts.command ?? commandLine(),
  };
  const content = JSON.stringify(holder) + "\n";
  const tmp = path.join(abs, `${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    const fault = injectedFault(path.join(abs, LOCK_FILE), "write");
    if (fault) throw fault;
    writeFileSync(tmp, content);
  } catch (err) {
    unlinkQuietly(tmp);
    const mapped = fileError(err, abs);
    if (mapped !== err) throw mapped;
    throw new UserError(
      `cannot write the lock file in ${abs}: ${errorText(err)}; valuelens writes into the run directory, so it must be writable (copy it elsewhere, or choose another directory)`,
    );
  }
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (placeExclusively(tmp, file, content)) return register(abs, file, holder, content);
      const current = readLock(file);
      if (current === "gone") continue; // released meanwhile: try again
      const state = current.holder ? holderState(current.holder) : "unreadable";
      if (state === "alive" || state === "other-host" || state === "unreadable")
        throw refusal(
          abs,
          file,
          current.holder,
          state,
          opts.advice ?? "wait for it to finish, or choose another --out",
        );
      // Stale: take it over, one process at a time (the takeover file is a short-lived mutex).
      const mutex = `${file}.takeover`;
      if (!placeExclusively(tmp, mutex, content)) {
        const other = readLock(mutex);
        if (other !== "gone" && other.holder && holderState(other.holder) === "dead") unlinkQuietly(mutex);
        sleep(20);
        continue;
      }
      try {
        const again = readLock(file);
        if (again !== "gone" && again.raw === current.raw) {
          unlinkQuietly(file);
          const h = current.holder!;
          log(
            `note: ${abs} was locked by pid ${h.pid} (since ${h.startedAt}), which no longer runs; its lock is taken over`,
          );
        }
        if (placeExclusively(tmp, file, content)) return register(abs, file, holder, content);
      } finally {
        unlinkQuietly(mutex);
      }
    }
    throw new UserError(`could not lock ${abs}: other valuelens processes keep taking ${file}; try again`);
  } finally {
    unlinkQuietly(tmp);
  }
}

/**
 * Run `fn` holding the lock of `dir`. A directory this call created is removed again when
 * `fn` left it empty (e.g. it failed before writing anything).
 */
export async function withRunLock<T>(dir: string, opts: LockOptions, fn: () => T | Promise<T>): Promise<T> {
  const existed = existsSync(dir);
  const lock = acquireRunLock(dir, opts);
  try {
    // Half-written files of a writer that was killed (their targets are whole): the lock holder clears them.
    removeLeftoverTempFiles(lock.dir, ["charts", "tables"]);
    return await fn();
  } finally {
    lock.release();
    if (!existed) removeIfEmpty(lock.dir);
  }
}

/** The holder of a directory's lock, when there is a readable one. */
export function lockHolder(dir: string): LockHolder | undefined {
  const current = readLock(path.join(path.resolve(dir), LOCK_FILE));
  return current === "gone" ? undefined : current.holder;
}

function register(dir: string, file: string, holder: LockHolder, content: string): RunLock {
  held.set(file, content);
  installHandlers();
  let released = false;
  return {
    dir,
    file,
    holder,
    release() {
      if (released) return;
      released = true;
      releaseFile(file);
      if (held.size === 0) removeHandlers();
    },
  };
}

/** Remove a lock file of ours (one taken over by someone else since is left alone). */
function releaseFile(file: string): void {
  const content = held.get(file);
  held.delete(file);
  if (content === undefined) return;
  const current = readLock(file);
  if (current !== "gone" && current.raw === content) unlinkQuietly(file);
}

function releaseAll(): void {
  for (const file of [...held.keys()]) releaseFile(file);
}

/**
 * Put `content` at `file` only if nothing is there: a hard link of the complete temporary file
 * (atomic, never half written); where the file system has no hard links, an O_EXCL create.
 */
function placeExclusively(tmp: string, file: string, content: string): boolean {
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS")
      throw lockError(file, err);
  }
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw lockError(file, err);
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** A lock file's text and holder; "gone" when there is none. An O_EXCL lock being written is waited for briefly. */
function readLock(file: string): "gone" | { raw: string; holder: LockHolder | undefined } {
  for (let i = 0; ; i++) {
    let raw: string;
    try {
      raw = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
      throw lockError(file, err);
    }
    const holder = parseHolder(raw);
    if (holder || i >= 10) return { raw, holder };
    sleep(20);
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const h = JSON.parse(raw) as Partial<LockHolder>;
    if (
      typeof h.pid === "number" &&
      Number.isInteger(h.pid) &&
      h.pid > 0 &&
      typeof h.hostname === "string" &&
      typeof h.startedAt === "string"
    ) {
      return {
        pid: h.pid,
        hostname: h.hostname,
        startedAt: h.startedAt,
        command: typeof h.command === "string" ? h.command : "",
      };
    }
  } catch {
    // not a lock of ours
  }
  return undefined;
}

type HolderState = "alive" | "dead" | "other-host";

/**
 * Whether the holder still runs. On this host: its pid exists and (on Linux) that process
 * started before the lock was taken, so a pid reused since (a container restarted, the machine
 * rebooted) does not keep a stale lock alive. Another host: not knowable from here.
 */
function holderState(h: LockHolder): HolderState {
  if (h.hostname !== osHostname()) return "other-host";
  const lockedAt = Date.parse(h.startedAt);
  if (h.pid === process.pid) {
    // This very process (another lock call of it), or an earlier process that had our pid.
    const myStart = Date.now() - process.uptime() * 1000;
    return Number.isFinite(lockedAt) && lockedAt < myStart - 2000 ? "dead" : "alive";
  }
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return "dead";
    // EPERM: it exists (another user's process)
  }
  const started = processStartTime(h.pid);
  if (started !== undefined && Number.isFinite(lockedAt) && started > lockedAt + 2000) return "dead"; // the pid was reused
  // The pid now runs something that is not Node (pid 1 of a new container, an init system):
  // the valuelens process that locked is gone.
  const command = processCommand(h.pid);
  if (command !== undefined && !/node|valuelens/i.test(command)) return "dead";
  return "alive";
}

/** A process's command line (Linux /proc); undefined where it cannot be read. */
function processCommand(pid: number): string | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return cmdline === "" ? undefined : cmdline;
  } catch {
    return undefined;
  }
}

/** When a process started (ms since the epoch), from /proc on Linux; undefined elsewhere. */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]); // field 22 of stat: start time in clock ticks after boot
    const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    if (!Number.isFinite(ticks) || !btime) return undefined;
    return (Number(btime[1]) + ticks / 100) * 1000; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

function refusal(
  dir: string,
  file: string,
  h: LockHolder | undefined,
  state: HolderState | "unreadable",
  advice: string,
): UserError {
  if (!h)
    return new UserError(
      `${dir} is locked (${file} exists but is not a valuelens lock); if no valuelens process is using ${dir}, delete ${file} and try again`,
    );
  const who = `pid ${h.pid} on ${h.hostname}, since ${h.startedAt}${h.command ? `: ${shorten(h.command)}` : ""}`;
  if (state === "other-host") {
    return new UserError(
      `${dir} is locked by a valuelens process on another host (${who}); ${advice}; if that process is gone, delete ${file}`,
    );
  }
  return new UserError(`${dir} is in use by another valuelens process (${who}); ${advice}`);
}

function shorten(command: string): string {
  return command.length > 160 ? `${command.slice(0, 157)}...` : command;
}

function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a));
  return ["valuelens", ...args].join(" ");
}

function lockError(file: string, err: unknown): UserError {
  return new UserError(`cannot use the lock file ${file}: ${errorText(err)}; the run directory must be writable`);
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}` : String(e.message ?? err).split("\n")[0]!;
}

function removeIfEmpty(dir: string): void {
  try {
    if (statSync(dir).isDirectory() && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // leave it: an empty directory never blocks a later command
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Releasing on the way out. `exit` covers normal ends, errors and process.exit. A signal no one
// else handles (report, merge, import) releases the locks and ends the process as the signal
// would; where the command handles it itself (run: Ctrl-C / SIGTERM stop after the current
// question), it is left to the command, whose normal end releases the lock.
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type LockSignal = keyof typeof SIGNALS;
const signalHandlers = new Map<LockSignal, () => void>();

function onExit(): void {
  releaseAll();
}

function installHandlers(): void {
  if (signalHandlers.size > 0) return;
  process.on("exit", onExit);
  for (const signal of Object.keys(SIGNALS) as LockSignal[]) {
    const handler = () => {
      if (process.listenerCount(signal) > 1) return; // the command handles it
      releaseAll();
      process.exit(128 + SIGNALS[signal]);
    };
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
}

function removeHandlers(): void {
  process.off("exit", onExit);
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  signalHandlers.clear();
}
