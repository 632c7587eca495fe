/**
 * Durable writes: the one way valuelens writes a run directory, the answer cache, a merged run
 * and report outputs.
 *
 * - `writeFileAtomic(file, data)`: a whole file (manifest.json, a sorted records.jsonl,
 *   metrics.json, report.md, charts, tables). Written to `<file>.<pid>.tmp` in the same
 *   directory, fsync'ed, renamed over `file`, then the directory is fsync'ed (where the platform
 *   allows). A reader, a crash or a power loss sees the old file or the new one, never a mix;
 *   on any failure the temporary file is removed and the error is thrown.
 * - `AppendFile`: an append-only file (records.jsonl, a cache segment), one fd kept open. Each
 *   chunk (a line) is written whole; a chunk that fails part way is cut off again, so the file
 *   always ends on a whole line, and the writer refuses later appends with the same error.
 *   `sync()` fsyncs it (and its directory the first time); appends are also fsync'ed at most
 *   once a second (`syncEveryMs`), never per line. The runner syncs records.jsonl and the open
 *   cache segment before the manifest says anything further and before records.jsonl is renamed.
 * - `ensureDir(dir)`: a directory, created where missing.
 *
 * Every file-system failure of these (and of `fileError`) that the user can act on (ENOSPC,
 * EDQUOT, EROFS, EACCES, EPERM, ENOTDIR, EISDIR, EEXIST where a directory is expected, EIO)
 * becomes a `FileWriteError`: a one-line UserError that names the file and says what to do,
 * which a command may decorate (`withNext`) with how to continue (`valuelens run`: the resume
 * command).
 *
 * Fault injection (tests only), in the manner of SQLite's test VFS: `VALUELENS_FAULTS` holds
 * rules separated by ";", each `CODE:MATCH[:after=N][:on=OPS]`:
 * - CODE: the errno to fail with (ENOSPC, EROFS, EIO, ...);
 * - MATCH: the paths it applies to: with a "/", a path and everything under it (a full disk, a
 *   read-only mount); without one, a file or directory name anywhere in the path
 *   (`records.jsonl`, `metrics.json`, `answers`);
 * - after=N: the first N matching operations succeed, every later one fails (default 0: a disk
 *   stays full);
 * - on=OPS: which operations, joined by "+": write (data written: a whole file, an appended
 *   chunk, a lock file), mkdir (a directory created), fsync (default write+mkdir).
 * A failing write writes half its data first (a short write, as on a real full disk), so the
 * clean-up paths run. Counts are per process. Unset (every normal run), it costs nothing.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { AsyncLocalStorage } from "node:async_hooks";
import { constants as osConstants } from "node:os";
import path from "node:path";
import { UserError } from "./errors.js";

/** What each error means and what the user can do about it. */
const ERRNO: Record<string, { what: string; fix: string }> = {
  ENOSPC: { what: "no space left on device", fix: "free space on that disk" },
  EDQUOT: { what: "disk quota exceeded", fix: "free space or raise the disk quota" },
  EIO: { what: "input/output error", fix: "check the disk (dmesg, fsck) or use another one" },
  EROFS: { what: "read-only file system", fix: "remount it read-write (or copy the directory to a writable disk)" },
  EACCES: { what: "permission denied", fix: "give this user write access to it" },
  EPERM: { what: "operation not permitted", fix: "give this user write access to it" },
  ENOTDIR: { what: "exists and is not a directory", fix: "move that file away or choose another directory" },
  EEXIST: { what: "exists and is not a directory", fix: "move that file away or choose another directory" },
  EISDIR: { what: "is a directory", fix: "move that directory away" },
  ENOENT: {
    what: "a directory on the way is missing (removed, a dangling symbolic link, or on a file system such as /proc that cannot hold one)",
    fix: "create it or choose a directory on a real disk",
  },
  ELOOP: { what: "is a loop of symbolic links", fix: "fix the link or choose another directory" },
};

export const DEFAULT_NEXT = "run the command again";

