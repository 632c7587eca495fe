// ggml's block quantizations Q8_0, Q4_0 and Q6_K: llama.cpp's reference quantizers
// (quantize_row_*_ref in ggml/src/ggml-quants.c, which llama-quantize uses without an imatrix)
// and its dequantizers, transcribed operation by operation in float32 arithmetic (Math.fround
// after every operation, as C evaluates float expressions on x86-64/SSE without FMA
// contraction), so the bytes are those llama.cpp writes for the same floats.
//
// Block layouts (ggml-common.h), all little-endian:
//   Q8_0  32 values, 34 bytes:  f16 d | 32 x int8 q                       value = q * d
//   Q4_0  32 values, 18 bytes:  f16 d | 16 bytes: byte j = q[j] | q[j+16] << 4
//                                                                         value = (q - 8) * d
//   Q6_K 256 values, 210 bytes: ql[128] (low 4 bits) | qh[64] (high 2 bits) | int8 scales[16] | f16 d
//                                                                         value = d * scale[j/16] * (q - 32)

import { f16BitsToF32, f32ToF16Bits } from "./f16.js";

export type QuantType = "q8_0" | "q4_0" | "q6_k";

/** Values per block and bytes per block. */
export const QUANT_BLOCKS: Readonly<Record<QuantType, { values: number; bytes: number }>> = {
  q8_0: { values: 32, bytes: 34 },
  q4_0: { values: 32, bytes: 18 },
  q6_k: { values: 256, bytes: 210 },
};

const F = Math.fround;
const GROUP_MAX_EPS = F(1e-15);
const POINT_ONE = F(0.1);

let f16Table: Float32Array | undefined;
/** GGML_FP16_TO_FP32 as a table lookup (every binary16 value is exact in binary32). */
function f16(bits: number): number {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table[bits]!;
}

function putF16(out: Uint8Array, at: number, value: number): void {
  const h = f32ToF16Bits(value);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
}

function getF16(src: Uint8Array, at: number): number {
  return f16(src[at]! | (src[at + 1]! << 8));
}

const nearestScratch = new Float32Array(1);
const nearestBits = new Uint32Array(nearestScratch.buffer);
/**
 * ggml's nearest_int: adds 1.5 * 2^23 in float32 and reads the mantissa (round half to even).
 * Within the range llama.cpp asserts (|fval| <= 4194303) that is fround(fval + 1.5 * 2^23) -
 * 1.5 * 2^23, which is faster; outside it the mantissa is read as llama.cpp does.
 */
function nearestInt(fval: number): number {
  if (fval <= 4194303 && fval >= -4194303) return F(fval + 12582912) - 12582912;
  nearestScratch[0] = fval + 12582912;
  return (nearestBits[0]! & 0x007fffff) - 0x00400000;
}

/** C's roundf (half away from zero) of a float32 value. */
function roundf(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** quantize_row_q8_0_ref: `nBlocks` blocks of 32 values from x[xAt] into out[outAt]. */
export function quantizeQ8_0(x: Float32Array, xAt: number, out: Uint8Array, outAt: number, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const base = xAt + b * 32;
    const o = outAt + b * 34;
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[base + j]!);
      amax = amax > a ? amax : a;
    }
    const d = F(amax / 127);
    const id = d !== 0 ? F(1 / d) : 0;
    putF16(out, o, d);
    for (let j = 0; j < 32; j++) out[o + 2 + j] = roundf(F(x[base + j]! * id)) & 0xff;
  }
}

/** quantize_row_q4_0_ref: d = (the value of largest magnitude, with its sign) / -8. */
export function quantizeQ4_0(x: Float32Array, xAt: number, out: Uint8Array, outAt: number, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const base = xAt + b * 32;
    const o = outAt + b * 18;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[base + j]!;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = F(max / -8);
    const id = d !== 0 ? F(1 / d) : 0;
    putF16(out, o, d);
    for (let j = 0; j < 16; j++) {
      const x0 = F(x[base + j]! * id);
      const x1 = F(x[base + 16 + j]! * id);
      // (int8_t)(x0 + 8.5f): truncation; the sum is in [0, 16.5] here.
      const xi0 = Math.min(15, Math.trunc(F(x0 + 8.5)));
      const xi1 = Math.min(15, Math.trunc(F(x1 + 8.5)));
      out[o + 2 + j] = (xi0 | (xi1 << 4)) & 0xff;
    }
  }
}

const q6W = new Float64Array(16);
const q6WX = new Float64Array(16);

/**
 * make_qx_quants(16, 32, x, L, rmse_type 1, NULL): the best scale of 16 values, their 6-bit
 * levels in L. The weights w = x*x and the products w*x do not depend on the trial scale, so
 * they are computed once (the same float32 values llama.cpp computes in every trial).
 */
function makeQ6Scale(x: Float32Array, at: number, L: Int8Array, lAt: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < 16; i++) {
    const xi = x[at + i]!;
    const ax = Math.abs(xi);
    if (ax > amax) {
      amax = ax;
      max = xi;
    }
    const w = F(xi * xi);
    q6W[i] = w;
    q6WX[i] = F(w * xi);
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lAt, lAt + 16);
    return 0;
  }
  let iscale = F(-32 / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < 16; i++) {
    let l = nearestInt(F(iscale * x[at + i]!));
    l = l < -32 ? -32 : l > 31 ? 31 : l;
    L[lAt + i] = l + 32;
    sumlx = F(sumlx + F(q6WX[i]! * l));
    suml2 = F(suml2 + F(F(q6W[i]! * l) * l));
  }
  let scale = suml2 !== 0 ? F(sumlx / suml2) : 0;
  let best = F(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = F(-F(32 + F(POINT_ONE * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < 16; i++) {
      let l = nearestInt(F(iscale * x[at + i]!));
      l = l < -32 ? -32 : l > 31 ? 31 : l;
      sumlx = F(sumlx + F(q6WX[i]! * l));
      suml2 = F(suml2 + F(F(q6W[i]! * l) * l));
    }
    if (suml2 > 0 && F(sumlx * sumlx) > F(best * suml2)) {
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(F(iscale * x[at + i]!));
        L[lAt + i] = 32 + (l < -32 ? -32 : l > 31 ? 31 : l);
      }
      scale = F(sumlx / suml2);
      best = F(scale * sumlx);
    }
  }
  return scale;
}

