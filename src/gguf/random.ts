// Deterministic pseudo-random numbers for test weights. Pure 32-bit integer arithmetic and
// float additions only (no Math.log/cos), so values are identical on every platform.

/** FNV-1a 32-bit hash of a string (used to derive per-tensor seeds from names). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a tiny 32-bit-state generator; returns uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator seeded from (seed, name), so a tensor's values do not depend on write order. */
export function streamFor(seed: number, name: string): () => number {
  return mulberry32((fnv1a32(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
}

const SQRT3 = Math.sqrt(3);

/**
 * Approximately normal(0, std) values (Irwin-Hall: the sum of 4 uniforms, centred and scaled to
 * unit variance; tails are cut at about 3.5 std, which is fine for random weights), streamed in
 * chunks of at most `chunk` values.
 */
export function* normalChunks(rand: () => number, count: number, std: number, chunk = 1 << 16): Generator<Float32Array> {
  const scale = std * SQRT3;
  for (let start = 0; start < count; start += chunk) {
    const out = new Float32Array(Math.min(chunk, count - start));
    for (let i = 0; i < out.length; i++) out[i] = (rand() + rand() + rand() + rand() - 2) * scale;
    yield out;
  }
}

/** `count` copies of `value`, in one chunk (norm weights). */
export function* constantChunks(count: number, value: number): Generator<Float32Array> {
  yield new Float32Array(count).fill(value);
}
