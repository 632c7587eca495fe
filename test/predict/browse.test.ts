// The predict suite's question browser shows the prediction the metrics count: letters' mean
// P(True) over the repeats (exactly 0.5 is a tie, unparsed), generated answers' majority.
import { describe, expect, it } from "vitest";
import { predictBrowse } from "../../src/suites/predict/browse.js";
import type { PredictRecord } from "../../src/suites/predict/record.js";

function letters(row: number, repeat: number, pTrue: number, label: boolean): PredictRecord {
  return {
    id: `predict/default/row${row}/r${repeat}`,
    protocol: "predict-letters",
    task: "action",
    country: "Nigeria",
    topic: "Health",
    value: "Equality",
    variant: null,
    repeat,
    order: ["True", "False"],
    mode: "default",
    row,
    label,
    cacheKey: "k",
    letters: { probs: {}, mass: 0.5, spellings: {}, top: { text: "True", p: 0.5 }, method: "t" },
    optionProbs: { True: pTrue, False: 1 - pTrue },
    score: pTrue,
    meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
  };
}

describe("predictBrowse", () => {
  it("verdicts follow the metrics: the mean over repeats, a tie unparsed", () => {
    const records = [
      letters(1, 0, 0.7, true),
      letters(1, 1, 0.4, true), // mean 0.55: True, correct
      letters(2, 0, 0.6, true),
      letters(2, 1, 0.4, true), // mean 0.5: a tie
      letters(3, 0, 0.9, false),
      letters(3, 1, 0.8, false), // True against label False: wrong
    ];
    const data = predictBrowse({ records, questions: undefined } as unknown as Parameters<typeof predictBrowse>[0]);
    const verdicts = Object.fromEntries(data.items.map((i) => [i.id, i.verdict]));
    expect(verdicts).toEqual({
      "predict/default/row1": "correct",
      "predict/default/row2": "unparsed",
      "predict/default/row3": "wrong",
    });
    expect(data.items.find((i) => i.verdict === "unparsed")!.verdictNote).toContain("(a tie)");
  });
});
