// Public API of the test-model generator (random-weight llama GGUF files), the stand-in
// models (random weights with a real family's tokenizer and chat template, standin.ts) and the
// llama.cpp source files they are built from (llamaCppSource.ts).

import { open, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  DEFAULT_SEED,
  DEFAULT_TYPE,
  expectedTestModelLayout,
  writeTestModel,
  type TestModelShape,
  type TestModelType,
} from "./testModel.js";

export { f16BitsToF32, f32ToF16Bits } from "./f16.js";
export {
  gguf,
  ggufLayout,
  ggufPlan,
  tensorDataBytes,
  writeGguf,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_TENSOR_TYPES,
  GGUF_VERSION,
  type GgufFile,
  type GgufPlan,
  type GgufPlannedTensor,
  type GgufTensor,
  type GgufTensorType,
  type GgufValue,
  type GgufWriteResult,
} from "./writer.js";
export { dequantize, quantize, QUANT_BLOCKS, type QuantType } from "./quant.js";
export {
  buildSpmVocab,
  vocabMetadata,
  requiredPieces,
  CHAT_CONTROL_TOKENS,
  TOKEN_TYPE,
  WORD_START,
  type SpmVocab,
  type VocabOptions,
} from "./vocab.js";
export { CHATML_TEMPLATE, renderChatML, type ChatMessage } from "./chatTemplate.js";
export {
  DEFAULT_SEED,
  DEFAULT_TYPE,
  GENERATOR_VERSION,
  GGML_QNT_VERSION,
  LLAMA_FTYPE,
  MAX_PIECE_CHARS,
  SHAPES,
  TEST_MODEL_TYPES,
  llamaMatrixType,
  llamaModelFile,
  llamaNetworkFile,
  parameterCount,
  testModelSpec,
  writeLlamaModel,
  writeTestModel,
  type LlamaModelSpec,
  type LlamaNetworkSpec,
  type ModelShape,
  type TestModelShape,
  type TestModelType,
  type WrittenModel,
} from "./testModel.js";

export {
  llamaCppBundlePath,
  llamaCppSourceCommit,
  llamaCppSourceFile,
  llamaCppSourceText,
  type LlamaCppSourceOptions,
} from "./llamaCppSource.js";
export {
  parseGgufHeader,
  parseGgufMetadata,
  readGgufHeader,
  readGgufMetadata,
  readGgufTensor,
  type GgufHeader,
  type GgufMetadata,
  type GgufTensorInfo,
} from "./reader.js";
export {
  defaultStandinModelPath,
  ensureStandinModel,
  isStandinFamily,
  isStandinShape,
  planStandinModel,
  standinModelFile,
  standinModelName,
  standinSources,
  writeStandinModel,
  DEFAULT_STANDIN_TYPE,
  LLAMA3_8B_SHAPE,
  STANDIN_FAMILIES,
  STANDIN_GENERATOR_VERSION,
  STANDIN_SHAPE,
  STANDIN_SHAPES,
  type StandinFamily,
  type StandinOptions,
  type StandinShape,
} from "./standin.js";

export function isTestModelShape(name: string): name is TestModelShape {
  return name === "tiny" || name === "bench";
}

/** `<root>/.cache/models/valuelens-<shape>-<type>-seed<seed>.gguf` */
export function defaultTestModelPath(
  shape: TestModelShape,
  type: TestModelType = DEFAULT_TYPE,
  opts: { root?: string; seed?: number } = {},
): string {
  const root = resolve(opts.root ?? process.cwd());
  return join(root, ".cache", "models", `valuelens-${shape}-${type}-seed${opts.seed ?? DEFAULT_SEED}.gguf`);
}

/** True if `path` holds exactly the header and size this generator would write. */
async function isUpToDate(path: string, expected: { header: Buffer; totalBytes: number }): Promise<boolean> {
  try {
    if ((await stat(path)).size !== expected.totalBytes) return false;
    const fh = await open(path, "r");
    try {
      const buf = Buffer.alloc(expected.header.length);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return bytesRead === buf.length && buf.equals(expected.header);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

/**
 * Returns the path of the cached test model, writing it first if it is missing or was written
 * by another generator version (the header, which records the version, must match byte for
 * byte). Concurrent callers are safe: each writes a temporary file and renames it into place.
 */
export async function ensureTestModel(
  shape: TestModelShape,
  opts: {
    root?: string;
    type?: TestModelType;
    seed?: number;
    /** Explicit output path instead of the default cache path. */
    out?: string;
    /** Called before a model is (re)written, e.g. to tell the user (bench takes seconds). */
    onWrite?: (path: string) => void;
  } = {},
): Promise<string> {
  const type = opts.type ?? DEFAULT_TYPE;
  const seed = opts.seed ?? DEFAULT_SEED;
  const path = opts.out ?? defaultTestModelPath(shape, type, { root: opts.root, seed });
  if (!(await isUpToDate(path, expectedTestModelLayout(shape, { seed, type })))) {
    opts.onWrite?.(path);
    await writeTestModel({ shape, out: path, seed, type });
  }
  return path;
}
