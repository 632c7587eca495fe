// Stand-in models: random weights with a real family's tokenizer and chat template, built from
// the llama.cpp source node-llama-cpp ships (git bundle), checked against real llama.cpp
// (node-llama-cpp on CPU) and against the tokenizer tests llama.cpp ships with each vocabulary.
// Skipped loudly without git.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
  ensureStandinModel,
  llamaCppSourceFile,
  llamaCppSourceText,
  readGgufMetadata,
  STANDIN_FAMILIES,
  standinSources,
  writeStandinModel,
  writeTestModel,
  type GgufValue,
  type StandinFamily,
} from "../src/gguf/index.js";
import { modelFile } from "../src/models/open.js";
import { resolveModel } from "../src/models/registry.js";
import { UserError } from "../src/util/errors.js";
import { valuelens } from "./helpers/cli.js";
import { thrown } from "./helpers/errors.js";
import { PROJECT_ROOT, TEST_THREADS } from "./helpers/models.js";

const hasGit = spawnSync("git", ["--version"]).status === 0;
if (!hasGit)
  console.warn(
    "SKIPPED test/standin.test.ts: stand-in models need git (to read node-llama-cpp's llama.cpp source bundle)",
  );

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

interface SpecialToken {
  text: string;
  id: number;
  /** The attribute llama.cpp gives it at load time. */
  kind: "control" | "userDefined";
  eog?: boolean;
}

/** What each stand-in must look like to llama.cpp (ids as in the real models, except GPT-OSS's). */
const EXPECTED: Record<
  StandinFamily,
  { nVocab: number; bos: number; eos: number; addBos: boolean; specials: SpecialToken[] }
> = {
  llama3: {
    nVocab: 128256,
    bos: 128000,
    eos: 128009,
    addBos: true,
    specials: [
      { text: "<|begin_of_text|>", id: 128000, kind: "control" },
      { text: "<|start_header_id|>", id: 128006, kind: "control" },
      { text: "<|end_header_id|>", id: 128007, kind: "control" },
      { text: "<|eot_id|>", id: 128009, kind: "control", eog: true },
    ],
  },
  gemma2: {
    nVocab: 262144,
    bos: 2,
    eos: 1,
    addBos: true,
    specials: [
      { text: "<bos>", id: 2, kind: "control" },
      { text: "<start_of_turn>", id: 105, kind: "control" },
      { text: "<end_of_turn>", id: 106, kind: "control", eog: true },
      { text: "<eos>", id: 1, kind: "control", eog: true },
    ],
  },
  qwen3: {
    nVocab: 151936,
    bos: 151643,
    eos: 151645,
    addBos: false,
    specials: [
      { text: "<|im_start|>", id: 151644, kind: "control" },
      { text: "<|im_end|>", id: 151645, kind: "control", eog: true },
      { text: "<|endoftext|>", id: 151643, kind: "control", eog: true },
      // "special": false in Qwen3's tokenizer_config.json, so user-defined in real Qwen3 GGUFs.
      { text: "<think>", id: 151667, kind: "userDefined" },
      { text: "</think>", id: 151668, kind: "userDefined" },
      { text: "<tool_call>", id: 151657, kind: "userDefined" },
      { text: "<|fim_prefix|>", id: 151659, kind: "control" },
    ],
  },
  gptoss: {
    nVocab: 128256 + 9,
    bos: 128256,
    eos: 128258,
    addBos: false,
    specials: [
      { text: "<|startoftext|>", id: 128256, kind: "control" },
      { text: "<|endoftext|>", id: 128257, kind: "control", eog: true },
      { text: "<|return|>", id: 128258, kind: "control", eog: true },
      { text: "<|call|>", id: 128264, kind: "control", eog: true },
      // llama.cpp makes these user-defined for any vocabulary with harmony tokens (as for the real GPT-OSS).
      { text: "<|constrain|>", id: 128259, kind: "userDefined" },
      { text: "<|channel|>", id: 128260, kind: "userDefined" },
      { text: "<|start|>", id: 128261, kind: "userDefined" },
      { text: "<|end|>", id: 128262, kind: "userDefined" },
      { text: "<|message|>", id: 128263, kind: "userDefined" },
    ],
  },
};

/** Token ids the family changes in its base vocabulary (everything else must be copied as is). */
function changedIds(family: StandinFamily): Set<number> {
  if (family === "gemma2") return new Set([105, 106]);
  if (family === "qwen3") return new Set(Array.from({ length: 151668 - 151646 + 1 }, (_, i) => 151646 + i));
  if (family === "gptoss") return new Set(Array.from({ length: 256 }, (_, i) => 128000 + i));
  return new Set();
}

