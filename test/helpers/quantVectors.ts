// Inputs for the quantizer tests: random weights at the scales the test models use plus
// hand-made blocks that hit the quantizers' edge cases (ties, zero and denormal scales, equal
// magnitudes of opposite sign, a Q6_K sub-block whose 8-bit scale rounds to 0). The sha256
// of llama.cpp's own quantization of these values (ggml-quants.c compiled from node-llama-cpp's
// bundle) is pinned in test/quant.test.ts.

import { normalChunks } from "../../src/gguf/random.js";

function normals(seed: number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  let at = 0;
  for (const c of normalChunks(seed, count, std)) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** 1,000,000-odd float32 values, a whole number of 256-value (Q6_K) blocks. */
export function quantTestVectors(): Float32Array {
  const blocks: Float32Array[] = [];
  const push = (values: ArrayLike<number>) => {
    const b = new Float32Array(256);
    b.set(Array.from(values).slice(0, 256));
    blocks.push(b);
  };
  push([]); // all zeros
  for (const [i, std] of [1e-2, 1, 1 / 64, 1e-6, 1e-9, 1e3, 6e4 / 4, 1e-30].entries()) push(normals(100 + i, 256, std));
  // Q8_0 ties: amax 127 gives d = 1 and id = 1, so x * id = x.
  push(Array.from({ length: 256 }, (_, i) => (i % 32 === 0 ? 127 : ((i % 2 ? -1 : 1) * ((i % 127) + 0.5)) % 127)));
  // Q4_0 ties: max -8 gives d = 1, id = 1; x + 8.5 lands on integers and halves.
  push(
    Array.from({ length: 256 }, (_, i) =>
      i % 32 === 0 ? -8 : (i % 16) - 8 + (i % 3 === 0 ? 0.5 : i % 3 === 1 ? -0.5 : 0),
    ),
  );
  // ... and max +8 (d = -1).
  push(Array.from({ length: 256 }, (_, i) => (i % 32 === 5 ? 8 : ((i % 15) - 7) * 0.5)));
  // Equal magnitudes of opposite sign: the first one decides the sign of d.
  push(Array.from({ length: 256 }, (_, i) => (i % 32 === 3 ? -3 : i % 32 === 7 ? 3 : ((i * 7) % 11) / 4 - 1.2)));
  push(Array.from({ length: 256 }, (_, i) => (i % 32 === 2 ? 3 : i % 32 === 9 ? -3 : ((i * 5) % 13) / 5 - 1.1)));
  // One nonzero value per block; integer ramps.
  push(Array.from({ length: 256 }, (_, i) => (i % 32 === 17 ? -0.37 : 0)));
  push(Array.from({ length: 256 }, (_, i) => i - 128));
  // Q6_K: sub-blocks 1e-7 times the largest (their 8-bit scale rounds to 0), and all-zero sub-blocks.
  {
    const b = normals(200, 256, 1);
    for (let i = 16; i < 64; i++) b[i] = b[i]! * 1e-7;
    for (let i = 128; i < 160; i++) b[i] = 0;
    push(b);
  }
  // Random blocks at scales from 2^-27 (7e-9) to 2^13 * 1.75 (1.4e4); exact powers of two, no
  // Math.pow, so the inputs are the same bits on every platform.
  for (let i = 0; i < 3900; i++) push(normals(1000 + i, 256, 2 ** (-27 + (i % 41)) * (1 + (i % 7) / 8)));
  const out = new Float32Array(blocks.length * 256);
  blocks.forEach((b, i) => out.set(b, i * 256));
  return out;
}
