// Quantized GGUF models: Q8_0, Q4_0 and Q6_K tensors written with llama.cpp's reference
// quantizers (bit-exact, against hashes of ggml-quants.c's own output), read back and
// dequantized as llama.cpp does, loaded and run by llama.cpp (node-llama-cpp on CPU); and the
// llama3-8b stand-in's plan (Llama-3-8B's exact shape), computed without writing weights.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  getLlama,
  LlamaLogLevel,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  defaultStandinModelPath,
  defaultTestModelPath,
  dequantize,
  ensureStandinModel,
  ensureTestModel,
  ggufPlan,
  LLAMA3_8B_SHAPE,
  llamaMatrixType,
  llamaModelFile,
  planStandinModel,
  quantize,
  readGgufHeader,
  readGgufMetadata,
  readGgufTensor,
  renderChatML,
  SHAPES,
  standinModelFile,
  writeGguf,
  writeLlamaModel,
  writeTestModel,
  type GgufFile,
  type GgufTensorType,
  type ModelShape,
  type QuantType,
} from "../src/gguf/index.js";
import { valuelens } from "./helpers/cli.js";
import { PROJECT_ROOT, TEST_THREADS } from "./helpers/models.js";
import { quantTestVectors } from "./helpers/quantVectors.js";

const hasGit = spawnSync("git", ["--version"]).status === 0;
if (!hasGit)
  console.warn(
    "SKIPPED parts of test/quant.test.ts: stand-in models need git (to read node-llama-cpp's llama.cpp source bundle)",
  );

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

let dir: string;
let llama: Llama;

/**
 * Whether this machine's node-llama-cpp binary can run quantized models at all, found out in a
 * child process: a native build of llama.cpp with ggml's AMX kernels on a CPU that lists AMX
 * but cannot run it (some VMs) dies with SIGILL in the first Q8_0/Q4_0 matrix product, which
 * would take the test worker down with it. Tests that run quantized models fail with this
 * reason instead.
 */
let quantizedRunFailure: Promise<string | undefined> | undefined;
function checkQuantizedModelsRun(): Promise<string | undefined> {
  quantizedRunFailure ??= (async () => {
    const path = await ensureTestModel("tiny", { root: PROJECT_ROOT, type: "q8_0" });
    // A script file, not `node -e`: node-llama-cpp forks process.execArgv to test its binary,
    // which with -e would run the script again instead of the test.
    const script = join(dir, "quantized-probe.mjs");
    await writeFile(
      script,
      `
      import { getLlama, LlamaLogLevel } from ${JSON.stringify(pathToFileURL(createRequire(join(PROJECT_ROOT, "package.json")).resolve("node-llama-cpp")).href)};
      const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: ${JSON.stringify(path)} });
      const context = await model.createContext({ threads: ${TEST_THREADS}, contextSize: 64 });
      await context.getSequence().controlledEvaluate([1, 2, [3, { generateNext: { probabilities: true } }]]);
      console.log("ok", llama.buildType);`,
    );
    const r = spawnSync(process.execPath, [script], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 300_000 });
    if (r.status === 0 && r.stdout.includes("ok")) return undefined;
    const how = r.signal
      ? `was killed by ${r.signal}`
      : `exited with ${r.status}: ${r.stderr.trim().split("\n").at(-1)}`;
    return (
      `node-llama-cpp ${how} evaluating a Q8_0 model on this machine${r.signal === "SIGILL" ? " (an instruction the CPU cannot run: a local build of llama.cpp with AMX kernels on a CPU or VM that lists AMX but cannot run it? node_modules/node-llama-cpp/llama/localBuilds)" : ""}; ` +
      "quantized models cannot be evaluated here"
    );
  })();
  return quantizedRunFailure;
}

/** In a beforeAll: fails the tests of a describe that runs quantized models where they cannot run. */
async function requireQuantizedModelsRun(): Promise<void> {
  const failure = await checkQuantizedModelsRun();
  if (failure) throw new Error(failure);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "valuelens-quant-"));
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});

