// Random-weight llama-architecture models that llama.cpp loads and runs for real.
//
// Tensor names and shapes follow llama.cpp's LLM_ARCH_LLAMA. GGUF lists dims fastest-first, so
// a weight W used as y = W x with x of size n_in and y of size n_out is stored as [n_in, n_out]
// (token_embd: [n_embd, n_vocab], one embedding per row).

import { CHATML_TEMPLATE } from "./chatTemplate.js";
import { constantChunks, normalChunks, tensorSeed } from "./random.js";
import { buildSpmVocab, CHAT_CONTROL_TOKENS, vocabMetadata, type SpmVocab } from "./vocab.js";
import {
  gguf,
  GGUF_TENSOR_TYPES,
  ggufLayout,
  tensorElementCount,
  writeGguf,
  type GgufFile,
  type GgufTensor,
  type GgufTensorType,
  type GgufValue,
} from "./writer.js";

export type TestModelShape = "tiny" | "bench";
/** The file's type (llama.cpp's ftype): what its weight matrices are stored as. Norms stay F32. */
export type TestModelType = "f32" | "f16" | "q8_0" | "q4_0";
export const TEST_MODEL_TYPES: readonly TestModelType[] = ["f32", "f16", "q8_0", "q4_0"];

/** general.file_type (llama_ftype): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_Q4_0. */
export const LLAMA_FTYPE: Readonly<Record<TestModelType, number>> = { f32: 0, f16: 1, q8_0: 7, q4_0: 2 };

/** GGML_QNT_VERSION, which llama-quantize writes as general.quantization_version. */
export const GGML_QNT_VERSION = 2;

/**
 * The type a weight matrix gets in a file of type `fileType`, as llama.cpp makes them: F32 and
 * F16 files (convert_hf_to_gguf) store every matrix so; Q8_0 and Q4_0 files follow
 * llama-quantize without an imatrix (llama_tensor_get_type in src/llama-quant.cpp): every
 * matrix in the file's type, except the output matrix (output.weight, or token_embd.weight
 * when the embeddings are tied), which Q4_0 files store as Q6_K (as Q8_0 when its rows are not
 * a multiple of 32). A type whose block does not divide the rows falls back as llama-quantize
 * does: Q6_K to Q8_0, then a 32-value type to F16.
 */
export function llamaMatrixType(fileType: TestModelType, role: "output" | "other", nIn: number): GgufTensorType {
  if (fileType === "f32" || fileType === "f16") return fileType;
  let type: GgufTensorType = fileType;
  if (role === "output")
    type = nIn % GGUF_TENSOR_TYPES[fileType].blockValues !== 0 || fileType === "q8_0" ? "q8_0" : "q6_k";
  if (nIn % GGUF_TENSOR_TYPES[type].blockValues !== 0 && type === "q6_k") type = "q8_0";
  if (nIn % GGUF_TENSOR_TYPES[type].blockValues !== 0) type = "f16";
  return type;
}

/**
 * Bump when anything that changes the bytes of a model for a given (shape, type, seed) changes
 * (weights, vocab, metadata). It is stored in the file, so cached models are rebuilt.
 */
export const GENERATOR_VERSION = 1;

export interface ModelShape {
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nCtx: number;
  rmsEps: number;
}

export const SHAPES: Readonly<Record<TestModelShape, Readonly<ModelShape>>> = {
  // About 0.34M parameters: 1.4 MB in F32, 0.7 MB in F16.
  tiny: { nVocab: 2000, nEmbd: 64, nLayer: 2, nHead: 4, nHeadKv: 4, nFf: 128, nCtx: 4096, rmsEps: 1e-5 },
  // About 134M parameters: 268 MB in F16 (the shape the CPU notes were measured with).
  bench: { nVocab: 32000, nEmbd: 768, nLayer: 12, nHead: 12, nHeadKv: 12, nFf: 2048, nCtx: 4096, rmsEps: 1e-5 },
};

export const DEFAULT_SEED = 1;
export const DEFAULT_TYPE: TestModelType = "f16";

export interface LlamaModelSpec {
  shape: ModelShape;
  seed: number;
  type: TestModelType;
  name: string;
  /**
   * Control tokens beyond ChatML's, e.g. `<think>`/`</think>` (Qwen3-style reasoning) or
   * `<|channel|>`/`<|message|>` (harmony), so tests can check how reasoning models are scored.
   */
  extraControlTokens?: readonly string[];
}

export interface WrittenModel {
  path: string;
  bytes: number;
  sha256: string;
  nVocab: number;
  /** Number of weights (parameters) in the file. */
  params: number;
}

