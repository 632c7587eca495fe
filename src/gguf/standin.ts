// Stand-in models: a small random-weight llama network that carries a real model family's
// tokenizer and chat template, so llama.cpp (node-llama-cpp, llama-server) tokenizes and
// templates prompts exactly as it does for the real model, in a file of tens of MB.
//
// Tokenizers and templates come from the llama.cpp source node-llama-cpp runs (its git
// bundle, see llamaCppSource.ts): every tokenizer.* key of a vocabulary-only GGUF from
// llama.cpp's models/ is copied with its exact GGUF types, then the family's special tokens
// are added; the chat template is the model's own, verbatim.
//
//   family   vocabulary (models/...)         chat template (models/templates/...)    notes
//   llama3   ggml-vocab-llama-bpe.gguf        meta-llama-Llama-3.3-70B-Instruct.jinja Llama 3's own vocabulary (128256 tokens);
//                                                                                     eos <|eot_id|> (128009), add_bos true
//   gemma2   ggml-vocab-gemma-4.gguf          google-gemma-2-2b-it.jinja              Gemma 2's SPM vocabulary is not in the bundle:
//                                                                                     Gemma 4's (tokenizer "gemma4", 262144 tokens)
//                                                                                     stands in; <start_of_turn>/<end_of_turn> replace
//                                                                                     Gemma 4's <|turn>/<turn|> at 105/106 (Gemma 3's ids)
//   qwen3    ggml-vocab-qwen2.gguf            Qwen-Qwen3-0.6B.jinja                   Qwen's vocabulary (151936 tokens); Qwen3's added
//                                                                                     tokens replace the [PAD] placeholders at their real
//                                                                                     ids (<think> 151667, </think> 151668); eos <|im_end|>
//   gptoss   ggml-vocab-llama-bpe.gguf        openai-gpt-oss-120b.jinja               o200k_harmony is not in the bundle: Llama 3's
//                                                                                     vocabulary stands in, its 256 special tokens renamed
//                                                                                     <|reserved_ID|>, the harmony tokens appended
//
// Token types follow what llama.cpp's converter gives the real model: added tokens that look
// special (<|...|>) or are marked special are CONTROL; Qwen3's <think>, </think>,
// <tool_call>, ... are "special": false upstream, so they are USER_DEFINED, as in real
// Qwen3 GGUFs. llama.cpp itself turns harmony's <|channel|>, <|message|>, <|start|>,
// <|constrain|> and (next to <|return|> and <|call|>) <|end|> into user-defined tokens at
// load time, for the real GPT-OSS as for this stand-in.
//
// The network is the test models' (testModel.ts llamaNetworkFile) with a small shape and tied
// embeddings (no output.weight), F32 unless another type is asked for (F16, or Q8_0/Q4_0 as
// llama-quantize makes them). Same family + seed + type => byte-identical file.
//
// The `llama3-8b` shape is Llama-3-8B itself but for the weights: its exact dimensions
// (n_embd 4096, 32 layers, 32 heads, 8 KV heads, n_ff 14336, separate output matrix) with
// Llama 3's vocabulary and chat template, so speed can be measured on the real shape without
// downloading the model (Q4_0: 4.66 GB, the size of a real Llama-3-8B Q4_0 GGUF).

import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  llamaCppSourceCommit,
  llamaCppSourceFile,
  llamaCppSourceText,
  type LlamaCppSourceOptions,
} from "./llamaCppSource.js";
import { parseGgufMetadata, readFilePrefix, readGgufMetadata } from "./reader.js";
import { isStandinFamily, STANDIN_FAMILIES, type StandinFamily } from "./standinFamilies.js";
import {
  DEFAULT_SEED,
  LLAMA_FTYPE,
  llamaNetworkFile,
  parameterCount,
  TEST_MODEL_TYPES,
  type ModelShape,
  type TestModelType,
  type WrittenModel,
} from "./testModel.js";
import { TOKEN_TYPE } from "./vocab.js";
import { gguf, ggufPlan, writeGguf, type GgufFile, type GgufPlan, type GgufValue } from "./writer.js";

export { isStandinFamily, STANDIN_FAMILIES, type StandinFamily };

/**
 * Bump when anything that changes the bytes of a stand-in for a given (family, seed) changes
 * (this file, or llamaNetworkFile in testModel.ts). It is stored in the file, so cached
 * stand-ins are rebuilt. (The llama.cpp commit is stored too: a new bundle also rebuilds.)
 */
export const STANDIN_GENERATOR_VERSION = 2;

