// Deterministic pseudo-random weights. Pure 32-bit integer arithmetic (mulberry32) plus one
// float multiply per value, no Math.log/cos, so values are identical on every platform.

/** FNV-1a 32-bit hash of a string (used to derive per-tensor seeds from names). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The generator seed of one tensor, so its values do not depend on the order tensors are written. */
export function tensorSeed(seed: number, name: string): number {
  return (fnv1a32(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
}

/** sqrt(3) / 65536: scales a sum of four 16-bit uniforms to unit variance (see below). */
const UNIT_SCALE = Math.sqrt(3) / 65536;

/**
 * Approximately normal(0, std) values streamed in chunks of at most `chunk` values.
 *
 * Each value is an Irwin-Hall sum of four 16-bit uniforms taken from two mulberry32 outputs:
 * mean 4 * 32767.5, variance about 4 * 65536^2 / 12. Tails are cut at about 3.5 std, which
 * is fine for random weights, and this is 2x faster than four float uniforms (the bench model
 * has 134M weights). mulberry32 is inlined in the loop for the same reason.
 */
export function* normalChunks(seed: number, count: number, std: number, chunk = 1 << 16): Generator<Float32Array> {
  const scale = std * UNIT_SCALE;
  let a = seed | 0;
  for (let start = 0; start < count; start += chunk) {
    const out = new Float32Array(Math.min(chunk, count - start));
    for (let i = 0; i < out.length; i++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const r1 = (t ^ (t >>> 14)) >>> 0;
      a = (a + 0x6d2b79f5) | 0;
      t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const r2 = (t ^ (t >>> 14)) >>> 0;
      const sum = (r1 & 0xffff) + (r1 >>> 16) + (r2 & 0xffff) + (r2 >>> 16);
      out[i] = (sum - 131070) * scale;
    }
    yield out;
  }
}

/** `count` copies of `value`, in one chunk (norm weights). */
export function* constantChunks(count: number, value: number): Generator<Float32Array> {
  yield new Float32Array(count).fill(value);
}
