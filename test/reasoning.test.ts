// Reasoning models are scored where their final answer begins. The test models carry the
// special tokens of Qwen3-style (<think>) and harmony (<|channel|>) models.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { SHAPES, writeLlamaModel } from "../src/gguf/index.js";
import { TEST_THREADS } from "./helpers/models.js";

async function modelWith(extraControlTokens: string[]) {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "vl-reasoning-")), "m.gguf");
  await writeLlamaModel({ shape: SHAPES.tiny, seed: 1, type: "f32", name: "reasoning-test", extraControlTokens, out });
  return LlamaCppBackend.load({
    name: "r",
    modelPath: out,
    contextSize: 512,
    gpuLayers: 0,
    threads: TEST_THREADS,
    batchSize: 512,
    sequences: 1,
    flashAttention: false,
    gpu: false,
  });
}

const SEGMENTS = [
  "Suppose you are from Egypt, in the context of Religion, ",
  "which? Answer with the letter of your choice (A or B) only.\n",
  "A. one\nB. two",
];

describe("reasoning models", () => {
  it("a <think> model is scored and answers after an empty thinking block (thinking off)", async () => {
    const b = await modelWith(["<think>", "</think>"]);
    try {
      expect(b.info.reasoning).toBe("empty-thinking-block");
      const letters = b.prepare(SEGMENTS, { mode: "letters" });
      expect(letters.text.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
      const generate = b.prepare(SEGMENTS, { mode: "generate" });
      expect(generate.tokens).toEqual(letters.tokens);
      const answer = await b.generate(generate, { maxTokens: 8, temperature: 0 });
      expect(answer.generatedTokens).toBeGreaterThan(0);
      const s = await b.scoreLetters(letters, ["A", "B"]);
      expect(s.probs.A! + s.probs.B!).toBeCloseTo(1, 12);
    } finally {
      await b.close();
    }
  });

  it("a harmony model is scored at the start of its final channel", async () => {
    const b = await modelWith(["<|channel|>", "<|message|>"]);
    try {
      expect(b.info.reasoning).toBe("final-channel");
      expect(b.prepare(SEGMENTS, { mode: "letters" }).text.endsWith("<|channel|>final<|message|>")).toBe(true);
    } finally {
      await b.close();
    }
  });

  it("an ordinary chat model gets no answer prefix", async () => {
    const b = await modelWith([]);
    try {
      expect(b.info.reasoning).toBe("none");
      expect(b.prepare(SEGMENTS, { mode: "letters" }).text.endsWith("<|im_start|>assistant\n")).toBe(true);
    } finally {
      await b.close();
    }
  });
});