/** A file could not be written (or a directory made): one line naming it, the cause and what to do. */
export class FileWriteError extends UserError {
  constructor(
    /** The file (or directory) the user must act on, as shown. */
    readonly file: string,
    readonly code: string,
    /** How to continue once fixed ("then <next>"). */
    readonly next: string = DEFAULT_NEXT,
  ) {
    const e = ERRNO[code] ?? { what: "cannot be written", fix: "fix it" };
    super(`${file}: ${e.what} (${code}); ${e.fix}, then ${next}`);
    this.name = "FileWriteError";
  }

  /** The same error with another way to continue, and the file shown another way (e.g. relative). */
  withNext(next: string, show: (file: string) => string = (f) => f): FileWriteError {
    return new FileWriteError(show(this.file), this.code, next);
  }
}

/** `err` as a FileWriteError naming `file` when it is one of the mapped file-system errors; else `err` itself. */
export function fileError(err: unknown, file: string): unknown {
  if (err instanceof FileWriteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !(code in ERRNO)) return err;
  if (code === "ENOTDIR" || code === "EEXIST") return new FileWriteError(blockingFile(file) ?? file, code);
  return new FileWriteError(file, code);
}

/** The first path on the way to `target` that exists and is not a directory (what blocks a mkdir). */
function blockingFile(target: string): string | undefined {
  const chain: string[] = [];
  for (let p = path.resolve(target); ; p = path.dirname(p)) {
    chain.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of chain) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A directory, created (with its parents) where missing. A file in the way is a FileWriteError naming it. */
export function ensureDir(dir: string): void {
  try {
    if (existsSync(dir) && statSync(dir).isDirectory()) return;
    const fault = injectedFault(dir, "mkdir");
    if (fault) throw fault;
    makeDirs(dir);
  } catch (err) {
    throw fileError(err, dir);
  }
}

/**
 * mkdir -p, one level at a time from the first ancestor that exists: Node's own recursive
 * mkdirSync loops forever at 100 % CPU under /proc (`--out /proc/x`). A dangling symbolic link
 * on the way fails with ENOENT (mkdir of it is EEXIST, of anything under it ENOENT).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    missing.push(d);
    if (path.dirname(d) === d) break;
  }
  // It exists, and is not a directory (ensureDir returns early for a directory).
  if (missing.length === 0) throw Object.assign(new Error(`${dir} exists`), { code: "EEXIST" });
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      // Made meanwhile by another process (a directory now): fine; a dangling link: say so.
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !existsSync(d) || !statSync(d).isDirectory())
        throw (err as NodeJS.ErrnoException).code === "EEXIST" && !existsSync(d)
          ? Object.assign(new Error(`dangling link ${d}`), { code: "ENOENT" })
          : err;
    }
  }
}

/** Renames that writeFileAtomic leaves to the end of a `withStagedWrites` (all files, or none). */
const staged = new AsyncLocalStorage<{ renames: [tmp: string, file: string][] }>();

/**
 * Run `fn` with every writeFileAtomic in it staged: each file is written whole to its temporary
 * name and fsync'ed, and only when `fn` has succeeded are they all renamed into place. If any
 * write fails, the temporary files go and every old file stays: a report's outputs (metrics,
 * report.md, figures, report.html) are all new or all old, never a mix (a full disk mid-report).
 */
export async function withStagedWrites<T>(fn: () => Promise<T>): Promise<T> {
  const batch = { renames: [] as [string, string][] };
  let result: T;
  try {
    result = await staged.run(batch, fn);
  } catch (err) {
    for (const [tmp] of batch.renames) unlinkQuietly(tmp);
    throw err;
  }
  const dirs = new Set<string>();
  for (const [tmp, file] of batch.renames) {
    try {
      renameSync(tmp, file);
    } catch (err) {
      throw fileError(err, file);
    }
    dirs.add(path.dirname(file));
  }
  for (const dir of dirs) syncDir(dir);
  return result;
}

/** Write `file` whole, atomically and durably (see the module comment). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const batch = staged.getStore();
  const tmp = batch ? `${file}.${process.pid}.${batch.renames.length}.tmp` : `${file}.${process.pid}.tmp`;
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w");
    writeAll(fd, buf, file);
    syncFd(fd, file);
    closeSync(fd);
    fd = undefined;
    if (batch) {
      batch.renames.push([tmp, file]);
      return;
    }
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) closeQuietly(fd);
    unlinkQuietly(tmp);
    throw fileError(err, file);
  }
  syncDir(path.dirname(file));
}

export interface AppendFileOptions {
  /** fsync after an append when the last fsync is at least this old (default 1000 ms; Infinity: only on sync()). */
  syncEveryMs?: number;
}

