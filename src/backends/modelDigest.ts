import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { sha256File } from "../util/hash.js";

const MemoSchema = z.record(
  z.string(),
  z.object({ size: z.number(), mtimeMs: z.number(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
);

/**
 * sha256 of a model file, computed once and remembered by (absolute path, size, mtime) in
 * `memoFile`, so a 40 GB GGUF is hashed once rather than on every run. A changed file (new
 * size or mtime) is hashed again; a corrupt memo is ignored.
 */
export async function modelDigest(modelPath: string, memoFile?: string): Promise<string> {
  const abs = path.resolve(modelPath);
  const st = statSync(abs);
  let memo: z.infer<typeof MemoSchema> = {};
  if (memoFile && existsSync(memoFile)) {
    const parsed = MemoSchema.safeParse(safeJson(readFileSync(memoFile, "utf8")));
    if (parsed.success) memo = parsed.data;
  }
  const hit = memo[abs];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const digest = await sha256File(abs);
  if (memoFile) {
    memo[abs] = { size: st.size, mtimeMs: st.mtimeMs, sha256: digest };
    mkdirSync(path.dirname(memoFile), { recursive: true });
    const tmp = `${memoFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(memo, null, 1));
    renameSync(tmp, memoFile);
  }
  return digest;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
