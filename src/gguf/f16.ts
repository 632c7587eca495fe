// IEEE 754 binary32 -> binary16 conversion (round to nearest, ties to even), by hand:
// Node 20 has no Float16Array and we want no native dependencies.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The binary16 bit pattern of `value` (rounded to nearest, ties to even). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  return f32BitsToF16Bits(u32Scratch[0]!);
}

/** Converts a whole array (reads the float bits through an integer view: no scratch copies). */
export function f32ArrayToF16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

/** binary32 bit pattern -> binary16 bit pattern. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;

  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf

  if (e <= 0) {
    // Half subnormal: value = m * 2^-24 with m = (1.mant) * 2^(exp - 126 + 23) / 2^23.
    const shift = 126 - exp; // >= 14 here
    if (shift >= 25) return sign; // below half of the smallest subnormal: rounds to +-0
    const full = mant | 0x800000;
    const m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = rem > halfway || (rem === halfway && (m & 1) === 1);
    return sign | (m + (roundUp ? 1 : 0)); // may carry into the smallest normal: still correct
  }

  const m = mant >>> 13;
  const rem = mant & 0x1fff;
  const roundUp = rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1);
  // A mantissa carry propagates into the exponent (and to Inf at the top), as it should.
  return (sign | ((e << 10) | m)) + (roundUp ? 1 : 0);
}

/** binary16 bits -> number (used by tests and for reading values back). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
