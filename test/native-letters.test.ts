// Letters in O(letters): valuelens' read in node-llama-cpp's addon (native/valuelensLetters.cpp,
// built at install by scripts/build-addon.mjs) against node-llama-cpp's own full-vocabulary
// softmax, on the Llama 3 (128k tokens) and Gemma 2 (256k) stand-ins.
//
// node-llama-cpp's softmax sums exp(l - max) over the vocabulary in float: its probabilities
// sum to 1 +- 2e-5 over 128k tokens, so each is off by that much. The native read sums in
// double. Renormalized over the whole vocabulary (in double), the softmax's values must equal
// the native read's within 1e-6 relative: every letter spelling, the letter mass and the top
// token; unrenormalized, within the softmax's own drift plus 1e-6.
import { describe, expect, it } from "vitest";
import { getLlama, type Llama, type Token } from "node-llama-cpp";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { nativeLetterReader, readLogits } from "../src/backends/nativeLetters.js";
import { ensureStandinModel } from "../src/gguf/index.js";
import { PROJECT_ROOT, TEST_THREADS, tinyModelPath } from "./helpers/models.js";

const LETTERS = ["A", "B", "C", "D", "E", "F"];
const PROMPT =
  "Suppose you are from Egypt, in the context of Religion, how strongly do you agree with Tradition? Answer with the letter of your choice (A, B, C, D, E or F) only.\nAnswer:";

let shared: Promise<Llama> | undefined;
const llama = () => (shared ??= getLlama({ gpu: false, maxThreads: TEST_THREADS }));

describe("native letter read", () => {
  it("this install built it (scripts/build-addon.mjs at npm ci); VALUELENS_LETTERS=softmax turns it off", async () => {
    if (process.env.VALUELENS_NATIVE === "0") {
      console.warn("SKIPPED: VALUELENS_NATIVE=0, the install kept node-llama-cpp's own addon");
      return;
    }
    expect(nativeLetterReader(await llama())).toBeDefined();
    process.env.VALUELENS_LETTERS = "softmax";
    try {
      expect(nativeLetterReader(await llama())).toBeUndefined();
    } finally {
      delete process.env.VALUELENS_LETTERS;
    }
  });

  for (const family of ["llama3", "gemma2"] as const) {
    it(`${family} stand-in: every spelling of A-F, the mass and the top token equal node-llama-cpp's softmax within 1e-6`, async () => {
      const l = await llama();
      if (!nativeLetterReader(l)) return;
      const model = await l.loadModel({ modelPath: await ensureStandinModel(family, { root: PROJECT_ROOT }) });
      const context = await model.createContext({ contextSize: 512, threads: TEST_THREADS });
      const sequence = context.getSequence();
      try {
        const tokens = model.tokenize(PROMPT, false);
        const last = tokens.length - 1;
        const evaluate = async (generateNext: object) => {
          await sequence.eraseContextTokenRanges([{ start: 0, end: sequence.nextTokenIndex }]);
          const out = await sequence.controlledEvaluate(
            tokens.map((t, i) => (i === last ? [t, { generateNext }] : t)) as never,
          );
          return (out[last] as { next: Record<string, unknown> }).next;
        };
        const softmax = (await evaluate({ probabilities: true })).probabilities as Map<Token, number>;
        let total = 0;
        for (const p of softmax.values()) total += p;
        // Every single-token spelling of each letter, as the backend finds them.
        const spellings = new Map<string, Token[]>(LETTERS.map((x) => [x, []]));
        for (const token of model.iterateAllTokens())
          spellings.get(model.detokenize([token], false).trim())?.push(token);
        const ids = [...spellings.values()].flat();
        expect(ids.length).toBeGreaterThanOrEqual(LETTERS.length);
        const raw = (await evaluate({ valuelensLetters: Uint32Array.from(ids) })).valuelensLetters as Float64Array;
        const read = readLogits(raw, Uint32Array.from(ids));

        const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
        let mass = 0;
        let softmaxMass = 0;
        for (const id of ids) {
          const ours = read.probability(id);
          const theirs = softmax.get(id)!;
          expect(relative(ours, theirs / total)).toBeLessThan(1e-6);
          expect(relative(ours, theirs)).toBeLessThan(Math.abs(total - 1) + 1e-6);
          mass += ours;
          softmaxMass += theirs;
        }
        expect(relative(mass, softmaxMass / total)).toBeLessThan(1e-6);
        const [top, topP] = softmax.entries().next().value!;
        expect(read.argmax).toBe(top);
        expect(relative(1 / read.sumExp, topP / total)).toBeLessThan(1e-6);
        expect(read.vocabulary).toBe(softmax.size);
      } finally {
        await context.dispose();
        await model.dispose();
      }
    });
  }

  it("the backend records which path ran (letters.method) and both give the same letters", async () => {
    const modelPath = await tinyModelPath();
    const score = async (env: string | undefined) => {
      if (env) process.env.VALUELENS_LETTERS = env;
      try {
        const backend = await LlamaCppBackend.load({
          name: "tiny",
          modelPath,
          contextSize: 512,
          gpuLayers: 0,
          threads: TEST_THREADS,
          batchSize: 512,
          sequences: 1,
          flashAttention: false,
          gpu: false,
          log: () => {},
        });
        const prompt = backend.prepare(["Which letter? ", "A or B or C"], { mode: "letters" });
        const scores = await backend.scoreLetters(prompt, ["A", "B", "C"]);
        await backend.close();
        return scores;
      } finally {
        delete process.env.VALUELENS_LETTERS;
      }
    };
    const native = await score(undefined);
    const softmax = await score("softmax");
    expect(softmax.method).toBe("segments/2:softmax");
    if (process.env.VALUELENS_NATIVE !== "0") expect(native.method).toBe("segments/2:logits");
    expect(native.topToken.text).toBe(softmax.topToken.text);
    expect(Math.abs(native.mass - softmax.mass) / softmax.mass).toBeLessThan(1e-5);
    for (const letter of ["A", "B", "C"]) expect(native.probs[letter]).toBeCloseTo(softmax.probs[letter]!, 6);
  });

  it("readLogits: probabilities from logits; a distribution that is not one is refused", () => {
    // max 2, argmax 7, sum of exp over a vocabulary of 10 = 1 + e^-1 + e^-2; asked: tokens 3 and 7.
    const sum = 1 + Math.exp(-1) + Math.exp(-2);
    const read = readLogits(Float64Array.from([2, 7, sum, 10, 1, 2]), Uint32Array.from([3, 7]));
    expect(read.probability(7)).toBeCloseTo(1 / sum, 15);
    expect(read.probability(3)).toBeCloseTo(Math.exp(-1) / sum, 15);
    expect(read.probability(5)).toBe(0);
    expect(() => readLogits(Float64Array.from([Number.NaN, 0, Number.NaN, 10, 1]), Uint32Array.from([3]))).toThrow(
      /not a distribution/,
    );
    expect(() => readLogits(Float64Array.from([2, 0, 0.5, 10, 1]), Uint32Array.from([3]))).toThrow(
      /not a distribution/,
    );
    expect(() => readLogits(Float64Array.from([2, 0, 1.5, 10, 3]), Uint32Array.from([3]))).toThrow(/above the maximum/);
  });
});