/**
 * Longest piece (in characters, the word-start marker included). GPT-2's first 32k pieces
 * include most English words whole (1.15 tokens per word); capping pieces at 8 characters
 * splits longer words ("▁relig|ious") and gives about 1.45 tokens per word, close to
 * Llama 2's 32k SentencePiece vocabulary, so prompt lengths in tokens are realistic.
 */
export const MAX_PIECE_CHARS = 8;

const vocabCache = new Map<string, SpmVocab>();
function vocabFor(size: number, extraControlTokens: readonly string[] = []): SpmVocab {
  const key = [size, ...extraControlTokens].join("\u0000");
  let v = vocabCache.get(key);
  if (!v) {
    const controlTokens = [...CHAT_CONTROL_TOKENS, ...extraControlTokens];
    vocabCache.set(key, (v = buildSpmVocab({ size, maxPieceChars: MAX_PIECE_CHARS, controlTokens })));
  }
  return v;
}

/**
 * Weight scales. Matrices get std 1/sqrt(fan_in) so every projection keeps activations at
 * unit scale; embeddings have unit scale. With unit-RMS input to output.weight the logits
 * have std about 1: peaked enough that different prompts give visibly different
 * distributions, flat enough that no token dominates. Q and K are a little larger so that
 * attention is not uniform and the prompt's content reaches the last position.
 */
function matrixStd(fanIn: number, gain = 1): number {
  return gain / Math.sqrt(fanIn);
}
const QK_GAIN = 2;

/**
 * A random-weight llama network around any vocabulary: the part of a model file the test
 * models and the stand-in models (standin.ts) share.
 */
export interface LlamaNetworkSpec {
  shape: ModelShape;
  seed: number;
  type: TestModelType;
  name: string;
  /** Keys written right after general.* (e.g. valuelens.generator_version), in order. */
  headerMetadata: ReadonlyArray<readonly [string, GgufValue]>;
  /** The tokenizer.* keys (vocabulary, special ids, chat template), written last, in order. */
  vocabMetadata: ReadonlyArray<readonly [string, GgufValue]>;
  /** llama.rope.freq_base (default 10000). */
  ropeFreqBase?: number;
  /**
   * Leave out output.weight: llama.cpp then uses token_embd as the output matrix (tied
   * embeddings, as Gemma and small Qwen3 models have), which halves the size of models with a
   * large vocabulary. output_norm is scaled by 1/sqrt(n_embd) so that the logits keep std ~1
   * with the unit-scale embedding rows.
   */
  tiedEmbeddings?: boolean;
}

/** The complete GGUF description (metadata + lazily generated tensors) of a llama network. */
export function llamaNetworkFile(spec: LlamaNetworkSpec): GgufFile {
  const { shape: s, seed, type } = spec;
  if (s.nEmbd % s.nHead !== 0) throw new Error("n_embd must be a multiple of n_head");
  if (s.nHead % s.nHeadKv !== 0) throw new Error("n_head must be a multiple of n_head_kv");
  const headDim = s.nEmbd / s.nHead;
  const kvDim = headDim * s.nHeadKv;

  const quantized = type !== "f32" && type !== "f16";
  const metadata: Array<readonly [string, GgufValue]> = [
    ["general.architecture", gguf.string("llama")],
    ["general.name", gguf.string(spec.name)],
    ["general.file_type", gguf.u32(LLAMA_FTYPE[type])],
    ...(quantized ? [["general.quantization_version", gguf.u32(GGML_QNT_VERSION)] as const] : []),
    ...spec.headerMetadata,
    ["llama.vocab_size", gguf.u32(s.nVocab)],
    ["llama.context_length", gguf.u32(s.nCtx)],
    ["llama.embedding_length", gguf.u32(s.nEmbd)],
    ["llama.block_count", gguf.u32(s.nLayer)],
    ["llama.feed_forward_length", gguf.u32(s.nFf)],
    ["llama.attention.head_count", gguf.u32(s.nHead)],
    ["llama.attention.head_count_kv", gguf.u32(s.nHeadKv)],
    ["llama.rope.dimension_count", gguf.u32(headDim)],
    ["llama.rope.freq_base", gguf.f32(spec.ropeFreqBase ?? 10000)],
    ["llama.attention.layer_norm_rms_epsilon", gguf.f32(s.rmsEps)],
    ...spec.vocabMetadata,
  ];

  const isOutput = (name: string) =>
    name === "output.weight" || (spec.tiedEmbeddings === true && name === "token_embd.weight");
  const matrix = (name: string, nIn: number, nOut: number, std: number): GgufTensor => ({
    name,
    dims: [nIn, nOut],
    type: llamaMatrixType(type, isOutput(name) ? "output" : "other", nIn),
    data: () => normalChunks(tensorSeed(seed, name), nIn * nOut, std),
  });
  // Norm weights stay F32 (as llama.cpp's converters do): they are tiny and added in F32.
  const norm = (name: string, value = 1): GgufTensor => ({
    name,
    dims: [s.nEmbd],
    type: "f32",
    data: () => constantChunks(s.nEmbd, value),
  });

  const tensors: GgufTensor[] = [matrix("token_embd.weight", s.nEmbd, s.nVocab, 1)];
  for (let i = 0; i < s.nLayer; i++) {
    const b = `blk.${i}`;
    tensors.push(
      norm(`${b}.attn_norm.weight`),
      matrix(`${b}.attn_q.weight`, s.nEmbd, s.nEmbd, matrixStd(s.nEmbd, QK_GAIN)),
      matrix(`${b}.attn_k.weight`, s.nEmbd, kvDim, matrixStd(s.nEmbd, QK_GAIN)),
      matrix(`${b}.attn_v.weight`, s.nEmbd, kvDim, matrixStd(s.nEmbd)),
      matrix(`${b}.attn_output.weight`, s.nEmbd, s.nEmbd, matrixStd(s.nEmbd)),
      norm(`${b}.ffn_norm.weight`),
      matrix(`${b}.ffn_gate.weight`, s.nEmbd, s.nFf, matrixStd(s.nEmbd)),
      matrix(`${b}.ffn_up.weight`, s.nEmbd, s.nFf, matrixStd(s.nEmbd)),
      matrix(`${b}.ffn_down.weight`, s.nFf, s.nEmbd, matrixStd(s.nFf)),
    );
  }
  if (spec.tiedEmbeddings) {
    tensors.push(norm("output_norm.weight", matrixStd(s.nEmbd)));
  } else {
    tensors.push(norm("output_norm.weight"), matrix("output.weight", s.nEmbd, s.nVocab, matrixStd(s.nEmbd)));
  }
  return { metadata, tensors };
}