/**
 * The network of every stand-in. n_embd 32 keeps token_embd (n_vocab x n_embd, F32, tied to
 * the output) at 16-34 MB for 128k-262k vocabularies; 4 query heads share 2 KV heads (GQA, as
 * all four real families do). F32, not F16: llama.cpp builds with other SIMD paths (the
 * prebuilt llama-server, node-llama-cpp's binaries) round F16 dot products differently, about
 * 1e-3 relative in a letter's probability; in F32 the two agree to about 1e-5, so tests can hold
 * the backends to the same numbers.
 */
export const STANDIN_SHAPE: Readonly<Omit<ModelShape, "nVocab">> = {
  nEmbd: 32,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nFf: 128,
  nCtx: 8192,
  rmsEps: 1e-5,
};

/** Llama-3-8B's hyperparameters (Meta-Llama-3-8B's config.json, as llama.cpp converts it). */
export const LLAMA3_8B_SHAPE: Readonly<Omit<ModelShape, "nVocab">> = {
  nEmbd: 4096,
  nLayer: 32,
  nHead: 32,
  nHeadKv: 8,
  nFf: 14336,
  nCtx: 8192,
  rmsEps: 1e-5,
};

/** The networks a stand-in can have: the small default, or a real model's exact shape. */
export const STANDIN_SHAPES = ["small", "llama3-8b"] as const;
export type StandinShape = (typeof STANDIN_SHAPES)[number];

const SHAPE_DEFS: Record<
  StandinShape,
  {
    dims: Readonly<Omit<ModelShape, "nVocab">>;
    tiedEmbeddings: boolean;
    families: readonly StandinFamily[];
    nameSuffix: string;
    description: string;
  }
> = {
  small: { dims: STANDIN_SHAPE, tiedEmbeddings: true, families: STANDIN_FAMILIES, nameSuffix: "", description: "" },
  // Llama 3 8B has its own output matrix (tie_word_embeddings false).
  "llama3-8b": {
    dims: LLAMA3_8B_SHAPE,
    tiedEmbeddings: false,
    families: ["llama3"],
    nameSuffix: "-8b",
    description: ", at Llama-3-8B's exact dimensions",
  },
};

export function isStandinShape(name: string): name is StandinShape {
  return (STANDIN_SHAPES as readonly string[]).includes(name);
}

type TokenType = (typeof TOKEN_TYPE)[keyof typeof TOKEN_TYPE];
const { control: CONTROL, userDefined: USER_DEFINED } = TOKEN_TYPE;

interface FamilyDef {
  /** The real model(s) it stands in for, in words (general.description). */
  standsInFor: string;
  /** Vocabulary-only GGUF in llama.cpp's source. */
  vocab: string;
  /** Chat template in llama.cpp's source. */
  template: string;
  /** The real model's RoPE base (cosmetic on a random network; realistic in the metadata). */
  ropeFreqBase: number;
  /** Turns the base vocabulary into the family's. */
  adapt(v: VocabEditor): void;
}