const q6L = new Int8Array(256);
const q6Scales = new Float64Array(16);
const q6Sc = new Int8Array(16);

/** quantize_row_q6_K_ref: `nBlocks` blocks of 256 values. */
export function quantizeQ6_K(x: Float32Array, xAt: number, out: Uint8Array, outAt: number, nBlocks: number): void {
  const L = q6L;
  for (let b = 0; b < nBlocks; b++) {
    const base = xAt + b * 256;
    const o = outAt + b * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQ6Scale(x, base + 16 * ib, L, 16 * ib);
      q6Scales[ib] = scale;
      const a = Math.abs(scale);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, o, o + 210);
      continue;
    }
    const iscale = F(-128 / maxScale);
    const dAt = o + 208;
    putF16(out, dAt, F(1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      q6Sc[ib] = Math.min(127, nearestInt(F(iscale * q6Scales[ib]!)));
      out[o + 192 + ib] = q6Sc[ib]! & 0xff;
    }
    const dh = getF16(out, dAt);
    for (let j = 0; j < 16; j++) {
      const d = F(dh * q6Sc[j]!);
      if (d === 0) continue; // L keeps make_qx_quants' levels, as in llama.cpp
      for (let ii = 0; ii < 16; ii++) {
        let l = nearestInt(F(x[base + 16 * j + ii]! / d));
        l = Math.max(-32, Math.min(31, l));
        L[16 * j + ii] = l + 32;
      }
    }
    for (let half = 0; half < 2; half++) {
      const j = half * 128;
      const ql = o + half * 64;
      const qh = o + 128 + half * 32;
      for (let l = 0; l < 32; l++) {
        const l0 = L[j + l]!;
        const l1 = L[j + l + 32]!;
        const l2 = L[j + l + 64]!;
        const l3 = L[j + l + 96]!;
        out[ql + l] = (l0 & 0xf) | ((l2 & 0xf) << 4);
        out[ql + l + 32] = (l1 & 0xf) | ((l3 & 0xf) << 4);
        out[qh + l] = (l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6);
      }
    }
  }
}

/** Quantizes `nBlocks` whole blocks of `type`. */
export function quantizeBlocks(
  type: QuantType,
  x: Float32Array,
  xAt: number,
  out: Uint8Array,
  outAt: number,
  nBlocks: number,
): void {
  if (type === "q8_0") quantizeQ8_0(x, xAt, out, outAt, nBlocks);
  else if (type === "q4_0") quantizeQ4_0(x, xAt, out, outAt, nBlocks);
  else quantizeQ6_K(x, xAt, out, outAt, nBlocks);
}

/** Quantizes whole blocks (x.length must be a multiple of the block size). */
export function quantize(type: QuantType, x: Float32Array): Uint8Array {
  const { values, bytes } = QUANT_BLOCKS[type];
  if (x.length % values !== 0)
    throw new Error(`${type}: ${x.length} values is not a whole number of ${values}-value blocks`);
  const out = new Uint8Array((x.length / values) * bytes);
  quantizeBlocks(type, x, 0, out, 0, x.length / values);
  return out;
}

/** dequantize_row_q8_0 / dequantize_row_q4_0 / dequantize_row_q6_K, bit for bit. */
export function dequantize(type: QuantType, src: Uint8Array, count: number): Float32Array {
  const { values, bytes } = QUANT_BLOCKS[type];
  if (count % values !== 0) throw new Error(`${type}: ${count} values is not a whole number of ${values}-value blocks`);
  const nBlocks = count / values;
  if (src.length < nBlocks * bytes) throw new Error(`${type}: ${src.length} bytes hold fewer than ${nBlocks} blocks`);
  const y = new Float32Array(count);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * bytes;
    const yAt = b * values;
    if (type === "q8_0") {
      const d = getF16(src, o);
      for (let j = 0; j < 32; j++) y[yAt + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
    } else if (type === "q4_0") {
      const d = getF16(src, o);
      for (let j = 0; j < 16; j++) {
        const q = src[o + 2 + j]!;
        y[yAt + j] = ((q & 0x0f) - 8) * d;
        y[yAt + j + 16] = ((q >> 4) - 8) * d;
      }
    } else {
      const d = getF16(src, o + 208);
      for (let half = 0; half < 2; half++) {
        const ql = o + half * 64;
        const qh = o + 128 + half * 32;
        const sc = o + 192 + half * 8;
        const yh = yAt + half * 128;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const h = src[qh + l]!;
          const q1 = ((src[ql + l]! & 0xf) | (((h >> 0) & 3) << 4)) - 32;
          const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
          const s = (k: number) => (src[sc + is + k]! << 24) >> 24;
          y[yh + l] = F(d * s(0)) * q1;
          y[yh + l + 32] = F(d * s(2)) * q2;
          y[yh + l + 64] = F(d * s(4)) * q3;
          y[yh + l + 96] = F(d * s(6)) * q4;
        }
      }
    }
  }
  return y;
}
