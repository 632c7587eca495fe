/**
 * The answer cache: content-addressed, shared across runs, append-only and crash-safe.
 *
 * Layout: `<dir>/answers/<segment>.jsonl`, one file per process that wrote to it, one line
 * per answer: `{"k": key, "v": value, "c": checksum}` where checksum = sha256(key + canonical
 * value) cut to 16 hex digits. A line torn by a crash (no newline, bad JSON, wrong checksum,
 * wrong shape) is skipped and counted, never read as data. Writers never rewrite a line, so
 * two processes sharing a cache cannot corrupt each other's segments. Segments are written
 * through src/util/durableFiles.ts (AppendFile: a line that fails part way is cut off again;
 * fsync'ed at most once a second and on `sync()`, which the runner calls before its manifest
 * records how a session ended); a full or read-only disk is a one-line FileWriteError.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { AppendFile, ensureDir, fileError } from "../util/durableFiles.js";
import { canonicalJson, digestOf, sha256 } from "../util/hash.js";

/** Bumped when what a cached answer means changes; old entries are then simply not found. */
export const CACHE_FORMAT = 1;

const LineSchema = z.object({ k: z.string().regex(/^[0-9a-f]{64}$/), v: z.unknown(), c: z.string().length(16) });

export interface CacheStats {
  dir: string;
  segments: number;
  entries: number;
  bytes: number;
  tornLines: number;
  hits: number;
  misses: number;
  writes: number;
}

/** The key of an answer: sha256 over everything that changes it (see `AnswerKeyParts`). */
export function cacheKey(parts: AnswerKeyParts): string {
  return digestOf({ format: CACHE_FORMAT, ...parts });
}

/** Everything that changes an answer. */
export interface AnswerKeyParts {
  /** Engine, library version, model digest, output-changing load options. */
  backend: Record<string, unknown>;
  /** The exact prompt after the chat template, and how it was split into evaluation segments. */
  prompt: { text: string; segmentEnds: number[] };
  /** "letters" with the letter set, or "generate" with its sampling parameters. */
  answer: Record<string, unknown>;
}

function checksum(key: string, value: unknown): string {
  return sha256(key + canonicalJson(value)).slice(0, 16);
}

export class AnswerCache {
  private readonly entries = new Map<string, unknown>();
  private segment: AppendFile | undefined;
  private stats = { tornLines: 0, hits: 0, misses: 0, writes: 0, segments: 0 };

  private constructor(readonly dir: string) {}

  /** Open (and create) a cache directory, loading every segment. */
  static open(dir: string): AnswerCache {
    const cache = new AnswerCache(path.resolve(dir));
    const answers = path.join(cache.dir, "answers");
    ensureDir(answers);
    for (const name of readdirSync(answers)
      .filter((n) => n.endsWith(".jsonl"))
      .sort()) {
      cache.loadSegment(path.join(answers, name));
      cache.stats.segments += 1;
    }
    return cache;
  }

  private loadSegment(file: string): void {
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    // The last element is "" when the file ends with a newline; otherwise it is a torn line.
    const complete = lines.slice(0, -1);
    if (lines[lines.length - 1] !== "") this.stats.tornLines += 1;
    for (const line of complete) {
      if (line === "") continue;
      let parsed: z.infer<typeof LineSchema>;
      try {
        parsed = LineSchema.parse(JSON.parse(line));
      } catch {
        this.stats.tornLines += 1;
        continue;
      }
      if (checksum(parsed.k, parsed.v) !== parsed.c) {
        this.stats.tornLines += 1;
        continue;
      }
      this.entries.set(parsed.k, parsed.v);
    }
  }

  get(key: string): unknown | undefined {
    const value = this.entries.get(key);
    if (value === undefined) this.stats.misses += 1;
    else this.stats.hits += 1;
    return value;
  }

  /** Forget an entry for this process (a later put writes it anew; the last line of a key wins on load). */
  drop(key: string): void {
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Append an answer and return it as stored (after a JSON round trip, exactly what a later
   * process will read). The line is written whole with one append, ending in a newline.
   */
  put<T>(key: string, value: T): T {
    if (this.entries.has(key)) return this.entries.get(key) as T;
    this.segment ??= new AppendFile(this.createSegment());
    // JSON round trip so what we keep in memory is exactly what a later process will read.
    const stored = JSON.parse(JSON.stringify(value)) as unknown;
    this.segment.append(JSON.stringify({ k: key, v: stored, c: checksum(key, stored) }) + "\n");
    this.entries.set(key, stored);
    this.stats.writes += 1;
    return stored as T;
  }

  /**
   * A new segment file of our own, created exclusively: a torn tail left by a crashed writer
   * (of this or an earlier process, even one that started in the same millisecond) never
   * shares our file.
   */
  private createSegment(): string {
    const stamp = new Date().toISOString().replace(/[-:.TZ]/g, "");
    for (let n = 0; ; n++) {
      const file = path.join(this.dir, "answers", `${stamp}-${process.pid}${n > 0 ? `-${n}` : ""}.jsonl`);
      try {
        closeSync(openSync(file, "wx"));
        return file;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(err, file);
      }
    }
  }

  /** fsync the answers this process appended (its open segment). */
  sync(): void {
    this.segment?.sync();
  }

  /** Close the open segment (a later put opens a new one). Never throws. */
  close(): void {
    this.segment?.close();
    this.segment = undefined;
  }

  summary(): CacheStats {
    const answers = path.join(this.dir, "answers");
    let bytes = 0;
    let segments = 0;
    if (existsSync(answers)) {
      for (const name of readdirSync(answers)) {
        if (!name.endsWith(".jsonl")) continue;
        bytes += statSync(path.join(answers, name)).size;
        segments += 1;
      }
    }
    return {
      dir: this.dir,
      segments,
      entries: this.entries.size,
      bytes,
      tornLines: this.stats.tornLines,
      hits: this.stats.hits,
      misses: this.stats.misses,
      writes: this.stats.writes,
    };
  }
}
