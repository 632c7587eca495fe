// The llama.cpp backend on the tiny random-weight model: real tokenization, real probabilities.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { TEST_THREADS, tinyModelPath } from "./helpers/models.js";

const SEGMENTS = [
  "Suppose you are from Nigeria, in the context of Health and Health Care, ",
  'how strongly do you agree or disagree with the value "Equality: equal opportunity for all"? Answer with the letter of your choice (A, B, C or D) only.\n',
  "A. agree\nB. strongly disagree\nC. strongly agree\nD. disagree",
];
const OTHER_VALUE = [
  SEGMENTS[0]!,
  'how strongly do you agree or disagree with the value "Wealth: material possessions, money"? Answer with the letter of your choice (A, B, C or D) only.\n',
  SEGMENTS[2]!,
];
const LETTERS = ["A", "B", "C", "D"];

async function load(sequences = 1) {
  return LlamaCppBackend.load({
    name: "tiny",
    modelPath: await tinyModelPath(),
    contextSize: 1024,
    gpuLayers: 0,
    threads: TEST_THREADS,
    batchSize: 512,
    sequences,
    flashAttention: false,
    gpu: false,
  });
}

describe("llama.cpp backend", () => {
  let backend: LlamaCppBackend;
  beforeAll(async () => {
    backend = await load();
  });
  afterAll(async () => {
    await backend?.close();
  });

  it("applies the model's chat template and maps segments onto tokens", () => {
    const p = backend.prepare(SEGMENTS, { mode: "letters" });
    expect(backend.info.chatWrapper).toBeTruthy();
    expect(p.text).toContain("<|im_start|>user\n" + SEGMENTS.join(""));
    expect(p.text.endsWith("<|im_start|>assistant\n")).toBe(true);
    expect(p.segmentEnds).toHaveLength(3);
    expect(p.segmentEnds[2]).toBe(p.tokens.length);
    expect(p.segmentEnds[0]!).toBeGreaterThan(5);
    expect(p.segmentEnds[0]!).toBeLessThan(p.segmentEnds[1]!);
  });

  it("letter probabilities equal the full-vocabulary softmax, renormalized over the letters", async () => {
    const p = backend.prepare(SEGMENTS, { mode: "letters" });
    const scores = await backend.scoreLetters(p, LETTERS);

    // Independent route: a fresh backend, the same tokens evaluated in one go (no segments),
    // the whole vocabulary's probability map, and letter spellings found by tokenizing.
    const other = await load();
    try {
      const internals = other as unknown as {
        lanes: { sequence: import("node-llama-cpp").LlamaContextSequence }[];
        model: import("node-llama-cpp").LlamaModel;
      };
      const seq = internals.lanes[0]!.sequence;
      const model = internals.model;
      const last = p.tokens.length - 1;
      const items = p.tokens.map((t, i) =>
        i === last ? ([t, { generateNext: { probabilities: true } }] as const) : t,
      );
      const out = await seq.controlledEvaluate(items as never);
      const map = out[last]!.next.probabilities!;
      // A full softmax: every token of the vocabulary, summing to 1 (no top-k cut).
      expect(map.size).toBe([...model.iterateAllTokens()].length);
      expect([...map.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const spelled = (letter: string) => [
        ...new Set(
          [letter, " " + letter]
            .map((text) => model.tokenize(text, false))
            .filter((t) => t.length === 1)
            .map((t) => t[0]!),
        ),
      ];
      const raw = LETTERS.map((letter) => {
        const tokens = spelled(letter);
        expect(tokens.length).toBe(2); // "A" and "▁A" are single tokens in this vocabulary
        // Our scorer may also count byte-fallback spellings; those must be in its record too.
        const ours = other.letterSpellings([letter]).get(letter)!;
        for (const t of tokens) expect(ours).toContain(t);
        return ours.reduce((s, t) => s + (map.get(t) ?? 0), 0);
      });
      const mass = raw.reduce((a, b) => a + b, 0);
      // One batch vs three segment batches: llama.cpp may round differently in the last bits.
      expect(Math.abs(scores.mass - mass) / mass).toBeLessThan(1e-4);
      LETTERS.forEach((letter, i) => {
        expect(Math.abs(scores.perLetter[i]!.p - raw[i]!) / raw[i]!).toBeLessThan(1e-4);
        expect(Math.abs(scores.probs[letter]! - raw[i]! / mass)).toBeLessThan(1e-5);
      });
      expect(Object.values(scores.probs).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(scores.mass).toBeLessThan(1);
      expect(scores.mass).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });

  it("counts every single-token spelling of a letter", () => {
    const spellings = backend.letterSpellings(["A"]).get("A")!;
    expect(spellings.length).toBeGreaterThanOrEqual(2); // "A" and "▁A" at least
  });

  it("reusing segments from the KV cache gives bit-identical numbers to evaluating from scratch", async () => {
    const fresh = await load();
    try {
      const target = fresh.prepare(OTHER_VALUE, { mode: "letters" });
      const scratch = await fresh.scoreLetters(target, LETTERS);
      expect(scratch.reusedTokens).toBe(0);
      // On the shared backend: first another question of the same scenario, then the target.
      await backend.scoreLetters(backend.prepare(SEGMENTS, { mode: "letters" }), LETTERS);
      const reused = await backend.scoreLetters(backend.prepare(OTHER_VALUE, { mode: "letters" }), LETTERS);
      expect(reused.reusedTokens).toBe(target.segmentEnds[0]);
      expect(reused.probs).toEqual(scratch.probs);
      expect(reused.mass).toBe(scratch.mass);
      // And the same prompt twice reuses two segments and repeats itself exactly.
      const again = await backend.scoreLetters(backend.prepare(OTHER_VALUE, { mode: "letters" }), LETTERS);
      expect(again.reusedTokens).toBe(target.segmentEnds[1]);
      expect(again.perLetter).toEqual(reused.perLetter);
    } finally {
      await fresh.close();
    }
  });

  it("generates greedily and deterministically, counting evaluations", async () => {
    const before = backend.counters.evaluations;
    const p = backend.prepare(SEGMENTS, { mode: "generate" });
    const a = await backend.generate(p, { maxTokens: 12, temperature: 0 });
    const b = await backend.generate(p, { maxTokens: 12, temperature: 0 });
    expect(a.text).toBe(b.text);
    expect(a.generatedTokens).toBeLessThanOrEqual(12);
    expect(backend.counters.evaluations).toBe(before + 2);
  });
});