/** An append-only file of whole chunks (lines); see the module comment. Opened on the first append. */
export class AppendFile {
  private fd: number | undefined;
  /** Bytes known to be whole chunks (where a failed append is cut back to). */
  private size = 0;
  private broken: unknown;
  private lastSync = Date.now();
  private dirty = false;
  private dirSynced = false;
  private readonly syncEveryMs: number;

  constructor(
    readonly file: string,
    opts: AppendFileOptions = {},
  ) {
    this.syncEveryMs = opts.syncEveryMs ?? 1000;
  }

  append(chunk: string): void {
    if (this.broken) throw this.broken;
    const buf = Buffer.from(chunk);
    try {
      if (this.fd === undefined) {
        this.fd = openSync(this.file, "a");
        this.size = fstatSync(this.fd).size;
      }
      writeAll(this.fd, buf, this.file);
      this.size += buf.length;
      this.dirty = true;
    } catch (err) {
      // A short write (a disk full part way): cut it off so the file ends on a whole chunk.
      if (this.fd !== undefined) {
        try {
          ftruncateSync(this.fd, this.size);
        } catch {
          // a torn last line is still cut off when the file is read again
        }
      }
      this.broken = fileError(err, this.file);
      throw this.broken;
    }
    if (Date.now() - this.lastSync >= this.syncEveryMs) this.sync();
  }

  /** fsync what was appended (and, the first time, the directory that holds the file). */
  sync(): void {
    if (this.fd === undefined || !this.dirty) return;
    try {
      syncFd(this.fd, this.file);
    } catch (err) {
      this.broken = fileError(err, this.file);
      throw this.broken;
    }
    this.dirty = false;
    this.lastSync = Date.now();
    if (!this.dirSynced) {
      syncDir(path.dirname(this.file));
      this.dirSynced = true;
    }
  }

  /** Close the file (without syncing; call sync() first where it matters). Idempotent, never throws. */
  close(): void {
    if (this.fd !== undefined) closeQuietly(this.fd);
    this.fd = undefined;
  }
}

function writeAll(fd: number, buf: Uint8Array, file: string): void {
  let off = 0;
  const fault = injectedFault(file, "write");
  if (fault) {
    const half = Math.floor(buf.length / 2);
    while (off < half) off += writeSync(fd, buf, off, half - off);
    throw fault;
  }
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function syncFd(fd: number, file: string): void {
  const fault = injectedFault(file, "fsync");
  if (fault) throw fault;
  fsyncSync(fd);
}

/** fsync a directory, so a rename or a new file in it survives a power loss. Not possible everywhere: then skipped. */
function syncDir(dir: string): void {
  if (process.platform === "win32") return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EIO") throw fileError(err, dir);
    // EINVAL, EPERM, EISDIR, ...: this file system cannot sync a directory
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Remove a file if it is there; a file already gone is no error. */
export function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // never created, or already gone
  }
}

// ---- fault injection (tests only; see the module comment) ----

export type FaultOp = "write" | "mkdir" | "fsync";

interface FaultRule {
  code: string;
  errno: number;
  match: string;
  byPath: boolean;
  after: number;
  ops: Set<FaultOp>;
  seen: number;
}

let rules: FaultRule[] | undefined;
let rulesFrom: string | undefined;

/** The rules of VALUELENS_FAULTS (parsed again when it changes). */
function faultRules(): FaultRule[] {
  const spec = process.env.VALUELENS_FAULTS ?? "";
  if (rules && rulesFrom === spec) return rules;
  rulesFrom = spec;
  rules = parseFaults(spec);
  return rules;
}