/** The complete GGUF description of a test model (the built-in SPM vocabulary and ChatML). */
export function llamaModelFile(spec: LlamaModelSpec): GgufFile {
  const vocab = vocabFor(spec.shape.nVocab, spec.extraControlTokens);
  if (vocab.tokens.length !== spec.shape.nVocab) throw new Error("internal: vocab size mismatch");
  return llamaNetworkFile({
    shape: spec.shape,
    seed: spec.seed,
    type: spec.type,
    name: spec.name,
    headerMetadata: [
      ["valuelens.generator_version", gguf.u32(GENERATOR_VERSION)],
      ["valuelens.seed", gguf.u32(spec.seed)],
    ],
    vocabMetadata: [...vocabMetadata(vocab), ["tokenizer.chat_template", gguf.string(CHATML_TEMPLATE)]],
  });
}

export function parameterCount(file: GgufFile): number {
  return file.tensors.reduce((n, t) => n + tensorElementCount(t.dims), 0);
}

/** Writes any llama shape (tests use this for e.g. the bench vocabulary on a tiny network). */
export async function writeLlamaModel(spec: LlamaModelSpec & { out: string }): Promise<WrittenModel> {
  const file = llamaModelFile(spec);
  const { path, bytes, sha256 } = await writeGguf(spec.out, file);
  return { path, bytes, sha256, nVocab: spec.shape.nVocab, params: parameterCount(file) };
}

export function testModelSpec(
  shape: TestModelShape,
  opts: { seed?: number; type?: TestModelType } = {},
): LlamaModelSpec {
  const seed = opts.seed ?? DEFAULT_SEED;
  const type = opts.type ?? DEFAULT_TYPE;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`seed must be a u32 integer, got ${seed}`);
  return { shape: SHAPES[shape], seed, type, name: `valuelens-${shape}-${type}-seed${seed}` };
}

/** Writes one of the named test models. Same (shape, seed, type) => byte-identical file. */
export async function writeTestModel(opts: {
  shape: TestModelShape;
  out: string;
  seed?: number;
  type?: TestModelType;
}): Promise<WrittenModel> {
  return writeLlamaModel({ ...testModelSpec(opts.shape, opts), out: opts.out });
}

/** The exact header bytes and size a test model must have (cheap: generates no weights). */
export function expectedTestModelLayout(
  shape: TestModelShape,
  opts: { seed?: number; type?: TestModelType } = {},
): { header: Buffer; totalBytes: number } {
  return ggufLayout(llamaModelFile(testModelSpec(shape, opts)));
}