const FAMILIES: Record<StandinFamily, FamilyDef> = {
  llama3: {
    standsInFor: "Llama 3.x Instruct (Llama 3's vocabulary, Llama 3.3's chat template)",
    vocab: "models/ggml-vocab-llama-bpe.gguf",
    template: "models/templates/meta-llama-Llama-3.3-70B-Instruct.jinja",
    ropeFreqBase: 500000,
    adapt(v) {
      v.expectToken(128006, "<|start_header_id|>");
      v.setId("tokenizer.ggml.bos_token_id", v.expectToken(128000, "<|begin_of_text|>"));
      v.setId("tokenizer.ggml.eos_token_id", v.expectToken(128009, "<|eot_id|>"));
      v.setBool("tokenizer.ggml.add_bos_token", true);
    },
  },
  gemma2: {
    standsInFor: "Gemma 2 instruction-tuned (Gemma 4's vocabulary standing in for Gemma 2's, Gemma 2's chat template)",
    vocab: "models/ggml-vocab-gemma-4.gguf",
    template: "models/templates/google-gemma-2-2b-it.jinja",
    ropeFreqBase: 10000,
    adapt(v) {
      // Gemma 3 (the same tokenizer lineage) has the turn tokens at 105/106, where Gemma 4 has its own.
      v.place(v.expectToken(105, "<|turn>"), "<start_of_turn>", CONTROL);
      v.place(v.expectToken(106, "<turn|>"), "<end_of_turn>", CONTROL);
      v.setId("tokenizer.ggml.bos_token_id", v.expectToken(2, "<bos>"));
      v.setId("tokenizer.ggml.eos_token_id", v.expectToken(1, "<eos>"));
      v.setBool("tokenizer.ggml.add_bos_token", true);
    },
  },
  qwen3: {
    standsInFor: "Qwen3 (Qwen's vocabulary with Qwen3's added tokens, Qwen3's chat template)",
    vocab: "models/ggml-vocab-qwen2.gguf",
    template: "models/templates/Qwen-Qwen3-0.6B.jinja",
    ropeFreqBase: 1000000,
    adapt(v) {
      // Qwen3's added tokens (tokenizer_config.json), at their real ids. The <|...|> ones are
      // control tokens; the others are "special": false upstream, so user-defined.
      const added: Array<[string, TokenType]> = [
        ["<|object_ref_start|>", CONTROL],
        ["<|object_ref_end|>", CONTROL],
        ["<|box_start|>", CONTROL],
        ["<|box_end|>", CONTROL],
        ["<|quad_start|>", CONTROL],
        ["<|quad_end|>", CONTROL],
        ["<|vision_start|>", CONTROL],
        ["<|vision_end|>", CONTROL],
        ["<|vision_pad|>", CONTROL],
        ["<|image_pad|>", CONTROL],
        ["<|video_pad|>", CONTROL],
        ["<tool_call>", USER_DEFINED],
        ["</tool_call>", USER_DEFINED],
        ["<|fim_prefix|>", CONTROL],
        ["<|fim_middle|>", CONTROL],
        ["<|fim_suffix|>", CONTROL],
        ["<|fim_pad|>", CONTROL],
        ["<|repo_name|>", CONTROL],
        ["<|file_sep|>", CONTROL],
        ["<tool_response>", USER_DEFINED],
        ["</tool_response>", USER_DEFINED],
        ["<think>", USER_DEFINED],
        ["</think>", USER_DEFINED],
      ];
      added.forEach(([text, type], i) => v.place(v.expectToken(151646 + i, `[PAD${151646 + i}]`), text, type));
      v.expectToken(151667, "<think>");
      v.setId("tokenizer.ggml.bos_token_id", v.expectToken(151643, "<|endoftext|>"));
      v.setId("tokenizer.ggml.eos_token_id", v.expectToken(151645, "<|im_end|>"));
      v.setId("tokenizer.ggml.padding_token_id", 151643);
      v.setBool("tokenizer.ggml.add_bos_token", false);
    },
  },
  gptoss: {
    standsInFor:
      "GPT-OSS (Llama 3's vocabulary standing in for o200k_harmony, with the harmony tokens; GPT-OSS's chat template)",
    vocab: "models/ggml-vocab-llama-bpe.gguf",
    template: "models/templates/openai-gpt-oss-120b.jinja",
    ropeFreqBase: 150000,
    adapt(v) {
      // Llama 3's special tokens (<|eot_id|>, <|end_of_text|>, ... which llama.cpp treats as
      // end-of-generation by name) become neutral reserved tokens, as o200k_harmony has.
      for (let id = 128000; id < 128256; id++) {
        if (v.types[id] !== CONTROL)
          throw new Error(`stand-in gptoss: token ${id} of the llama-bpe vocabulary is not a control token`);
        v.place(id, `<|reserved_${id}|>`, CONTROL);
      }
      // In o200k_harmony order (ids 199998, 199999, 200002, 200003, 200005-200008, 200012).
      const harmony = [
        "<|startoftext|>",
        "<|endoftext|>",
        "<|return|>",
        "<|constrain|>",
        "<|channel|>",
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|call|>",
      ];
      const ids = new Map(harmony.map((t) => [t, v.append(t, CONTROL)]));
      v.setId("tokenizer.ggml.bos_token_id", ids.get("<|startoftext|>")!);
      v.setId("tokenizer.ggml.eos_token_id", ids.get("<|return|>")!);
      v.setId("tokenizer.ggml.padding_token_id", ids.get("<|endoftext|>")!);
      v.setBool("tokenizer.ggml.add_bos_token", false);
    },
  },
};

/** Which vocabulary and template a family's stand-in uses (paths in llama.cpp's source). */
export function standinSources(family: StandinFamily): { vocab: string; template: string; standsInFor: string } {
  const f = FAMILIES[family];
  return { vocab: f.vocab, template: f.template, standsInFor: f.standsInFor };
}

