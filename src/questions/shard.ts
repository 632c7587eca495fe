/**
 * Shards: a deterministic 1/N of a run's questions, so one run can be split across machines
 * (`valuelens run --shard I/N`) and joined again (`valuelens merge`).
 *
 * A question's shard is a pure function of its base id (the id without `/r<repeat>`), so every
 * repeat of a question, which share a KV-cache prefix, lands in the same shard; shards never
 * overlap and together cover every question, whatever the dataset or the filters.
 */
import { sha256 } from "../util/hash.js";
import { UserError } from "../util/errors.js";

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** A question id without its repeat suffix: `<protocol>/<task>/<country>/<topic>/<value>[/v<variant>]`. */
export function baseOfId(id: string): string {
  return id.replace(/\/r\d+$/, "");
}

/** The shard (1..count) a question id belongs to: sha256 of its base id, modulo count. */
export function shardOfId(id: string, count: number): number {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`shard count must be a positive integer, got ${count}`);
  // 48 bits of the digest: an exact integer in a double, and bias-free enough for any count.
  const h = parseInt(sha256(baseOfId(id)).slice(0, 12), 16);
  return (h % count) + 1;
}

export function inShard(id: string, shard: Shard | null | undefined): boolean {
  return !shard || shardOfId(id, shard.count) === shard.index;
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** `--shard I/N` with 1 <= I <= N; a one-line UserError otherwise. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UserError(`--shard ${text}: expected I/N, e.g. --shard 1/4 (the first of 4 shards)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UserError(`--shard ${text}: the shard count must be at least 1`);
  if (index < 1 || index > count) throw new UserError(`--shard ${text}: the shard index must lie in 1..${count}`);
  return { index, count };
}

/** How the note on a sharded run begins (merge drops it). */
export const SHARD_NOTE = "Shard";
