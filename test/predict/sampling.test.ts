import { describe, expect, it } from "vitest";
import { drawSample, trainOrder } from "../../src/suites/predict/sampling.js";
import { UserError } from "../../src/util/errors.js";

/** 14,000 rows, True on every third row (the predicted model chose a third of the actions). */
function labels(n = 14_000): Map<number, boolean> {
  return new Map(Array.from({ length: n }, (_, r) => [r, r % 3 === 0] as const));
}

describe("drawSample", () => {
  it("draws 10 + 10 training rows below 7000 and 100 + 100 test rows from the rest", () => {
    const l = labels();
    const s = drawSample(l, { seed: 1 });
    expect(s.trainTrue).toHaveLength(10);
    expect(s.trainFalse).toHaveLength(10);
    expect(s.trainTrue.every((r) => r < 7000 && l.get(r) === true)).toBe(true);
    expect(s.trainFalse.every((r) => r < 7000 && l.get(r) === false)).toBe(true);
    expect(s.test).toHaveLength(200);
    expect(s.test.filter((t) => t.label)).toHaveLength(100);
    expect(s.test.every((t) => t.row >= 7000 && l.get(t.row) === t.label)).toBe(true);
    expect(new Set(s.test.map((t) => t.row)).size).toBe(200);
    expect(s.test.map((t) => t.row)).toEqual(s.test.map((t) => t.row).sort((a, b) => a - b));
  });

  it("is deterministic in the seed, and the seed matters", () => {
    const l = labels();
    expect(drawSample(l, { seed: 7 })).toEqual(drawSample(l, { seed: 7 }));
    expect(drawSample(l, { seed: 7 }).trainTrue).not.toEqual(drawSample(l, { seed: 8 }).trainTrue);
  });

  it("does not depend on the map's insertion order", () => {
    const l = labels();
    const reversed = new Map([...l].reverse());
    expect(drawSample(reversed, { seed: 3 })).toEqual(drawSample(l, { seed: 3 }));
  });

  it("takes --train, --test, the pool boundary and an eligibility filter", () => {
    const s = drawSample(labels(100), {
      seed: 2,
      trainPerLabel: 3,
      testPerLabel: 5,
      trainPoolEnd: 50,
      trainEligible: (r) => r % 2 === 0,
    });
    expect([...s.trainTrue, ...s.trainFalse].every((r) => r < 50 && r % 2 === 0)).toBe(true);
    expect(s.trainTrue).toHaveLength(3);
    expect(s.test).toHaveLength(10);
    expect(s.test.every((t) => t.row >= 50)).toBe(true);
  });

  it("says which pool lacks rows of which label", () => {
    const l = new Map<number, boolean>([...labels(100)].map(([r, v]) => [r, r < 50 ? v : true]));
    const run = () => drawSample(l, { seed: 1, trainPerLabel: 2, testPerLabel: 5, trainPoolEnd: 50, source: "runs/x" });
    expect(run).toThrow(UserError);
    expect(run).toThrow("runs/x: the test pool (rows >= 50) has 0 rows labeled False, 5 are needed");
  });

  it("rejects a non-positive size", () => {
    expect(() => drawSample(labels(), { seed: 1, trainPerLabel: 0 })).toThrow("--train must be a positive integer");
  });
});

describe("trainOrder", () => {
  const s = { trainTrue: [1, 2, 3], trainFalse: [10, 20, 30], test: [] };
  it("interleaves the labels, True first on even repeats", () => {
    expect(trainOrder(s, 0)).toEqual([
      { row: 1, label: true },
      { row: 10, label: false },
      { row: 2, label: true },
      { row: 20, label: false },
      { row: 3, label: true },
      { row: 30, label: false },
    ]);
  });
  it("False first on odd repeats, so over two repeats each label is first and last once", () => {
    const odd = trainOrder(s, 1);
    expect(odd.map((e) => e.row)).toEqual([10, 1, 20, 2, 30, 3]);
    expect([trainOrder(s, 0)[0]!.label, odd[0]!.label]).toEqual([true, false]);
    expect([trainOrder(s, 0).at(-1)!.label, odd.at(-1)!.label]).toEqual([false, true]);
  });
});