/** The tokenizer.* metadata of a vocabulary file, editable token by token. */
class VocabEditor {
  readonly tokens: string[];
  readonly types: number[];
  readonly scores: number[] | undefined;
  private readonly entries: Array<[string, GgufValue]>;
  private index: Map<string, number> | undefined;

  constructor(
    metadata: ReadonlyArray<readonly [string, GgufValue]>,
    private readonly source: string,
  ) {
    this.entries = metadata
      .filter(([k]) => k.startsWith("tokenizer.") && k !== "tokenizer.chat_template")
      .map(([k, v]) => [k, v]);
    const tokens = this.get("tokenizer.ggml.tokens");
    const types = this.get("tokenizer.ggml.token_type");
    if (tokens?.type !== "string[]")
      throw new Error(`${source}: tokenizer.ggml.tokens is ${tokens?.type ?? "missing"}, expected string[]`);
    if (types?.type !== "i32[]")
      throw new Error(`${source}: tokenizer.ggml.token_type is ${types?.type ?? "missing"}, expected i32[]`);
    this.tokens = [...tokens.value];
    this.types = Array.from(types.value);
    const scores = this.get("tokenizer.ggml.scores");
    if (scores && scores.type !== "f32[]")
      throw new Error(`${source}: tokenizer.ggml.scores is ${scores.type}, expected f32[]`);
    this.scores = scores ? Array.from(scores.value) : undefined;
    this.checkLengths();
  }

  private get(key: string): GgufValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
  private set(key: string, value: GgufValue): void {
    const at = this.entries.findIndex(([k]) => k === key);
    if (at >= 0) this.entries[at] = [key, value];
    else this.entries.push([key, value]);
  }
  private checkLengths(): void {
    const n = this.tokens.length;
    if (this.types.length !== n) throw new Error(`${this.source}: ${n} tokens but ${this.types.length} token types`);
    if (this.scores && this.scores.length !== n)
      throw new Error(`${this.source}: ${n} tokens but ${this.scores.length} scores`);
  }

  /** The id of a token, or -1. */
  id(text: string): number {
    this.index ??= new Map(this.tokens.map((t, i) => [t, i]));
    return this.index.get(text) ?? -1;
  }
  /** Returns `id` after checking the base vocabulary has `text` there (the bundle's files are what we expect). */
  expectToken(id: number, text: string): number {
    if (this.tokens[id] !== text) {
      throw new Error(
        `stand-in: ${this.source} has ${JSON.stringify(this.tokens[id])} at id ${id}, expected ${JSON.stringify(text)} (did the llama.cpp bundle change?)`,
      );
    }
    return id;
  }
  /** Puts `text` at an existing id (replacing a placeholder); the score stays. */
  place(id: number, text: string, type: TokenType): void {
    if (id < 0 || id >= this.tokens.length) throw new Error(`stand-in: id ${id} is outside the vocabulary`);
    const existing = this.id(text);
    if (existing >= 0 && existing !== id)
      throw new Error(`stand-in: ${JSON.stringify(text)} is already token ${existing}`);
    this.index?.delete(this.tokens[id]!);
    this.tokens[id] = text;
    this.types[id] = type;
    this.index?.set(text, id);
  }
  /** Appends a token (score 0 where the vocabulary has scores); returns its id. */
  append(text: string, type: TokenType): number {
    if (this.id(text) >= 0) throw new Error(`stand-in: ${JSON.stringify(text)} is already token ${this.id(text)}`);
    const id = this.tokens.length;
    this.tokens.push(text);
    this.types.push(type);
    this.scores?.push(0);
    this.index?.set(text, id);
    return id;
  }
  /** Sets a token-id key, keeping the GGUF type the vocabulary file gives it (else u32). */
  setId(key: string, id: number): void {
    if (id < 0 || id >= this.tokens.length) throw new Error(`stand-in: ${key} = ${id} is outside the vocabulary`);
    const old = this.get(key);
    this.set(key, old?.type === "i32" ? gguf.i32(id) : gguf.u32(id));
  }
  setBool(key: string, value: boolean): void {
    this.set(key, gguf.bool(value));
  }

  /** Every tokenizer.* key of the vocabulary file in its order (new keys last), edited. */
  metadata(): Array<[string, GgufValue]> {
    this.checkLengths();
    return this.entries.map(([k, v]): [string, GgufValue] => {
      if (k === "tokenizer.ggml.tokens") return [k, gguf.strings(this.tokens)];
      if (k === "tokenizer.ggml.token_type") return [k, gguf.i32s(this.types)];
      if (k === "tokenizer.ggml.scores") return [k, gguf.f32s(this.scores!)];
      return [k, v];
    });
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`seed must be a u32 integer, got ${seed}`);
}

