// The llama.cpp backend on the tiny random-weight model: real tokenization, real logits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Token } from "node-llama-cpp";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { tinyModelPath } from "./helpers/models.js";

const SEGMENTS = [
  "Suppose you are from Nigeria, in the context of Health and Health Care, ",
  'how strongly do you agree or disagree with the value "Equality: equal opportunity for all"? Answer with the letter of your choice (A, B, C or D) only.\n',
  "A. agree\nB. strongly disagree\nC. strongly agree\nD. disagree",
];
const OTHER_VALUE = [SEGMENTS[0]!, 'how strongly do you agree or disagree with the value "Wealth: material possessions, money"? Answer with the letter of your choice (A, B, C or D) only.\n', SEGMENTS[2]!];
const LETTERS = ["A", "B", "C", "D"];

async function load(sequences = 1) {
  return LlamaCppBackend.load({
    name: "tiny",
    modelPath: await tinyModelPath(),
    contextSize: 1024,
    gpuLayers: 0,
    threads: 2,
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

    // Independent route: a fresh backend, the whole vocabulary's raw logits, softmax in float64.
    const other = await load();
    try {
      const seq = (other as unknown as { lanes: { sequence: import("node-llama-cpp").LlamaContextSequence }[] }).lanes[0]!.sequence;
      let start = 0;
      let logits: Map<Token, number> | undefined;
      let libraryProbs: Map<Token, number> | undefined;
      for (const end of p.segmentEnds) {
        const batch = p.tokens.slice(start, end);
        const last = end === p.tokens.length;
        const items = batch.map((t, i) => (last && i === batch.length - 1 ? ([t, { generateNext: { logits: true, probabilities: true } }] as const) : t));
        const out = await seq.controlledEvaluate(items as never);
        if (last) {
          logits = out[batch.length - 1]!.next.logits;
          libraryProbs = out[batch.length - 1]!.next.probabilities;
        }
        start = end;
      }
      expect(logits!.size).toBeGreaterThan(1000); // the whole vocabulary
      const max = Math.max(...logits!.values());
      let z = 0;
      for (const l of logits!.values()) z += Math.exp(l - max);
      const spellings = other.letterSpellings(LETTERS);
      const raw = LETTERS.map((letter) => spellings.get(letter)!.reduce((s, t) => s + Math.exp(logits!.get(t)! - max) / z, 0));
      const mass = raw.reduce((a, b) => a + b, 0);
      // The normalizer sum_v exp(l_v - max) comes from llama.cpp in float32: raw masses agree to
      // float32 precision; the renormalized letter probabilities do not depend on it at all.
      expect(Math.abs(scores.mass - mass) / mass).toBeLessThan(1e-5);
      LETTERS.forEach((letter, i) => {
        expect(Math.abs(scores.perLetter[i]!.p - raw[i]!) / raw[i]!).toBeLessThan(1e-5);
        expect(scores.probs[letter]).toBeCloseTo(raw[i]! / mass, 12);
        // The library's own probability map agrees (it computes in float32).
        const lib = spellings.get(letter)!.reduce((s, t) => s + (libraryProbs!.get(t) ?? 0), 0);
        expect(Math.abs(lib - raw[i]!) / raw[i]!).toBeLessThan(1e-3);
      });
      expect(Object.values(scores.probs).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
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