/** llama.cpp's tokenizer test pairs for a vocabulary (split exactly as tests/test-tokenizer-0.cpp does). */
async function tokenizerTests(vocab: string): Promise<Array<{ text: string; ids: number[] }>> {
  const raw = await readFile(await llamaCppSourceFile(`${vocab}.inp`, { root: PROJECT_ROOT }), "utf8");
  const sep = "\n__ggml_vocab_test__\n";
  const inputs: string[] = [];
  for (let pos = 0; pos < raw.length; ) {
    const next = raw.indexOf(sep, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + sep.length;
  }
  const lines = (await readFile(await llamaCppSourceFile(`${vocab}.out`, { root: PROJECT_ROOT }), "utf8")).split("\n");
  if (lines.at(-1) === "") lines.pop();
  expect(lines).toHaveLength(inputs.length);
  return inputs.map((text, i) => ({
    text,
    ids: lines[i]!.trim() === "" ? [] : lines[i]!.trim().split(/\s+/).map(Number),
  }));
}

async function nextTokenProbabilities(model: LlamaModel, tokens: Token[]): Promise<Map<Token, number>> {
  const context = await model.createContext({ threads: TEST_THREADS, contextSize: 256 });
  try {
    const items: ControlledEvaluateInputItem[] = tokens.map((t, i) =>
      i === tokens.length - 1 ? [t, { generateNext: { probabilities: true } }] : t,
    );
    const probabilities = (await context.getSequence().controlledEvaluate(items)).at(-1)?.next.probabilities;
    if (!probabilities) throw new Error("no probabilities returned");
    return probabilities;
  } finally {
    await context.dispose();
  }
}

const metadataValue = (md: Array<[string, GgufValue]>, key: string) => md.find(([k]) => k === key)?.[1];

/** Same type and same elements (both absent counts as the same); a loop, as deep equality of 500k-element arrays is slow. */
function sameArray(a: GgufValue | undefined, b: GgufValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type || (!Array.isArray(a.value) && !ArrayBuffer.isView(a.value))) return false;
  const x = a.value as ArrayLike<unknown>;
  const y = b.value as ArrayLike<unknown>;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

let dir: string;
let llama: Llama;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "valuelens-standin-"));
  if (hasGit) llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});