afterAll(async () => {
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Evaluates `tokens` from scratch; the next-token probability map after each position in `at`. */
async function probabilitiesAt(
  model: LlamaModel,
  tokens: Token[],
  at: number[] = [tokens.length - 1],
): Promise<Array<Map<Token, number>>> {
  const context = await model.createContext({ threads: TEST_THREADS, contextSize: 256 });
  try {
    const items: ControlledEvaluateInputItem[] = tokens.map((t, i) =>
      at.includes(i) ? [t, { generateNext: { probabilities: true } }] : t,
    );
    const out = await context.getSequence().controlledEvaluate(items);
    return at.map((i) => {
      const p = out[i]?.next.probabilities;
      if (!p) throw new Error(`no probabilities at ${i}`);
      return p;
    });
  } finally {
    await context.dispose();
  }
}

/** A probability map is a distribution: every value finite, summing to 1. */
function expectDistribution(p: Map<Token, number>, nVocab: number): void {
  expect(p.size).toBe(nVocab);
  let sum = 0;
  for (const v of p.values()) {
    expect(Number.isFinite(v)).toBe(true);
    sum += v;
  }
  expect(sum).toBeCloseTo(1, 4);
}

// sha256 of ggml-quants.c's quantize_row_{q8_0,q4_0,q6_K}_ref output for quantTestVectors(),
// and of dequantize_row_* of those blocks (ggml-quants.c from node-llama-cpp 3.21.1's llama.cpp
// bundle, compiled for x86-64 with gcc -O2, the way ggml-base is built: no FMA contraction).
const LLAMA_CPP_HASHES: Record<QuantType, { quantized: string; dequantized: string }> = {
  q8_0: {
    quantized: "e4da8b7979f448ae812729fcfcb03326b6b0c59797ef6f5abffefd235d40458e",
    dequantized: "291884e74020a44b5201b23c335c5c1195613a50b287d5a74666f641c041cdab",
  },
  q4_0: {
    quantized: "b6fd1bab98fcc39e80770d1395a6956ac12071613c0f73c79c1c9e50c242edeb",
    dequantized: "af4f279b3316a4a9e38905f691e002def632b4995bba79cacab2d1c2ae5d7488",
  },
  q6_k: {
    quantized: "e2f7ed235020ffb84dd4b27a56666b5b9844195e1237b6158874e8f7ea2124c9",
    dequantized: "c6a89641539bf8fe055c1784e98ad504048b73bdf1348ebb73fcb4531d65af42",
  },
};

describe("quantizers", () => {
  const x = quantTestVectors();

  it("the test vectors are the ones the hashes were made from", () => {
    expect(sha256(bytesOf(x))).toBe("fa1d3de15077b4a1209fd356cc089d69fa25aebdfa8d3a7fee8b7adb8e856865");
  });

  it.each(["q8_0", "q4_0", "q6_k"] as const)(
    "%s: bit-exact with llama.cpp's reference quantizer and dequantizer",
    (type) => {
      const q = quantize(type, x);
      expect(sha256(q)).toBe(LLAMA_CPP_HASHES[type].quantized);
      const d = dequantize(type, q, x.length);
      expect(sha256(bytesOf(d))).toBe(LLAMA_CPP_HASHES[type].dequantized);
      // And the values are close to the originals: within a step of the block's scale (where the
      // F16 scale is a normal number, and not near its top).
      const rel = { q8_0: 1 / 127, q4_0: 1 / 7, q6_k: 1 / 24 }[type];
      const block = type === "q6_k" ? 256 : 32;
      let checked = 0;
      for (let b = 0; b < x.length; b += block) {
        let amax = 0;
        for (let i = b; i < b + block; i++) amax = Math.max(amax, Math.abs(x[i]!));
        if (amax < 0.5 || amax > 1e5) continue;
        checked++;
        let worst = 0;
        for (let i = b; i < b + block; i++) worst = Math.max(worst, Math.abs(d[i]! - x[i]!));
        if (worst > amax * rel * 1.01) expect.fail(`${type} block at ${b}: error ${worst}, largest value ${amax}`);
      }
      expect(checked).toBeGreaterThan(100);
    },
  );

  it("rejects values that are not whole blocks", () => {
    expect(() => quantize("q4_0", new Float32Array(33))).toThrow(/whole number of 32-value blocks/);
    expect(() => quantize("q6_k", new Float32Array(32))).toThrow(/256-value blocks/);
  });
});

describe("GGUF writer, quantized tensors", () => {
  it("streams values in chunks that do not fall on block boundaries, and the reader gets the blocks back", async () => {
    const values = quantTestVectors().subarray(0, 256 * 40);
    const chunked = function* (): Generator<Float32Array> {
      const sizes = [7, 100, 33, 1, 256, 5000];
      let at = 0;
      for (let i = 0; at < values.length; i++) {
        const n = Math.min(sizes[i % sizes.length]!, values.length - at);
        yield values.slice(at, at + n);
        at += n;
      }
    };
    const file = (chunks: () => Iterable<Float32Array>): GgufFile => ({
      metadata: [],
      tensors: (["q8_0", "q4_0", "q6_k", "f16", "f32"] as const).map((type) => ({
        name: `t.${type}`,
        dims: [512, 20],
        type,
        data: chunks,
      })),
    });
    const a = await writeGguf(join(dir, "chunked.gguf"), file(chunked));
    const b = await writeGguf(
      join(dir, "whole.gguf"),
      file(() => [values]),
    );
    expect(a.sha256).toBe(b.sha256);
    const plan = ggufPlan(file(chunked));
    expect(plan.totalBytes).toBe(a.bytes);
    const header = await readGgufHeader(a.path);
    expect(header.tensors.map((t) => [t.name, t.type, t.fileOffset, t.bytes])).toEqual(
      plan.tensors.map((t) => [t.name, t.type, t.fileOffset, t.bytes]),
    );
    for (const type of ["q8_0", "q4_0", "q6_k"] as const) {
      const t = await readGgufTensor(a.path, `t.${type}`);
      expect(t.info.dims).toEqual([512, 20]);
      expect(t.info.bytes).toBe(
        (values.length / (type === "q6_k" ? 256 : 32)) * (type === "q8_0" ? 34 : type === "q4_0" ? 18 : 210),
      );
      const q = quantize(type, values);
      expect(sha256(t.raw)).toBe(sha256(q));
      expect(sha256(bytesOf(t.values))).toBe(sha256(bytesOf(dequantize(type, q, values.length))));
    }
    expect(Array.from((await readGgufTensor(a.path, "t.f32")).values)).toEqual(Array.from(values));
  });

  it("rejects a block type whose rows are not whole blocks, and leaves no file behind", async () => {
    const path = join(dir, "bad-rows.gguf");
    const tensor = { name: "w", dims: [48, 2], type: "q4_0" as const, data: () => [new Float32Array(96)] };
    await expect(writeGguf(path, { metadata: [], tensors: [tensor] })).rejects.toThrow(
      /tensor w: q4_0 needs rows \(dims\[0\] = 48\) to be a multiple of 32/,
    );
    await expect(stat(path)).rejects.toThrow();
    expect(() => ggufPlan({ metadata: [], tensors: [{ ...tensor, dims: [256, 1], type: "q6_k" }] })).not.toThrow();
  });
});

describe("which tensors are quantized (llama-quantize's choices)", () => {
  it("matrices in the file's type; Q4_0's output matrix Q6_K, or Q8_0 where rows are not whole Q6_K blocks; F16 as the last fallback", () => {
    expect(llamaMatrixType("q4_0", "other", 4096)).toBe("q4_0");
    expect(llamaMatrixType("q4_0", "output", 4096)).toBe("q6_k");
    expect(llamaMatrixType("q4_0", "output", 64)).toBe("q8_0");
    expect(llamaMatrixType("q4_0", "output", 48)).toBe("f16");
    expect(llamaMatrixType("q4_0", "other", 48)).toBe("f16");
    expect(llamaMatrixType("q8_0", "output", 4096)).toBe("q8_0");
    expect(llamaMatrixType("q8_0", "other", 4096)).toBe("q8_0");
    expect(llamaMatrixType("f16", "output", 4096)).toBe("f16");
    expect(llamaMatrixType("f32", "other", 4096)).toBe("f32");
  });
});

const tensorTypes = async (path: string) => new Map((await readGgufHeader(path)).tensors.map((t) => [t.name, t.type]));
const metaValue = async (path: string, key: string) =>
  (await readGgufMetadata(path)).metadata.find(([k]) => k === key)?.[1];

describe.each([
  ["q8_0", 7],
  ["q4_0", 2],
] as const)("tiny test model in %s", (type, ftype) => {
  let path: string;

  beforeAll(async () => {
    path = await ensureTestModel("tiny", { root: PROJECT_ROOT, type });
  });

  it("says its type in the file name, general.name and general.file_type; norms stay F32", async () => {
    expect(path).toBe(defaultTestModelPath("tiny", type, { root: PROJECT_ROOT }));
    expect(path).toMatch(new RegExp(`valuelens-tiny-${type}-seed1\\.gguf$`));
    expect(await metaValue(path, "general.name")).toEqual({ type: "string", value: `valuelens-tiny-${type}-seed1` });
    expect(await metaValue(path, "general.file_type")).toEqual({ type: "u32", value: ftype });
    expect(await metaValue(path, "general.quantization_version")).toEqual({ type: "u32", value: 2 });
    const types = await tensorTypes(path);
    expect(types.get("token_embd.weight")).toBe(type);
    expect(types.get("blk.0.ffn_down.weight")).toBe(type);
    expect(types.get("output.weight")).toBe("q8_0"); // n_embd 64: not whole Q6_K blocks
    expect(types.get("blk.1.attn_norm.weight")).toBe("f32");
    expect(types.get("output_norm.weight")).toBe("f32");
  });

  it("is byte-identical when written again", async () => {
    const again = await writeTestModel({ shape: "tiny", type, out: join(dir, `tiny-${type}.gguf`) });
    expect(again.sha256).toBe(sha256(await readFile(path)));
  });

  it("evaluates a prompt to a finite distribution close to the F32 model's", async () => {
    await requireQuantizedModelsRun();
    const model = await llama.loadModel({ modelPath: path });
    const f32 = await llama.loadModel({
      modelPath: await ensureTestModel("tiny", { root: PROJECT_ROOT, type: "f32" }),
    });
    try {
      expect(model.fileInfo.metadata.general.file_type).toBe(ftype);
      const prompt = (m: LlamaModel) =>
        m.tokenize(`<s>${renderChatML([{ role: "user", content: "Is honesty important? Answer A or B." }])}`, true);
      expect(prompt(model)).toEqual(prompt(f32));
      const [p] = await probabilitiesAt(model, prompt(model));
      const [ref] = await probabilitiesAt(f32, prompt(f32));
      expectDistribution(p!, SHAPES.tiny.nVocab);
      // Total variation distance to the F32 model's distribution: small, larger for Q4_0.
      let tv = 0;
      for (const [t, v] of ref!) tv += Math.abs(v - (p!.get(t) ?? 0)) / 2;
      expect(tv).toBeLessThan(type === "q8_0" ? 0.02 : 0.15);
      expect(tv).toBeGreaterThan(0);
    } finally {
      await f32.dispose();
      await model.dispose();
    }
  });
});

/** A llama network where n_embd is a multiple of 256, so Q4_0's output matrix is Q6_K. */
const SMALL256: ModelShape = {
  nVocab: 2000,
  nEmbd: 256,
  nLayer: 1,
  nHead: 4,
  nHeadKv: 2,
  nFf: 512,
  nCtx: 4096,
  rmsEps: 1e-5,
};

describe("Q4_0 with a Q6_K output matrix (n_embd 256)", () => {
  beforeAll(requireQuantizedModelsRun);
  it("has the types llama-quantize gives it, loads and evaluates to a finite distribution", async () => {
    const w = await writeLlamaModel({
      shape: SMALL256,
      seed: 3,
      type: "q4_0",
      name: "small256-q4_0",
      out: join(dir, "small256-q4_0.gguf"),
    });
    const types = await tensorTypes(w.path);
    expect(types.get("output.weight")).toBe("q6_k");
    expect(types.get("token_embd.weight")).toBe("q4_0");
    const model = await llama.loadModel({ modelPath: w.path });
    try {
      const [p] = await probabilitiesAt(
        model,
        model.tokenize(`<s>${renderChatML([{ role: "user", content: "Which answer, A or B?" }])}`, true),
      );
      expectDistribution(p!, SMALL256.nVocab);
    } finally {
      await model.dispose();
    }
  });
});

describe("llama.cpp's dequantization of the blocks equals the reader's", () => {
  // One layer whose attention and FFN outputs are zero, so the last hidden state is the token's
  // embedding row as llama.cpp dequantized it (get_rows), RMS-normalised; output.weight (F32)
  // is the identity on the first n_embd tokens and zero elsewhere, so logit j = row[j] * s with
  // s = 1 / sqrt(mean(row^2) + eps), and token n_embd's logit is exactly 0.
  const shape = SMALL256;
  const n = shape.nEmbd;
  beforeAll(requireQuantizedModelsRun);

  function probeFile(type: GgufTensorType): GgufFile {
    const file = llamaModelFile({ shape, seed: 5, type: "f32", name: `probe-${type}` });
    const zeros = (count: number) => () => [new Float32Array(count)];
    return {
      ...file,
      tensors: file.tensors.map((t) => {
        if (t.name === "token_embd.weight") return { ...t, type };
        if (t.name.endsWith("attn_output.weight") || t.name.endsWith("ffn_down.weight"))
          return { ...t, data: zeros(t.dims[0]! * t.dims[1]!) };
        if (t.name === "output.weight") {
          return {
            ...t,
            data: () => {
              const m = new Float32Array(n * shape.nVocab);
              for (let r = 0; r < n; r++) m[r * n + r] = 1;
              return [m];
            },
          };
        }
        return t;
      }),
    };
  }

  it.each(["q8_0", "q4_0", "q6_k", "f32"] as const)("%s token embeddings", async (type) => {
    const path = join(dir, `probe-${type}.gguf`);
    await writeGguf(path, probeFile(type));
    const embd = await readGgufTensor(path, "token_embd.weight");
    expect(embd.info.type).toBe(type);
    const model = await llama.loadModel({ modelPath: path });
    try {
      const tokens = [17, 1234, 600, 1999] as Token[];
      const maps = await probabilitiesAt(model, tokens, [0, 1, 2, 3]);
      tokens.forEach((token, k) => {
        const row = embd.values.subarray(token * n, (token + 1) * n);
        const s = 1 / Math.sqrt(row.reduce((a, v) => a + v * v, 0) / n + shape.rmsEps);
        const p = maps[k]!;
        const zero = Math.log(p.get(n as Token)!);
        let maxErr = 0;
        for (let j = 0; j < n; j++)
          maxErr = Math.max(maxErr, Math.abs(Math.log(p.get(j as Token)!) - zero - row[j]! * s));
        // Measured about 4e-7 (float32 log-probabilities); one quantization level off would be 1e-2 or more.
        expect(maxErr).toBeLessThan(3e-6);
      });
    } finally {
      await model.dispose();
    }
  });
});

describe.skipIf(!hasGit)("quantized stand-ins", () => {
  beforeAll(requireQuantizedModelsRun);
  it("llama3 in Q4_0: named for its type, tied embeddings in Q8_0 (n_embd 32), loads and evaluates", async () => {
    const path = await ensureStandinModel("llama3", {
      root: PROJECT_ROOT,
      type: "q4_0",
      out: join(dir, "standin-llama3-q4_0.gguf"),
    });
    expect(defaultStandinModelPath("llama3", { root: PROJECT_ROOT, type: "q4_0" })).toMatch(
      /valuelens-standin-llama3-q4_0-seed1\.gguf$/,
    );
    expect(defaultStandinModelPath("llama3", { root: PROJECT_ROOT })).toMatch(/valuelens-standin-llama3-seed1\.gguf$/);
    expect(await metaValue(path, "general.name")).toEqual({
      type: "string",
      value: "valuelens-standin-llama3-q4_0-seed1",
    });
    expect(await metaValue(path, "general.file_type")).toEqual({ type: "u32", value: 2 });
    const types = await tensorTypes(path);
    expect(types.get("token_embd.weight")).toBe("q8_0");
    expect(types.get("blk.0.attn_q.weight")).toBe("q4_0");
    expect(types.has("output.weight")).toBe(false);
    const model = await llama.loadModel({ modelPath: path });
    try {
      const [p] = await probabilitiesAt(
        model,
        model.tokenize("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nA or B?<|eot_id|>", true),
      );
      expectDistribution(p!, 128256);
    } finally {
      await model.dispose();
    }
    // Up to date for the same type; rewritten for another type at the same path.
    const mtime = (await stat(path)).mtimeMs;
    await ensureStandinModel("llama3", { root: PROJECT_ROOT, type: "q4_0", out: path });
    expect((await stat(path)).mtimeMs).toBe(mtime);
    await ensureStandinModel("llama3", { root: PROJECT_ROOT, type: "q8_0", out: path });
    expect(await metaValue(path, "general.file_type")).toEqual({ type: "u32", value: 7 });
  });
});

describe.skipIf(!hasGit)("llama3-8b stand-in (planned, not written)", () => {
  it("is only for the llama3 family", async () => {
    await expect(standinModelFile("qwen3", { root: PROJECT_ROOT, shape: "llama3-8b" })).rejects.toThrow(
      /llama3-8b shape is for the llama3 stand-in, not qwen3/,
    );
  });

  it("has Llama-3-8B's exact shape and vocabulary; Q4_0 is 4.66 GB, Q8_0 8.5 GB", async () => {
    const plan = await planStandinModel("llama3", { root: PROJECT_ROOT, shape: "llama3-8b", type: "q4_0" });
    expect(plan.name).toBe("valuelens-standin-llama3-8b-q4_0-seed1");
    expect(plan.params).toBe(8_030_261_248); // Meta-Llama-3-8B's parameter count
    expect(plan.tensors).toHaveLength(1 + 32 * 9 + 2);
    const t = new Map(plan.tensors.map((x) => [x.name, x]));
    expect(t.get("token_embd.weight")).toMatchObject({
      dims: [4096, 128256],
      type: "q4_0",
      bytes: ((4096 * 128256) / 32) * 18,
    });
    expect(t.get("output.weight")).toMatchObject({
      dims: [4096, 128256],
      type: "q6_k",
      bytes: ((4096 * 128256) / 256) * 210,
    });
    expect(t.get("blk.31.attn_k.weight")).toMatchObject({ dims: [4096, 1024], type: "q4_0" });
    expect(t.get("blk.31.ffn_down.weight")).toMatchObject({ dims: [14336, 4096], type: "q4_0" });
    expect(t.get("blk.0.ffn_norm.weight")).toMatchObject({ dims: [4096], type: "f32" });
    expect(plan.tensors.filter((x) => x.type === "f32")).toHaveLength(65);
    // Every tensor aligned, in order, and the file ends after the last one.
    let end = plan.headerBytes;
    for (const x of plan.tensors) {
      expect(x.fileOffset % 32).toBe(0);
      expect(x.fileOffset).toBe(Math.ceil(end / 32) * 32);
      end = x.fileOffset + x.bytes;
    }
    expect(plan.totalBytes).toBe(Math.ceil(end / 32) * 32);
    expect(plan.totalBytes).toBe(4_661_216_160); // a real Llama-3-8B Q4_0 GGUF is 4.66 GB
    expect(plan.totalBytes).toBeGreaterThan(4.3e9);
    expect(plan.totalBytes).toBeLessThan(4.7e9);

    const q8 = await planStandinModel("llama3", { root: PROJECT_ROOT, shape: "llama3-8b", type: "q8_0" });
    expect(new Set(q8.tensors.filter((x) => x.dims.length === 2).map((x) => x.type))).toEqual(new Set(["q8_0"]));
    expect(q8.totalBytes / 1e9).toBeCloseTo(8.54, 2);
  });

  it("writes Llama-3-8B's hyperparameters and the llama3 stand-in's tokenizer", async () => {
    const file = await standinModelFile("llama3", { root: PROJECT_ROOT, shape: "llama3-8b", type: "q4_0" });
    const small = await standinModelFile("llama3", { root: PROJECT_ROOT });
    const md = new Map(file.metadata);
    const s = LLAMA3_8B_SHAPE;
    expect(md.get("general.file_type")).toEqual({ type: "u32", value: 2 });
    expect(md.get("valuelens.shape")).toEqual({ type: "string", value: "llama3-8b" });
    expect(md.get("llama.vocab_size")).toEqual({ type: "u32", value: 128256 });
    expect(md.get("llama.embedding_length")).toEqual({ type: "u32", value: s.nEmbd });
    expect(md.get("llama.block_count")).toEqual({ type: "u32", value: 32 });
    expect(md.get("llama.feed_forward_length")).toEqual({ type: "u32", value: 14336 });
    expect(md.get("llama.attention.head_count")).toEqual({ type: "u32", value: 32 });
    expect(md.get("llama.attention.head_count_kv")).toEqual({ type: "u32", value: 8 });
    expect(md.get("llama.rope.dimension_count")).toEqual({ type: "u32", value: 128 });
    expect(md.get("llama.rope.freq_base")).toEqual({ type: "f32", value: 500000 });
    expect(md.get("llama.context_length")).toEqual({ type: "u32", value: 8192 });
    expect(md.get("llama.attention.layer_norm_rms_epsilon")).toEqual({ type: "f32", value: 1e-5 });
    // The tokenizer and template are the small llama3 stand-in's, key for key.
    const tok = (f: GgufFile) =>
      JSON.stringify(
        f.metadata
          .filter(([k]) => k.startsWith("tokenizer."))
          .map(([k, v]) => [
            k,
            v.type,
            "value" in v && ArrayBuffer.isView(v.value) ? Array.from(v.value as Float32Array) : v.value,
          ]),
      );
    expect(tok(file)).toBe(tok(small));
  });

  it("valuelens models make-test-model --shape llama3-8b --dry-run lists the tensors and writes nothing", () => {
    const r = valuelens(["models", "make-test-model", "--shape", "llama3-8b", "--dry-run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "valuelens-standin-llama3-8b-q4_0-seed1: stand-in llama3 (shape llama3-8b), q4_0 (dry run: nothing written)",
    );
    expect(r.stdout).toMatch(/output\.weight +4096 x 128256 +q6_k +430,940,160 bytes/);
    expect(r.stdout).toContain("291 tensors (q4_0 225, f32 65, q6_k 1), 8,030,261,248 parameters;");
    expect(r.stdout).toContain("file 4,661,216,160 bytes (4.66 GB)");
  });
});

describe("valuelens models make-test-model --type", () => {
  it("writes a quantized tiny model (the same bytes as the library's)", async () => {
    const out = join(dir, "cli-tiny-q4_0.gguf");
    const r = valuelens(["models", "make-test-model", "--shape", "tiny", "--type", "q4_0", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("tiny q4_0");
    expect(sha256(await readFile(out))).toBe(
      sha256(await readFile(await ensureTestModel("tiny", { root: PROJECT_ROOT, type: "q4_0" }))),
    );
  });

  it("needs --out unless --dry-run; rejects unknown types", () => {
    const noOut = valuelens(["models", "make-test-model", "--type", "q8_0"]);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toContain("needs --out FILE.gguf (or --dry-run)");
    const bad = valuelens(["models", "make-test-model", "--type", "q5_k", "--out", join(dir, "x.gguf")]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("f32, f16, q8_0, q4_0");
  });
});