function checkFamily(family: string): asserts family is StandinFamily {
  if (!isStandinFamily(family))
    throw new Error(`unknown stand-in family ${JSON.stringify(family)} (known: ${STANDIN_FAMILIES.join(", ")})`);
}

/** The valuelens.* keys of a stand-in (also what the cache compares). */
function standinHeader(
  family: StandinFamily,
  seed: number,
  commit: string,
  shape: StandinShape,
): Array<[string, GgufValue]> {
  return [
    [
      "general.description",
      gguf.string(
        `valuelens stand-in (random weights) for ${FAMILIES[family].standsInFor}${SHAPE_DEFS[shape].description}`,
      ),
    ],
    ["valuelens.generator_version", gguf.u32(STANDIN_GENERATOR_VERSION)],
    ["valuelens.family", gguf.string(family)],
    ...(shape === "small" ? [] : [["valuelens.shape", gguf.string(shape)] as [string, GgufValue]]),
    ["valuelens.seed", gguf.u32(seed)],
    ["valuelens.llama_cpp_commit", gguf.string(commit)],
  ];
}

/**
 * general.name, which is also the default file name: `valuelens-standin-<family>[-8b][-<type>]-seed<seed>`
 * (the small F32 default without a type, as before types existed).
 */
export function standinModelName(
  family: StandinFamily,
  opts: { seed?: number; type?: TestModelType; shape?: StandinShape } = {},
): string {
  const shape = opts.shape ?? "small";
  const type = opts.type ?? DEFAULT_STANDIN_TYPE;
  const typePart = type === DEFAULT_STANDIN_TYPE && shape === "small" ? "" : `-${type}`;
  return `valuelens-standin-${family}${SHAPE_DEFS[shape].nameSuffix}${typePart}-seed${opts.seed ?? DEFAULT_SEED}`;
}

/** F32 (see STANDIN_SHAPE for why). */
export const DEFAULT_STANDIN_TYPE: TestModelType = "f32";

function checkShape(family: StandinFamily, shape: string, type: string): asserts shape is StandinShape {
  if (!isStandinShape(shape))
    throw new Error(`unknown stand-in shape ${JSON.stringify(shape)} (known: ${STANDIN_SHAPES.join(", ")})`);
  if (!SHAPE_DEFS[shape].families.includes(family)) {
    throw new Error(`the ${shape} shape is for the ${SHAPE_DEFS[shape].families.join(", ")} stand-in, not ${family}`);
  }
  if (!(TEST_MODEL_TYPES as readonly string[]).includes(type))
    throw new Error(`unknown tensor type ${JSON.stringify(type)} (known: ${TEST_MODEL_TYPES.join(", ")})`);
}

export interface StandinOptions {
  /** Weights seed (default 1). */
  seed?: number;
  /** Tensor type of the weight matrices (default f32); q8_0/q4_0 follow llama-quantize's choices. */
  type?: TestModelType;
  /** Network shape (default small: n_embd 32, 2 layers, tied embeddings). */
  shape?: StandinShape;
  /** Project root: the llama.cpp cache (and default model cache) live under `<root>/.cache`. */
  root?: string;
  /** Overrides for the llama.cpp source bundle and git (tests). */
  source?: Omit<LlamaCppSourceOptions, "root">;
}

/** The complete GGUF description of a stand-in (reads the vocabulary and template from llama.cpp's source). */
export async function standinModelFile(family: StandinFamily, opts: StandinOptions = {}): Promise<GgufFile> {
  checkFamily(family);
  const seed = opts.seed ?? DEFAULT_SEED;
  checkSeed(seed);
  const shape = opts.shape ?? "small";
  const type = opts.type ?? DEFAULT_STANDIN_TYPE;
  checkShape(family, shape, type);
  const def = FAMILIES[family];
  const src: LlamaCppSourceOptions = { ...opts.source, root: opts.root };
  const commit = llamaCppSourceCommit(src);
  const [vocabFile, template] = await Promise.all([
    llamaCppSourceFile(def.vocab, src),
    llamaCppSourceText(def.template, src),
  ]);
  const vocabInfo = await readGgufMetadata(vocabFile);
  const uncopied = vocabInfo.skipped.filter((k) => k.startsWith("tokenizer."));
  if (uncopied.length > 0)
    throw new Error(
      `stand-in ${family}: ${def.vocab}: cannot copy ${uncopied.join(", ")} (array type the GGUF writer lacks)`,
    );
  const editor = new VocabEditor(vocabInfo.metadata, def.vocab);
  def.adapt(editor);
  const vocabMetadata = editor.metadata();
  return llamaNetworkFile({
    shape: { ...SHAPE_DEFS[shape].dims, nVocab: editor.tokens.length },
    seed,
    type,
    name: standinModelName(family, { seed, type, shape }),
    headerMetadata: standinHeader(family, seed, commit, shape),
    vocabMetadata: [...vocabMetadata, ["tokenizer.chat_template", gguf.string(template)]],
    ropeFreqBase: def.ropeFreqBase,
    tiedEmbeddings: SHAPE_DEFS[shape].tiedEmbeddings,
  });
}