afterAll(async () => {
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasGit).each(STANDIN_FAMILIES)("stand-in %s", (family) => {
  const expected = EXPECTED[family];
  const { vocab, template } = standinSources(family);
  let path: string;
  let model: LlamaModel;

  beforeAll(async () => {
    path = await ensureStandinModel(family, { root: PROJECT_ROOT });
    model = await llama.loadModel({ modelPath: path });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  it("loads in llama.cpp with the family's vocabulary size, bos/eos and the bundled chat template verbatim", async () => {
    expect(path).toBe(defaultStandinModelPath(family, { root: PROJECT_ROOT }));
    expect(model.fileInfo.metadata.general.architecture).toBe("llama");
    expect(model.tokens.bos).toBe(expected.bos);
    expect(model.tokens.eos).toBe(expected.eos);
    expect(model.tokens.shouldPrependBosToken).toBe(expected.addBos);
    expect(model.fileInfo.metadata.tokenizer.chat_template).toBe(
      await llamaCppSourceText(template, { root: PROJECT_ROOT }),
    );
    const md = model.fileInfo.metadata as unknown as { valuelens: { family: string; generator_version: number } };
    expect(md.valuelens.family).toBe(family);
    expect(model.fileInfo.tensorInfo?.some((t) => t.name === "output.weight")).toBe(false); // tied to token_embd
  });

  it("copies every tokenizer key of the vocabulary file with its GGUF type; only the family's tokens differ", async () => {
    const base = (await readGgufMetadata(await llamaCppSourceFile(vocab, { root: PROJECT_ROOT }))).metadata;
    const ours = (await readGgufMetadata(path)).metadata; // reads the whole file: fine at these sizes
    const keys = (md: Array<[string, GgufValue]>) =>
      md.map(([k]) => k).filter((k) => k.startsWith("tokenizer.") && k !== "tokenizer.chat_template");
    for (const k of keys(base)) {
      expect(metadataValue(ours, k)?.type, k).toBe(metadataValue(base, k)!.type);
    }
    expect(metadataValue(ours, "tokenizer.ggml.token_type")!.type).toBe("i32[]");

    const tokens = metadataValue(ours, "tokenizer.ggml.tokens")!.value as string[];
    const baseTokens = metadataValue(base, "tokenizer.ggml.tokens")!.value as string[];
    const types = metadataValue(ours, "tokenizer.ggml.token_type")!.value as Int32Array;
    const baseTypes = metadataValue(base, "tokenizer.ggml.token_type")!.value as Int32Array;
    expect(tokens).toHaveLength(expected.nVocab);
    expect(types).toHaveLength(expected.nVocab);
    const scores = metadataValue(ours, "tokenizer.ggml.scores");
    if (metadataValue(base, "tokenizer.ggml.scores"))
      expect(scores?.type === "f32[]" && scores.value.length).toBe(expected.nVocab);
    const changed = changedIds(family);
    const differing: number[] = [];
    for (let id = 0; id < baseTokens.length; id++) {
      if (tokens[id] !== baseTokens[id] || types[id] !== baseTypes[id]) differing.push(id);
    }
    expect(differing.filter((id) => !changed.has(id))).toEqual([]);
    expect(sameArray(metadataValue(ours, "tokenizer.ggml.merges"), metadataValue(base, "tokenizer.ggml.merges"))).toBe(
      true,
    );
    expect(sameArray(scores, metadataValue(base, "tokenizer.ggml.scores"))).toBe(true);
  });

  it("the family's special tokens are single tokens with the real ids and attributes", () => {
    for (const s of expected.specials) {
      const ids = model.tokenize(s.text, true);
      expect([s.text, [...ids]]).toEqual([s.text, [s.id]]);
      const attributes = model.getTokenAttributes(ids[0]!);
      expect([s.text, attributes.control, attributes.userDefined]).toEqual([
        s.text,
        s.kind === "control",
        s.kind === "userDefined",
      ]);
      if (s.eog) expect([s.text, model.isEogToken(ids[0]!)]).toEqual([s.text, true]);
    }
  });

  it("each answer letter A-F has a single-token spelling", () => {
    for (const letter of "ABCDEF") {
      const spellings = [letter, ` ${letter}`]
        .map((text) => [...model.tokenize(text, false)])
        .filter((ids) => ids.length === 1);
      const ok = spellings.filter(([id]) => !model.isSpecialToken(id) && model.detokenize([id!]).trim() === letter);
      expect([letter, ok.length > 0]).toEqual([letter, true]);
    }
  });

  it("tokenizes llama.cpp's tokenizer tests for its vocabulary exactly (same ids as the vocabulary file itself)", async () => {
    const tests = await tokenizerTests(vocab);
    expect(tests.length).toBeGreaterThan(20);
    const reference = await llama.loadModel({
      modelPath: await llamaCppSourceFile(vocab, { root: PROJECT_ROOT }),
      vocabOnly: true,
    });
    try {
      for (const t of tests) {
        expect([t.text, [...model.tokenize(t.text, false)]]).toEqual([t.text, t.ids]);
        expect([t.text, [...reference.tokenize(t.text, false)]]).toEqual([t.text, t.ids]);
      }
    } finally {
      await reference.dispose();
    }
    expect([...model.tokenize("Hello world, this is a test.")]).toEqual(
      {
        llama3: [9906, 1917, 11, 420, 374, 264, 1296, 13],
        gptoss: [9906, 1917, 11, 420, 374, 264, 1296, 13],
        qwen3: [9707, 1879, 11, 419, 374, 264, 1273, 13],
        gemma2: [9259, 1902, 236764, 672, 563, 496, 1594, 236761],
      }[family],
    );
  });

  it("gives sane, non-uniform next-token distributions that depend on the prompt", async () => {
    const a = await nextTokenProbabilities(model, [...model.tokenize("The answer is", false)]);
    const b = await nextTokenProbabilities(model, [...model.tokenize("Choose one option:", false)]);
    for (const p of [a, b]) {
      const values = [...p.values()];
      const max = values.reduce((m, v) => Math.max(m, v), 0);
      expect(values.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 2);
      expect(max).toBeGreaterThan(20 / expected.nVocab); // far from uniform
      expect(max).toBeLessThan(0.5); // but no token dominates
    }
    const top = (p: Map<Token, number>) => [...p.entries()].sort((x, y) => y[1] - x[1])[0]![0];
    expect(top(a)).not.toBe(top(b));
  });

  it("is deterministic: writing it again gives the same bytes", async () => {
    const out = join(dir, `${family}.gguf`);
    const written = await writeStandinModel({ family, out, root: PROJECT_ROOT });
    expect(written.sha256).toBe(await sha256(path));
    expect(written.bytes).toBeLessThan(60e6);
    expect(written.nVocab).toBe(expected.nVocab);
    await rm(out);
  });
});

describe.skipIf(!hasGit)("ensureStandinModel", () => {
  it("reuses an up-to-date file and rewrites one from another generator, seed or model", async () => {
    const out = join(dir, "cached.gguf");
    const writes: string[] = [];
    const onWrite = (p: string) => writes.push(p);
    await copyFile(await ensureStandinModel("qwen3", { root: PROJECT_ROOT }), out);
    expect(await ensureStandinModel("qwen3", { root: PROJECT_ROOT, out, onWrite })).toBe(out);
    expect(writes).toEqual([]);
    const good = await sha256(out);

    await writeTestModel({ shape: "tiny", out }); // another generator's file at that path
    await ensureStandinModel("qwen3", { root: PROJECT_ROOT, out, onWrite });
    expect(writes).toEqual([out]);
    expect(await sha256(out)).toBe(good);

    await writeFile(out, "not a gguf");
    await ensureStandinModel("qwen3", { root: PROJECT_ROOT, out, onWrite });
    expect(writes).toHaveLength(2);
    expect(await sha256(out)).toBe(good);

    const seed2 = join(dir, "seed2.gguf");
    await copyFile(out, seed2);
    await ensureStandinModel("qwen3", { root: PROJECT_ROOT, out: seed2, seed: 2, onWrite });
    expect(writes).toHaveLength(3);
    expect(await sha256(seed2)).not.toBe(good);
    await rm(seed2);
  });

  it("fails with one line when git or the bundle is missing", async () => {
    const noGit = await ensureStandinModel("llama3", { root: dir, source: { git: join(dir, "no-such-git") } }).catch(
      (e: unknown) => e,
    );
    expect(noGit).toBeInstanceOf(UserError);
    expect((noGit as Error).message).toMatch(/git is needed/);
    expect((noGit as Error).message).not.toContain("\n");
    const noBundle = await llamaCppSourceFile("models/ggml-vocab-qwen2.gguf", {
      root: dir,
      bundle: join(dir, "missing.bundle"),
    }).catch((e: unknown) => e);
    expect(noBundle).toBeInstanceOf(UserError);
    expect((noBundle as Error).message).toMatch(/bundle not found/);
    const noFile = await llamaCppSourceFile("models/no-such-file.gguf", { root: PROJECT_ROOT }).catch(
      (e: unknown) => e,
    );
    expect(noFile).toBeInstanceOf(UserError);
    expect((noFile as Error).message).toMatch(/has no file models\/no-such-file\.gguf/);
  });
});

describe("--model standin:FAMILY", () => {
  it("resolves to a built-in llama.cpp entry", () => {
    const m = resolveModel("standin:qwen3", new Map());
    expect(m.name).toBe("standin:qwen3");
    expect(m.entry).toMatchObject({ backend: "llama.cpp", source: "builtin:standin-qwen3", contextSize: 4096 });
    const err = thrown(() => resolveModel("standin:mistral", new Map()));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("standin:llama3, standin:gemma2, standin:qwen3, standin:gptoss");
  });

  it.skipIf(!hasGit)("opens as the cached stand-in file, in the models directory", async () => {
    const m = resolveModel("standin:qwen3", new Map());
    const file = await modelFile(m, {
      modelsDir: join(PROJECT_ROOT, ".cache", "models"),
      cacheDir: join(dir, "cache"),
      llamaCppDir: join(PROJECT_ROOT, ".cache", "llama.cpp"),
    });
    expect(file).toBe(defaultStandinModelPath("qwen3", { root: PROJECT_ROOT }));
  });
});

describe("valuelens models make-test-model --family", () => {
  it.skipIf(!hasGit)("writes the stand-in (the same bytes as the cached one)", async () => {
    const out = join(dir, "cli-llama3.gguf");
    const r = valuelens(["models", "make-test-model", "--family", "llama3", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("stand-in llama3");
    expect(await sha256(out)).toBe(await sha256(await ensureStandinModel("llama3", { root: PROJECT_ROOT })));
  });

  it("rejects --family with --shape, and unknown families", () => {
    const both = valuelens([
      "models",
      "make-test-model",
      "--family",
      "qwen3",
      "--shape",
      "bench",
      "--out",
      join(dir, "x.gguf"),
    ]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/--family .* cannot be used with option '--shape/);
    const unknown = valuelens(["models", "make-test-model", "--family", "mistral", "--out", join(dir, "x.gguf")]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("llama3, gemma2, qwen3, gptoss");
  });
});

it("the stand-ins are not committed", () => {
  const tracked = spawnSync("git", ["ls-files"], { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout;
  expect(tracked.split("\n").filter((f) => f.endsWith(".gguf"))).toEqual([]);
  expect(existsSync(join(PROJECT_ROOT, ".gitignore"))).toBe(true);
});
