// The fewest prompt tokens a set of segmented prompts needs (src/runner/minimumTokens.ts).
import { describe, expect, it } from "vitest";
import { minimumPromptTokens } from "../src/runner/minimumTokens.js";

const p = (...segments: number[][]) => {
  const tokens = segments.flat();
  const segmentEnds: number[] = [];
  let end = 0;
  for (const s of segments) segmentEnds.push((end += s.length));
  return { tokens, segmentEnds };
};

describe("minimum prompt tokens", () => {
  it("counts every distinct segment prefix once", () => {
    const context = [1, 2, 3, 4];
    const stemA = [10, 11, 12];
    const stemB = [20, 21];
    const prompts = [
      p(context, stemA, [7, 8]), // 4 + 3 + 2
      p(context, stemA, [8, 7]), // + 2
      p(context, stemA, [7, 8]), // a repeat of the first: nothing
      p(context, stemB, [7, 8]), // + 2 + 2
      p([9], stemA, [7, 8]), // another context: + 1 + 3 + 2
    ];
    expect(minimumPromptTokens(prompts)).toEqual({
      minimum: 9 + 2 + 4 + 6,
      total: 9 + 9 + 9 + 8 + 6,
      nodes: 3 + 1 + 2 + 3,
    });
  });

  it("shares a node only when the cuts before it are the same too", () => {
    // The same tokens cut differently are different batches: nothing is shared.
    expect(minimumPromptTokens([p([1, 2], [3, 4]), p([1], [2, 3, 4])]).minimum).toBe(8);
    // Same first segment, the rest cut differently: the first is shared.
    expect(minimumPromptTokens([p([1, 2], [3, 4]), p([1, 2], [3], [4])]).minimum).toBe(2 + 2 + 2);
  });

  it("skips empty segments and treats a prompt without cuts as one segment", () => {
    expect(
      minimumPromptTokens([
        { tokens: [1, 2, 3], segmentEnds: [0, 2, 2, 3] },
        { tokens: [1, 2, 4], segmentEnds: [2, 3] },
      ]),
    ).toEqual({ minimum: 4, total: 6, nodes: 3 });
    expect(
      minimumPromptTokens([
        { tokens: [5, 6], segmentEnds: [] },
        { tokens: [5, 6], segmentEnds: [2] },
      ]).minimum,
    ).toBe(2);
    expect(minimumPromptTokens([])).toEqual({ minimum: 0, total: 0, nodes: 0 });
  });
});