/** What writing a stand-in would give (types, sizes, the file size), without generating any weights. */
export async function planStandinModel(
  family: StandinFamily,
  opts: StandinOptions = {},
): Promise<GgufPlan & { name: string; params: number }> {
  const file = await standinModelFile(family, opts);
  return { ...ggufPlan(file), name: standinModelName(family, opts), params: parameterCount(file) };
}

/** Writes a stand-in model to `out`. Same (family, seed, type, shape, llama.cpp bundle) => byte-identical file. */
export async function writeStandinModel(
  opts: StandinOptions & {
    family: StandinFamily;
    out: string;
    onProgress?: (bytesWritten: number, totalBytes: number) => void;
  },
): Promise<WrittenModel> {
  const file = await standinModelFile(opts.family, opts);
  const { path, bytes, sha256 } = await writeGguf(opts.out, file, { onProgress: opts.onProgress });
  const nVocab = file.tensors.find((t) => t.name === "token_embd.weight")!.dims[1]!;
  return { path, bytes, sha256, nVocab, params: parameterCount(file) };
}

/** `<root>/.cache/models/<standinModelName>.gguf`, e.g. valuelens-standin-llama3-seed1.gguf */
export function defaultStandinModelPath(
  family: StandinFamily,
  opts: { root?: string; seed?: number; type?: TestModelType; shape?: StandinShape } = {},
): string {
  const root = resolve(opts.root ?? process.cwd());
  return join(root, ".cache", "models", `${standinModelName(family, opts)}.gguf`);
}

/** True if `path` is a stand-in with exactly these keys (name, file type, version, family, seed, llama.cpp commit). */
async function isUpToDate(path: string, expected: ReadonlyArray<readonly [string, GgufValue]>): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    // The keys come right after general.*, within the first KB.
    const lastKey = expected.at(-1)![0];
    const { metadata } = parseGgufMetadata(await readFilePrefix(path, 1 << 16), { stopAfter: (k) => k === lastKey });
    const got = new Map(metadata);
    return expected.every(([k, v]) => JSON.stringify(got.get(k)) === JSON.stringify(v));
  } catch {
    return false; // missing, unreadable, not GGUF, or the keys are not where a stand-in has them
  }
}

/**
 * Returns the path of the cached stand-in for `family`, writing it first if it is missing or
 * was written by another generator version, for another seed or from another llama.cpp
 * bundle. Concurrent callers are safe (each writes a temporary file and renames it).
 */
export async function ensureStandinModel(
  family: StandinFamily,
  opts: StandinOptions & {
    /** Explicit output path instead of the default cache path. */
    out?: string;
    /** Called before the model is (re)written (a few seconds). */
    onWrite?: (path: string) => void;
  } = {},
): Promise<string> {
  checkFamily(family);
  const seed = opts.seed ?? DEFAULT_SEED;
  checkSeed(seed);
  const shape = opts.shape ?? "small";
  const type = opts.type ?? DEFAULT_STANDIN_TYPE;
  checkShape(family, shape, type);
  const path = opts.out ?? defaultStandinModelPath(family, { root: opts.root, seed, type, shape });
  const commit = llamaCppSourceCommit({ ...opts.source, root: opts.root });
  const expected: Array<[string, GgufValue]> = [
    ["general.name", gguf.string(standinModelName(family, { seed, type, shape }))],
    ["general.file_type", gguf.u32(LLAMA_FTYPE[type])],
    ...standinHeader(family, seed, commit, shape),
  ];
  if (!(await isUpToDate(path, expected))) {
    opts.onWrite?.(path);
    await writeStandinModel({ ...opts, family, seed, out: path });
  }
  return path;
}