/** Parse a VALUELENS_FAULTS value; a malformed rule is an error (a test that injects nothing would prove nothing). */
export function parseFaults(spec: string): FaultRule[] {
  const out: FaultRule[] = [];
  for (const raw of spec
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = raw.indexOf(":");
    const code = colon === -1 ? raw : raw.slice(0, colon);
    let rest = colon === -1 ? "" : raw.slice(colon + 1);
    let after = 0;
    let ops = new Set<FaultOp>(["write", "mkdir"]);
    for (let m = /:(after|on)=([^:]*)$/.exec(rest); m; m = /:(after|on)=([^:]*)$/.exec(rest)) {
      if (m[1] === "after") {
        if (!/^\d+$/.test(m[2]!)) throw new UserError(`VALUELENS_FAULTS: "${raw}": after= takes a whole number`);
        after = Number(m[2]);
      } else {
        const named = m[2]!.split("+");
        if (named.some((o) => o !== "write" && o !== "mkdir" && o !== "fsync"))
          throw new UserError(`VALUELENS_FAULTS: "${raw}": on= takes write, mkdir, fsync (joined by +)`);
        ops = new Set(named as FaultOp[]);
      }
      rest = rest.slice(0, m.index);
    }
    const errno = (osConstants.errno as Record<string, number | undefined>)[code];
    if (!/^E[A-Z0-9]+$/.test(code) || errno === undefined)
      throw new UserError(`VALUELENS_FAULTS: "${raw}": ${code} is not an errno name (e.g. ENOSPC)`);
    if (rest === "")
      throw new UserError(`VALUELENS_FAULTS: "${raw}": name the file or directory (CODE:MATCH[:after=N][:on=OPS])`);
    const byPath = rest.includes("/") || rest.includes(path.sep);
    out.push({ code, errno, match: byPath ? path.resolve(rest) : rest, byPath, after, ops, seen: 0 });
  }
  return out;
}

function matches(rule: FaultRule, file: string): boolean {
  const abs = path.resolve(file);
  if (rule.byPath)
    return abs === rule.match || abs.startsWith(rule.match.endsWith(path.sep) ? rule.match : rule.match + path.sep);
  return abs.split(path.sep).includes(rule.match);
}

/**
 * The error an injected fault makes this operation fail with, if any (counting the operation
 * against every rule it matches). Exported for the few writers outside this module (the lock file).
 */
export function injectedFault(file: string, op: FaultOp): NodeJS.ErrnoException | undefined {
  if (!process.env.VALUELENS_FAULTS) return undefined;
  let fault: NodeJS.ErrnoException | undefined;
  for (const rule of faultRules()) {
    if (!rule.ops.has(op) || !matches(rule, file)) continue;
    rule.seen += 1;
    if (rule.seen > rule.after && !fault) {
      const syscall = op === "mkdir" ? "mkdir" : op === "fsync" ? "fsync" : "write";
      fault = Object.assign(new Error(`${rule.code}: injected by VALUELENS_FAULTS, ${syscall} '${file}'`), {
        code: rule.code,
        errno: -rule.errno,
        syscall,
        path: file,
      });
    }
  }
  return fault;
}

/** A file `writeFileAtomic` was writing: `<name>.<pid>.tmp`. */
export function isAtomicTempFile(name: string): boolean {
  return /\.\d+\.tmp$/.test(name);
}

/**
 * Remove what atomic writes of a killed process left in `dir` and the given subdirectories
 * (`<name>.<pid>.tmp`; the files they were replacing are whole). Only the holder of the run
 * directory's lock calls this, so no live writer owns them. Returns how many were removed.
 */
export function removeLeftoverTempFiles(dir: string, subdirs: readonly string[] = []): number {
  let removed = 0;
  for (const d of [dir, ...subdirs.map((s) => path.join(dir, s))]) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isAtomicTempFile(name)) continue;
      try {
        unlinkSync(path.join(d, name));
        removed += 1;
      } catch {
        // left for the next writer; it never reads them
      }
    }
  }
  return removed;
}
