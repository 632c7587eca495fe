/**
 * sha256 of a model file, computed once and remembered in `memoFile`, so a 40 GB GGUF is
 * hashed once rather than on every run.
 *
 * The memo is keyed by the absolute path and trusted only while the file still has the same
 * size, mtime, ctime, inode and device, and the same content sample: the sha256 of its first
 * and last MiB and of 8 MiB-sized blocks at fixed fractions of its size (a file of at most
 * 10 MiB is sampled whole). So a different file put in its place is hashed again even when
 * its size and mtime were restored (`cp -p`, `rsync -a`, `touch -r`): copying over it or
 * renaming onto it changes its ctime (userland cannot set ctime) or its inode, and a file
 * from elsewhere almost always differs in the sampled bytes (the GGUF header and metadata are
 * in the first MiB).
 *
 * What it still trusts: that a file whose path, size, mtime, ctime, inode and device are all
 * unchanged, and whose sampled bytes are unchanged, has unchanged content. That fails only for
 * an edit in place confined to unsampled bytes on a filesystem that does not keep ctime (or
 * with the system clock turned back to the old ctime). Delete the memo file
 * (`<cache-dir>/model-digests.json`) to have every model hashed again in full.
 * A corrupt memo, or an entry written by an older valuelens (without these fields), is a miss.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, type BigIntStats } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ensureDir, FileWriteError, writeFileAtomic } from "../util/durableFiles.js";
import { sha256, sha256File } from "../util/hash.js";

const MemoEntrySchema = z.object({
  size: z.number(),
  /** mtime, ctime (nanoseconds), inode and device as decimal strings (exact). */
  mtimeNs: z.string(),
  ctimeNs: z.string(),
  ino: z.string(),
  dev: z.string(),
  /** sha256 of the content sample (`contentSample`). */
  sample: z.string().regex(/^[0-9a-f]{64}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
type MemoEntry = z.infer<typeof MemoEntrySchema>;

/** Bytes per sampled block. */
export const SAMPLE_BLOCK = 1024 * 1024;
/** Blocks sampled between the first and the last, at offsets floor(size * k / (n + 1)), k = 1..n. */
export const SAMPLE_INNER_BLOCKS = 8;

/**
 * sha256 of a model file, from the memo when the file is provably the one hashed before (see
 * the module comment), else hashed in full and remembered.
 */
export async function modelDigest(modelPath: string, memoFile?: string): Promise<string> {
  const abs = path.resolve(modelPath);
  const st = statSync(abs, { bigint: true });
  const memo = memoFile ? readMemo(memoFile) : {};
  const identity = fileIdentity(st);
  const hit = memo[abs];
  const sample = contentSample(abs, Number(st.size));
  if (hit && sameFile(hit, identity) && hit.sample === sample) return hit.sha256;
  const digest = await sha256File(abs);
  if (memoFile) {
    // The file as it is after hashing: one changed meanwhile gets hashed again next time.
    const after = fileIdentity(statSync(abs, { bigint: true }));
    if (sameFile(after, identity)) {
      memo[abs] = { ...identity, sample, sha256: digest };
      try {
        ensureDir(path.dirname(memoFile));
        writeFileAtomic(memoFile, JSON.stringify(memo, null, 1));
      } catch (err) {
        // Only a memo: a full or read-only disk costs a hash next time, not this run.
        if (!(err instanceof FileWriteError)) throw err;
      }
    }
  }
  return digest;
}

type FileIdentity = Omit<MemoEntry, "sample" | "sha256">;

function fileIdentity(st: BigIntStats): FileIdentity {
  return {
    size: Number(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
    ino: String(st.ino),
    dev: String(st.dev),
  };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

/**
 * sha256 of the size and the sampled blocks: the first and last SAMPLE_BLOCK bytes and
 * SAMPLE_INNER_BLOCKS blocks at fixed fractions of the size; the whole file when it is no
 * larger than all the blocks together.
 */
export function contentSample(file: string, size: number): string {
  const blocks = SAMPLE_INNER_BLOCKS + 2;
  const offsets =
    size <= blocks * SAMPLE_BLOCK
      ? [0]
      : [
          0,
          ...Array.from({ length: SAMPLE_INNER_BLOCKS }, (_, i) =>
            Math.floor((size * (i + 1)) / (SAMPLE_INNER_BLOCKS + 1)),
          ),
          size - SAMPLE_BLOCK,
        ];
  const length = size <= blocks * SAMPLE_BLOCK ? size : SAMPLE_BLOCK;
  const fd = openSync(file, "r");
  try {
    const parts: Buffer[] = [Buffer.from(`size ${size}\n`)];
    for (const offset of offsets) {
      const buf = Buffer.alloc(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      parts.push(Buffer.from(`${offset} ${got}\n`), buf.subarray(0, got));
    }
    return sha256(Buffer.concat(parts));
  } finally {
    closeSync(fd);
  }
}

/** The memo's valid entries; anything else (corrupt JSON, older entries) is left out. */
function readMemo(memoFile: string): Record<string, MemoEntry> {
  if (!existsSync(memoFile)) return {};
  const json = safeJson(readFileSync(memoFile, "utf8"));
  if (json === null || typeof json !== "object" || Array.isArray(json)) return {};
  const memo: Record<string, MemoEntry> = {};
  for (const [key, value] of Object.entries(json)) {
    const parsed = MemoEntrySchema.safeParse(value);
    if (parsed.success) memo[key] = parsed.data;
  }
  return memo;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
