// llama-server letters from its top-K (src/backends/llamaServer.ts readTopK): the whole vocabulary
// is fetched only when the letter spellings the top-K left out could move a probability by more
// than 1e-6; otherwise they count as 0 and the record carries the bound (letters.leftOut).
import { describe, expect, it } from "vitest";
import { LEFT_OUT_SHIFT_LIMIT, readTopK } from "../src/backends/llamaServer.js";
import { renormalizationShiftBound } from "../src/backends/tokenLetters.js";
import { lettersFields, toCachedLetters } from "../src/elicitation/letters.js";
import { LeftOutSpellingsSchema } from "../src/records/records.js";
import type { Question } from "../src/questions/question.js";

/** A top-K map: token id -> probability. */
const topOf = (entries: [number, number][]) => new Map(entries.map(([id, p]) => [id, { p }]));
const SPELLINGS = new Map([
  ["A", [1, 11]],
  ["B", [2, 12]],
]);
/** K = 4 returned: the letters' main spellings and two others; the tail holds the rest. */
const K = 4;
const VOCAB = 1000;

describe("readTopK", () => {
  it("every spelling returned: read, no bound, nothing more fetched", () => {
    const top = topOf([
      [1, 0.5],
      [2, 0.3],
      [11, 0.1],
      [12, 0.05],
    ]);
    expect(readTopK(top, SPELLINGS, K, VOCAB)).toEqual({ fetchAll: false });
  });

  it("spellings left out whose bound is within 1e-6: counted as 0, the bound recorded", () => {
    // Spellings 11 and 12 are not returned; each is at most p_K = 1e-8.
    const top = topOf([
      [1, 0.6],
      [2, 0.39],
      [7, 0.0099],
      [8, 1e-8],
    ]);
    const read = readTopK(top, SPELLINGS, K, VOCAB);
    expect(read.fetchAll).toBe(false);
    expect(read.leftOut).toEqual({ spellings: 2, topK: K, tokenBound: 1e-8, massBound: 2e-8 });
    expect(renormalizationShiftBound(0.99, 2e-8)).toBeLessThanOrEqual(LEFT_OUT_SHIFT_LIMIT);
  });

  it("the bound is also capped by what the returned tokens leave: 1 - their total", () => {
    const top = topOf([
      [1, 0.6],
      [2, 0.4 - 3e-9],
      [7, 2e-9],
      [8, 1e-9],
    ]);
    expect(readTopK(top, SPELLINGS, K, VOCAB).leftOut?.massBound).toBeCloseTo(0, 15);
  });

  it("spellings left out that could matter, a list cut short, or no letter mass read: the whole vocabulary", () => {
    const big = topOf([
      [1, 0.3],
      [2, 0.3],
      [7, 0.2],
      [8, 0.1],
    ]);
    expect(readTopK(big, SPELLINGS, K, VOCAB)).toEqual({ fetchAll: true });
    const short = topOf([
      [1, 0.5],
      [2, 0.5 - 1e-12],
    ]);
    expect(readTopK(short, SPELLINGS, K, VOCAB)).toEqual({ fetchAll: true });
    const none = topOf([
      [5, 0.5],
      [6, 0.3],
      [7, 0.2 - 2e-9],
      [8, 1e-9],
    ]);
    expect(readTopK(none, SPELLINGS, K, VOCAB)).toEqual({ fetchAll: true });
  });

  it("the whole vocabulary read: nothing is left out, whatever is missing", () => {
    const top = topOf([
      [1, 0.6],
      [2, 0.4],
    ]);
    expect(readTopK(top, SPELLINGS, VOCAB, VOCAB)).toEqual({ fetchAll: false });
  });

  it("the record's letters carry the bound and how far it could move a probability", () => {
    const leftOut = { spellings: 2, topK: K, tokenBound: 1e-8, massBound: 2e-8 };
    const cached = toCachedLetters({
      probs: { A: 0.6, B: 0.4 },
      mass: 0.99,
      perLetter: [
        { letter: "A", p: 0.594, spellings: { A: 0.594 } },
        { letter: "B", p: 0.396, spellings: { B: 0.396 } },
      ],
      topToken: { text: "A", p: 0.594 },
      method: "segments/3:n-probs:256",
      leftOut,
      evaluatedTokens: 10,
      reusedTokens: 0,
    });
    const q = { letters: ["A", "B"], order: ["positive", "negative"] } as unknown as Question;
    const { letters, optionProbs } = lettersFields(q, cached);
    expect(optionProbs).toEqual({ positive: 0.6, negative: 0.4 });
    const recorded = LeftOutSpellingsSchema.parse((letters as { leftOut?: unknown }).leftOut);
    expect(recorded).toEqual({ ...leftOut, shiftBound: 2e-8 / (0.99 + 2e-8) });
  });
});
