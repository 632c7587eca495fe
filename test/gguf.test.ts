// The GGUF writer and the random-weight test models, checked against real llama.cpp
// (node-llama-cpp on CPU).

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ChatMLChatWrapper,
  getLlama,
  JinjaTemplateChatWrapper,
  LlamaLogLevel,
  readGgufFileInfo,
  resolveChatWrapper,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildSpmVocab,
  CHATML_TEMPLATE,
  defaultTestModelPath,
  ensureTestModel,
  f16BitsToF32,
  f32ToF16Bits,
  gguf,
  MAX_PIECE_CHARS,
  renderChatML,
  requiredPieces,
  SHAPES,
  TOKEN_TYPE,
  WORD_START,
  writeGguf,
  writeLlamaModel,
  writeTestModel,
} from "../src/gguf/index.js";
import { PROJECT_ROOT, TEST_THREADS, tinyModelPath } from "./helpers/models.js";

const LETTERS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"];

let dir: string;
let llama: Llama;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "valuelens-gguf-"));
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});

afterAll(async () => {
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** Evaluates `tokens` from scratch and returns the next-token probability map. */
async function nextTokenProbabilities(model: LlamaModel, tokens: Token[]): Promise<Map<Token, number>> {
  const context = await model.createContext({ threads: TEST_THREADS, contextSize: 512 });
  try {
    const sequence = context.getSequence();
    const items: ControlledEvaluateInputItem[] = tokens.map((t, i) =>
      i === tokens.length - 1 ? [t, { generateNext: { probabilities: true } }] : t,
    );
    const out = await sequence.controlledEvaluate(items);
    const probabilities = out.at(-1)?.next.probabilities;
    if (!probabilities) throw new Error("no probabilities returned");
    return probabilities;
  } finally {
    await context.dispose();
  }
}

function chatPrompt(model: LlamaModel, user: string): Token[] {
  // The template starts with bos_token; the text "<s>" becomes BOS with specialTokens = true.
  return model.tokenize(`<s>${renderChatML([{ role: "user", content: user }])}`, true);
}

describe("f16 conversion", () => {
  it("rounds to nearest even and handles the special ranges", () => {
    expect(f32ToF16Bits(0)).toBe(0x0000);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(-2)).toBe(0xc000);
    expect(f32ToF16Bits(0.1)).toBe(0x2e66);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to Inf
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie -> even (0)
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002); // tie -> even (2)
    expect(f32ToF16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const v of [0.02, -0.0137, 1.5, Math.PI, 1e-5, 2.5e-7]) {
      expect(Math.abs(f16BitsToF32(f32ToF16Bits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe("GGUF writer", () => {
  it("writes every metadata type and aligned tensors that node-llama-cpp reads back", async () => {
    const path = join(dir, "types.gguf");
    const res = await writeGguf(path, {
      metadata: [
        ["general.architecture", gguf.string("llama")],
        ["test.u8", gguf.u8(200)],
        ["test.i8", gguf.i8(-5)],
        ["test.u16", gguf.u16(60000)],
        ["test.i16", gguf.i16(-300)],
        ["test.u32", gguf.u32(4_000_000_000)],
        ["test.i32", gguf.i32(-70000)],
        ["test.u64", gguf.u64(2n ** 40n)],
        ["test.i64", gguf.i64(-(2n ** 40n))],
        ["test.f32", gguf.f32(0.5)],
        ["test.f64", gguf.f64(0.1)],
        ["test.bool", gguf.bool(true)],
        ["test.strings", gguf.strings(["a", "▁b", "<0x0A>", "😀"])],
        ["test.f32s", gguf.f32s([1.5, -2])],
        ["test.i32s", gguf.i32s([1, -2, 3])],
      ],
      tensors: [
        { name: "a", dims: [3], type: "f32", data: () => [Float32Array.of(1, 2, 3)] },
        { name: "b", dims: [5, 2], type: "f16", data: () => [new Float32Array(4), new Float32Array(6)] },
      ],
    });
    const buf = await readFile(path);
    expect(buf.subarray(0, 4).toString("latin1")).toBe("GGUF");
    expect(buf.readUInt32LE(4)).toBe(3);
    expect(res.bytes).toBe(buf.length);
    expect(res.sha256).toBe(createHash("sha256").update(buf).digest("hex"));

    const info = await readGgufFileInfo(path);
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.general).toMatchObject({ architecture: "llama", alignment: 32 });
    expect(md.test).toMatchObject({
      u8: 200,
      i8: -5,
      u16: 60000,
      i16: -300,
      u32: 4_000_000_000,
      i32: -70000,
      f32: 0.5,
      f64: 0.1,
      bool: true,
      strings: ["a", "▁b", "<0x0A>", "😀"],
      f32s: [1.5, -2],
      i32s: [1, -2, 3],
    });
    expect(BigInt(md.test!.u64 as bigint | number)).toBe(2n ** 40n);
    expect(BigInt(md.test!.i64 as bigint | number)).toBe(-(2n ** 40n));
    const tensors = info.tensorInfo ?? [];
    expect(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)])).toEqual([
      ["a", [3], 0, 0],
      ["b", [5, 2], 1, 32], // 12 bytes of "a", padded to 32
    ]);
    for (const t of tensors) expect(Number(t.fileOffset) % 32).toBe(0);
    expect(buf.length).toBe(Number(tensors[1]!.fileOffset) + 32); // 20 bytes of "b", padded
  });

  it("rejects a tensor whose data has the wrong length and leaves no file behind", async () => {
    const path = join(dir, "bad.gguf");
    await expect(
      writeGguf(path, {
        metadata: [],
        tensors: [{ name: "x", dims: [4], type: "f32", data: () => [new Float32Array(3)] }],
      }),
    ).rejects.toThrow(/3 values, expected 4/);
    await expect(stat(path)).rejects.toThrow();
  });
});

describe("vocabulary", () => {
  it.each([
    ["tiny", SHAPES.tiny.nVocab],
    ["bench", SHAPES.bench.nVocab],
  ])("%s: layout, types, required pieces, unique pieces", (_name, size) => {
    const v = buildSpmVocab({ size, maxPieceChars: MAX_PIECE_CHARS });
    expect(v.tokens.length).toBe(size);
    expect(new Set(v.tokens).size).toBe(size);
    expect(v.tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(v.types.slice(0, 3)).toEqual([TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control]);
    expect(v.tokens[3]).toBe("<0x00>");
    expect(v.tokens[3 + 0x0a]).toBe("<0x0A>");
    expect(v.tokens[258]).toBe("<0xFF>");
    expect(v.types.slice(3, 259).every((t) => t === TOKEN_TYPE.byte)).toBe(true);
    expect(v.tokens.slice(-2)).toEqual(["<|im_start|>", "<|im_end|>"]);
    expect(v.types.slice(-2)).toEqual([TOKEN_TYPE.control, TOKEN_TYPE.control]);
    const pieces = new Set(v.tokens);
    for (const p of requiredPieces()) expect(pieces.has(p), p).toBe(true);
    for (const l of LETTERS) expect(pieces.has(l) && pieces.has(WORD_START + l), l).toBe(true);
    const normal = v.tokens.filter((_, i) => v.types[i] === TOKEN_TYPE.normal);
    // A word-start marker only in front, no other whitespace, no control characters.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    expect(normal.filter((p) => /[\s\u2581]/.test(p.slice(1)) || /[\u0000-\u001f\u007f]/.test(p))).toEqual([]);
    expect(normal.filter((p) => [...p].length > MAX_PIECE_CHARS)).toEqual([]);
    // Normal pieces in rank order: scores strictly decreasing.
    const scores = v.scores.filter((_, i) => v.types[i] === TOKEN_TYPE.normal);
    expect(scores.every((s, i) => i === 0 || s < scores[i - 1]!)).toBe(true);
  });
});

describe("tiny test model", () => {
  it("is under 2 MB and byte-identical for the same seed, different for another seed", async () => {
    const t0 = performance.now();
    const a = await writeTestModel({ shape: "tiny", out: join(dir, "a.gguf"), seed: 7 });
    const buildMs = performance.now() - t0;
    const b = await writeTestModel({ shape: "tiny", out: join(dir, "b.gguf"), seed: 7 });
    const c = await writeTestModel({ shape: "tiny", out: join(dir, "c.gguf"), seed: 8 });
    const f32 = await writeTestModel({ shape: "tiny", out: join(dir, "f32.gguf"), seed: 7, type: "f32" });
    console.log(
      `tiny F16 built in ${buildMs.toFixed(0)} ms: ${a.bytes} bytes, ${a.params} params; F32 ${f32.bytes} bytes`,
    );
    expect(a.bytes).toBeLessThan(2 * 1024 * 1024);
    expect(f32.bytes).toBeLessThan(2 * 1024 * 1024);
    expect(a.nVocab).toBe(SHAPES.tiny.nVocab);
    expect(await sha256(a.path)).toBe(await sha256(b.path));
    expect(a.sha256).toBe(await sha256(a.path));
    expect(await sha256(c.path)).not.toBe(await sha256(a.path));
  });

  it("ensureTestModel writes once into .cache/models and reuses the file", async () => {
    const root = join(dir, "project");
    const path = await ensureTestModel("tiny", { root, type: "f32", seed: 3 });
    expect(path).toBe(join(root, ".cache", "models", "valuelens-tiny-f32-seed3.gguf"));
    expect(path).toBe(defaultTestModelPath("tiny", "f32", { root, seed: 3 }));
    const first = await stat(path);
    expect(await ensureTestModel("tiny", { root, type: "f32", seed: 3 })).toBe(path);
    expect((await stat(path)).mtimeMs).toBe(first.mtimeMs);
  });

  it("the shared cached tiny models match what the generator writes now", async () => {
    // Fails if the generator changed without a GENERATOR_VERSION bump (stale caches would be kept).
    for (const type of ["f16", "f32"] as const) {
      const cached = await tinyModelPath(type);
      expect(cached).toBe(join(PROJECT_ROOT, ".cache", "models", `valuelens-tiny-${type}-seed1.gguf`));
      const fresh = await writeTestModel({ shape: "tiny", type, out: join(dir, `fresh-${type}.gguf`) });
      expect(await sha256(cached)).toBe(fresh.sha256);
    }
  });

  describe("in node-llama-cpp", () => {
    let model: LlamaModel;
    const vocab = buildSpmVocab({ size: SHAPES.tiny.nVocab, maxPieceChars: MAX_PIECE_CHARS });
    const pieces = (tokens: Token[]) => tokens.map((t) => vocab.tokens[t]);

    beforeAll(async () => {
      model = await llama.loadModel({ modelPath: await tinyModelPath("f16") });
    });
    afterAll(async () => {
      await model?.dispose();
    });

    it("loads as a llama SPM model with the expected metadata and no warnings", () => {
      expect(model.getWarnings()).toEqual([]);
      expect(model.vocabularyType).toBe("spm");
      expect(model.fileInfo.metadata.general.architecture).toBe("llama");
      expect(model.fileInfo.metadata.tokenizer.chat_template).toBe(CHATML_TEMPLATE);
      expect(model.trainContextSize).toBe(SHAPES.tiny.nCtx);
      expect(model.tokens.bos).toBe(1);
      expect(model.tokens.eos).toBe(2);
      expect(model.tokens.eot).toBe(vocab.controlIds["<|im_end|>"]); // detected by llama.cpp from the text
      expect(model.isEogToken(vocab.controlIds["<|im_end|>"]! as Token)).toBe(true);
    });

    it("tokenizes letters, words and rare characters and detokenizes them back", () => {
      expect(pieces(model.tokenize("A"))).toEqual(["A"]); // no space prefix is added
      expect(pieces(model.tokenize(" A"))).toEqual(["▁A"]);
      for (const l of [...LETTERS, ..."0123456789"]) {
        expect(model.tokenize(l), l).toHaveLength(1);
        expect(model.tokenize(` ${l}`), l).toHaveLength(1);
      }
      for (const text of ["Hello world", " Hello world", "A) yes\nB) no", "naïve 😀 café", "<|im_start|>"]) {
        expect(model.detokenize(model.tokenize(text))).toBe(text);
      }
      // The emoji is not a piece: it falls back to its four UTF-8 bytes.
      expect(pieces(model.tokenize("😀"))).toEqual(["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]);
      // Control tokens are recognised only when special tokens are enabled.
      expect(pieces(model.tokenize("<|im_start|>user", true))).toEqual([
        "<|im_start|>",
        ...pieces(model.tokenize("user")),
      ]);
      expect(model.tokenize("<|im_start|>", false).length).toBeGreaterThan(1);
      expect(model.tokenize("<s>", true)).toEqual([1]);
    });

    it("resolves the ChatML chat wrapper, which renders like the Jinja template", () => {
      const wrapper = resolveChatWrapper(model);
      expect(wrapper).toBeInstanceOf(ChatMLChatWrapper);
      const chatHistory = [
        { type: "system" as const, text: "Be brief." },
        { type: "user" as const, text: "Pick A or B." },
        { type: "model" as const, response: [] },
      ];
      const expected = [
        1,
        ...model.tokenize(
          renderChatML([
            { role: "system", content: "Be brief." },
            { role: "user", content: "Pick A or B." },
          ]),
          true,
        ),
      ];
      const jinja = new JinjaTemplateChatWrapper({ template: CHATML_TEMPLATE, tokenizer: model.tokenizer });
      for (const w of [wrapper, jinja]) {
        expect(w.generateContextState({ chatHistory }).contextText.tokenize(model.tokenizer)).toEqual(expected);
      }
    });

    it("evaluates a prompt and returns a full next-token probability map", async () => {
      const probs = await nextTokenProbabilities(model, chatPrompt(model, "Answer with A or B."));
      expect(probs.size).toBe(SHAPES.tiny.nVocab);
      const sum = [...probs.values()].reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 4);
    });

    it("gives different letter probabilities for different prompts", async () => {
      const letterTokens = ["A", "B", "C", "D"].map((l) => model.tokenize(l)[0]!);
      const letterDist = async (text: string) => {
        const probs = await nextTokenProbabilities(model, chatPrompt(model, text));
        const p = letterTokens.map((t) => probs.get(t) ?? 0);
        const total = p.reduce((a, b) => a + b, 0);
        return p.map((x) => x / total);
      };
      const a = await letterDist("Should the city build a park or a parking lot? Answer A, B, C or D.");
      const b = await letterDist("Is honesty more important than loyalty? Answer A, B, C or D.");
      const maxDiff = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
      expect(maxDiff).toBeGreaterThan(0.02);
      for (const p of [...a, ...b]) expect(p).toBeGreaterThan(0.001); // no degenerate letter
    });
  });

  it("F32 and F16 variants both load and agree closely", async () => {
    const dists: number[][] = [];
    for (const type of ["f32", "f16"] as const) {
      const model = await llama.loadModel({ modelPath: await tinyModelPath(type) });
      try {
        const probs = await nextTokenProbabilities(model, chatPrompt(model, "Choose: A or B?"));
        dists.push(["A", "B", "C", "D"].map((l) => probs.get(model.tokenize(l)[0]!) ?? 0));
      } finally {
        await model.dispose();
      }
    }
    const [f32, f16] = dists as [number[], number[]];
    for (let i = 0; i < 4; i++) expect(Math.abs(f16[i]! - f32[i]!) / f32[i]!).toBeLessThan(0.05);
  });
});

describe("bench vocabulary", () => {
  it("tokenizes English prose at 1.3-2 tokens per word", async () => {
    // The bench vocabulary on the tiny network: the tokenizer is the same, the file is small.
    const written = await writeLlamaModel({
      shape: { ...SHAPES.tiny, nVocab: SHAPES.bench.nVocab },
      seed: 1,
      type: "f16",
      name: "bench-vocab",
      out: join(dir, "bench-vocab.gguf"),
    });
    const model = await llama.loadModel({ modelPath: written.path });
    try {
      const sentences = [
        "I actively seek to promote a harmonious society by fostering tolerance and respect for diverse cultural and religious identities within Pakistan.",
        "The committee reviewed the proposal carefully and decided to postpone the final vote until next month.",
        "Many families in rural areas depend on agriculture for their income, but changing weather patterns make harvests less predictable.",
        "She believes that education should be accessible to everyone, regardless of their background or financial situation.",
      ];
      let tokens = 0;
      let words = 0;
      for (const s of sentences) {
        tokens += model.tokenize(s).length;
        words += s.split(/\s+/).length;
        expect(model.detokenize(model.tokenize(s))).toBe(s);
      }
      const perWord = tokens / words;
      console.log(`bench vocabulary: ${perWord.toFixed(3)} tokens per word (${tokens} tokens, ${words} words)`);
      expect(perWord).toBeGreaterThanOrEqual(1.3);
      expect(perWord).toBeLessThanOrEqual(2);
      for (const l of LETTERS) {
        expect(model.tokenize(l)).toHaveLength(1);
        expect(model.tokenize(` ${l}`)).toHaveLength(1);
      }
    } finally {
      await model.dispose();
    }
  });
});

// Opt-in (VALUELENS_TEST_BENCH=1): builds the 270 MB bench model in .cache/models if needed.
describe.skipIf(!process.env.VALUELENS_TEST_BENCH)("bench test model", () => {
  it("builds, loads and scores a prompt", { timeout: 300_000 }, async () => {
    const t0 = performance.now();
    const path = await ensureTestModel("bench", { root: PROJECT_ROOT });
    console.log(`bench model ready in ${(performance.now() - t0).toFixed(0)} ms: ${path}`);
    const model = await llama.loadModel({ modelPath: path });
    try {
      expect(model.getWarnings()).toEqual([]);
      expect(resolveChatWrapper(model)).toBeInstanceOf(ChatMLChatWrapper);
      const probs = await nextTokenProbabilities(model, chatPrompt(model, "Answer with A or B."));
      expect(probs.size).toBe(SHAPES.bench.nVocab);
      expect([...probs.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    } finally {
      await model.dispose();
    }
  });
});
