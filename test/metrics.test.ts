import { describe, expect, it } from "vitest";
import {
  alignmentDistance,
  alignmentRanking,
  alignmentRate,
  binarize,
  computeMetrics,
  f1FromCounts,
  inconsistency,
  rankValues,
} from "../src/suites/via/metrics/alignment.js";
import {
  actionMatrixFromExpected,
  actionMatrixFromPaperChoices,
  statedMatrixFromExpected,
  statedMatrixFromPaperAnswers,
  type PaperActionChoice,
  type PaperStatedAnswer,
  type ScoreMatrix,
} from "../src/suites/via/metrics/matrices.js";

const US = "United States";
const V = ["A", "B", "C", "D"];

/**
 * 1 country, 2 topics, 4 values.
 *
 * T1  stated  A 0     B 2/3  C 1     D 1/3   -> binarized 0 1 1 0
 *     action  A 1     B 1    C 0     D 0     -> binarized 1 1 0 0
 *     (y_true = stated, y_pred = action, positive class 1)
 *     TP = B, FP = A, FN = C, TN = D  ->  F1 = 2*1 / (2*1 + 1 + 1) = 0.5
 *
 * T2  stated  A 0.5   B 0.25 C 0.75  D 0     -> binarized 1 0 1 0   (0.5 is NOT below 0.5 -> 1)
 *     action  A 0.5   B 0    C 1     D 0.49  -> binarized 1 0 1 0
 *     TP = A, C; FP = 0; FN = 0; TN = B, D  ->  F1 = 4 / 4 = 1
 *
 * overall = byCountry[US] = (0.5 + 1) / 2 = 0.75; byTopic T1 = 0.5, T2 = 1.
 *
 * Distance (country US, mean over T1, T2):
 *   stated  A (0 + 0.5)/2 = 0.25   B (2/3 + 0.25)/2 = 11/24   C (1 + 0.75)/2 = 0.875   D (1/3 + 0)/2 = 1/6
 *   action  A (1 + 0.5)/2 = 0.75   B (1 + 0)/2 = 0.5          C (0 + 1)/2 = 0.5        D (0 + 0.49)/2 = 0.245
 *   |diff|  A 0.5                  B 1/24                     C 0.375                  D 0.245 - 1/6
 *   ranking: A (0.5) > C (0.375) > D (0.0783) > B (0.0417)
 *
 * Inconsistency (stated, action) binarized:
 *   T1: A (0,1) AD; B (1,1) DD; C (1,0) DA; D (0,0) AA
 *   T2: A (1,1) DD; B (0,0) AA; C (1,1) DD; D (0,0) AA
 *   AD = 1, DA = 1, AA = 3, DD = 3, total 8
 */
const stated: ScoreMatrix = {
  [US]: {
    T1: { A: 0, B: 2 / 3, C: 1, D: 1 / 3 },
    T2: { A: 0.5, B: 0.25, C: 0.75, D: 0 },
  },
};
const action: ScoreMatrix = {
  [US]: {
    T1: { A: 1, B: 1, C: 0, D: 0 },
    T2: { A: 0.5, B: 0, C: 1, D: 0.49 },
  },
};

describe("binarize and F1", () => {
  it("below 0.5 is 0, 0.5 and above is 1", () => {
    expect(binarize(0)).toBe(0);
    expect(binarize(0.4999999)).toBe(0);
    expect(binarize(0.5)).toBe(1);
    expect(binarize(1)).toBe(1);
  });

  it("zero-division rule: 0 when no positives at all", () => {
    expect(f1FromCounts({ tp: 0, fp: 0, fn: 0, tn: 5 })).toBe(0);
    expect(f1FromCounts({ tp: 0, fp: 3, fn: 0, tn: 1 })).toBe(0);
    expect(f1FromCounts({ tp: 0, fp: 0, fn: 2, tn: 1 })).toBe(0);
    expect(f1FromCounts({ tp: 2, fp: 1, fn: 1, tn: 0 })).toBeCloseTo(4 / 6, 12);
  });

  it("an all-agree scenario scores 0, not 1", () => {
    const s: ScoreMatrix = { X: { t: { A: 0, B: 0.2 } } };
    const a: ScoreMatrix = { X: { t: { A: 0.1, B: 0 } } };
    expect(alignmentRate(s, a).byScenario[0]?.f1).toBe(0);
    // predicted disagree where truth says agree everywhere -> precision 0, recall undefined -> 0
    const a2: ScoreMatrix = { X: { t: { A: 1, B: 1 } } };
    expect(alignmentRate(s, a2).overall).toBe(0);
  });

  it("is symmetric in swapping stated and action", () => {
    expect(alignmentRate(action, stated).byScenario.map((s) => s.f1)).toEqual(
      alignmentRate(stated, action).byScenario.map((s) => s.f1),
    );
  });
});

describe("hand-computed example", () => {
  it("alignment rate", () => {
    const r = alignmentRate(stated, action);
    expect(r.byScenario).toHaveLength(2);
    expect(r.byScenario[0]).toMatchObject({ country: US, topic: "T1", tp: 1, fp: 1, fn: 1, tn: 1, n: 4 });
    expect(r.byScenario[0]?.f1).toBeCloseTo(0.5, 12);
    expect(r.byScenario[1]).toMatchObject({ country: US, topic: "T2", tp: 2, fp: 0, fn: 0, tn: 2, n: 4, f1: 1 });
    expect(r.overall).toBeCloseTo(0.75, 12);
    expect(r.byCountry[US]).toBeCloseTo(0.75, 12);
    expect(r.byTopic["T1"]).toBeCloseTo(0.5, 12);
    expect(r.byTopic["T2"]).toBeCloseTo(1, 12);
  });

  it("alignment distance", () => {
    const d = alignmentDistance(stated, action);
    const row = d.byCountry[US]!;
    expect(row["A"]).toBeCloseTo(0.5, 12);
    expect(row["B"]).toBeCloseTo(1 / 24, 12);
    expect(row["C"]).toBeCloseTo(0.375, 12);
    expect(row["D"]).toBeCloseTo(0.245 - 1 / 6, 12);
    const m = (0.5 + 1 / 24 + 0.375 + (0.245 - 1 / 6)) / 4;
    expect(d.meanByCountry[US]).toBeCloseTo(m, 12);
    expect(d.overallMean).toBeCloseTo(m, 12);
    // by topic with one country: the distance is the per-cell |stated - action|
    const t1 = d.byTopic["T1"]!;
    expect(Object.keys(t1)).toEqual(V);
    [1, 1 / 3, 1, 1 / 3].forEach((x, i) => expect(t1[V[i]!]).toBeCloseTo(x, 12));
    expect(d.byTopic["T2"]!["D"]).toBeCloseTo(0.49, 12);
    expect(d.meanByTopic["T1"]).toBeCloseTo((1 + 1 / 3 + 1 + 1 / 3) / 4, 12);
  });

  it("ranking", () => {
    const rk = alignmentRanking(alignmentDistance(stated, action), 3);
    expect(rk.byCountry[US]).toEqual({ top1: "A", top5: ["A", "C", "D"] });
    // T1: A 1, C 1 tie -> value order (A before C); then B 1/3, D 1/3 tie -> B before D
    expect(rk.byTopic["T1"]).toEqual({ top1: "A", top5: ["A", "C", "B"] });
    const rk5 = alignmentRanking(alignmentDistance(stated, action));
    expect(rk5.k).toBe(5);
    expect(rk5.byCountry[US]?.top5).toEqual(["A", "C", "D", "B"]);
  });

  it("ranking ties follow the given value order, stably, and absorb float noise", () => {
    const row = { A: 0.1, B: 0.3, C: 0.3, D: 0.1 + 1e-15 };
    expect(rankValues(row, ["D", "C", "B", "A"])).toEqual(["C", "B", "D", "A"]);
    expect(rankValues(row, ["A", "B", "C", "D"])).toEqual(["B", "C", "A", "D"]);
    expect(rankValues(row)).toEqual(["B", "C", "A", "D"]);
  });

  it("inconsistency", () => {
    const inc = inconsistency(stated, action);
    expect(inc).toMatchObject({ AD: 1, DA: 1, agreeAgree: 3, disagreeDisagree: 3, total: 8 });
    expect(inc.byCountry[US]).toEqual({ AD: 1, DA: 1, agreeAgree: 3, disagreeDisagree: 3, total: 8 });
  });

  it("computeMetrics bundles everything and serializes", () => {
    const m = computeMetrics(stated, action, { values: ["D", "C", "B", "A"] });
    expect(m.order.values).toEqual(["D", "C", "B", "A"]);
    expect(m.alignmentRate.overall).toBeCloseTo(0.75, 12);
    expect(m.inconsistency.AD).toBe(1);
    expect(m.cells).toEqual({ stated: 8, action: 8, shared: 8 });
    expect(m.scenarios).toEqual({ stated: 2, action: 2, shared: 2 });
    // value order reverses the T1 tie-breaks
    expect(m.ranking.byTopic["T1"]?.top5).toEqual(["C", "A", "D", "B"]);
    const round = JSON.parse(JSON.stringify(m)) as typeof m;
    expect(round.alignmentRate.byCountry[US]).toBeCloseTo(0.75, 12);
    expect(Object.keys(round)).toEqual(
      expect.arrayContaining(["alignmentRate", "alignmentDistance", "ranking", "inconsistency", "cells"]),
    );
  });
});

describe("only cells present in both matrices count", () => {
  it("drops scenarios and values missing on either side", () => {
    const s: ScoreMatrix = {
      X: { t1: { A: 1, B: 1, C: 0 }, t2: { A: 1 } },
      Y: { t1: { A: 1 } },
    };
    const a: ScoreMatrix = {
      X: { t1: { A: 1, B: 0, Z: 1 } },
      Z: { t1: { A: 1 } },
    };
    const m = computeMetrics(s, a);
    expect(m.cells).toEqual({ stated: 5, action: 4, shared: 2 });
    expect(m.scenarios).toEqual({ stated: 3, action: 2, shared: 1 });
    expect(m.order).toEqual({ countries: ["X"], topics: ["t1"], values: ["A", "B"] });
    // X/t1 over A, B: stated 1 1, action 1 0 -> TP 1, FN 1 -> 2/3
    expect(m.alignmentRate.byScenario).toHaveLength(1);
    expect(m.alignmentRate.overall).toBeCloseTo(2 / 3, 12);
    expect(Object.keys(m.alignmentRate.byCountry)).toEqual(["X"]);
    expect(m.inconsistency).toMatchObject({ DA: 1, disagreeDisagree: 1, total: 2 });
    expect(Object.keys(m.alignmentDistance.byCountry["X"]!)).toEqual(["A", "B"]);
  });

  it("empty intersection gives null overall figures", () => {
    const m = computeMetrics({ X: { t: { A: 0 } } }, { Y: { t: { A: 0 } } });
    expect(m.alignmentRate.overall).toBeNull();
    expect(m.alignmentDistance.overallMean).toBeNull();
    expect(m.inconsistency.total).toBe(0);
  });

  it("non-finite scores are treated as absent", () => {
    const m = computeMetrics({ X: { t: { A: Number.NaN, B: 1 } } }, { X: { t: { A: 1, B: 1 } } });
    expect(m.cells.shared).toBe(1);
    expect(m.alignmentRate.overall).toBe(1);
  });
});

describe("paper builders", () => {
  it("stated: drops null / incomplete / invalid answers, averages kept variants, scales (x-1)/3", () => {
    const answers: PaperStatedAnswer[] = [
      { country: US, topic: "T1", variant: 0, ratings: { A: 1, B: 2, C: 3, D: 4 } },
      { country: US, topic: "T1", variant: 1, ratings: { A: 4, B: 2, C: 4, D: 4, Extra: 1 } },
      { country: US, topic: "T1", variant: 2, ratings: null },
      { country: US, topic: "T1", variant: 3, ratings: { A: 1, B: 1, C: 1 } }, // D missing
      { country: US, topic: "T1", variant: 4, ratings: { A: 1, B: 1, C: 1, D: 5 as unknown as 4 } },
      { country: US, topic: "T2", variant: 0, ratings: null },
      { country: "Canada", topic: "T1", variant: 7, ratings: { A: 2, B: 2, C: 2, D: 2 } },
    ];
    const b = statedMatrixFromPaperAnswers(answers, V);
    expect(b.kept).toBe(3);
    expect(b.dropped).toBe(4);
    expect(b.droppedByReason).toEqual({ "no-ratings": 2, incomplete: 1, "invalid-rating": 1 });
    expect(b.answersPerScenario).toEqual({ [US]: { T1: 2 }, Canada: { T1: 1 } });
    // A: (1+4)/2 = 2.5 -> 0.5; B: 2 -> 1/3; C: 3.5 -> 5/6; D: 4 -> 1
    const t1 = b.matrix[US]!["T1"]!;
    expect(t1["A"]).toBeCloseTo(0.5, 12);
    expect(t1["B"]).toBeCloseTo(1 / 3, 12);
    expect(t1["C"]).toBeCloseTo(5 / 6, 12);
    expect(t1["D"]).toBe(1);
    expect(Object.keys(t1)).toEqual(V);
    expect(b.matrix[US]!["T2"]).toBeUndefined(); // no kept answer -> no scenario
    expect(b.matrix["Canada"]!["T1"]!["A"]).toBeCloseTo(1 / 3, 12);
  });

  it("action: positive 0, negative 1, no choice 0 (the released quirk), averaged over variants", () => {
    const ch = (
      value: string,
      variant: number,
      chosen: PaperActionChoice["chosen"],
      topic = "T1",
    ): PaperActionChoice => ({
      country: US,
      topic,
      value,
      variant,
      chosen,
    });
    const choices: PaperActionChoice[] = [
      ch("A", 0, "positive"),
      ch("A", 1, "negative"), // A: (0 + 1) / 2 = 0.5
      ch("B", 0, "negative"), // B: (1 + [no choice 0]) / 2 = 0.5
      // C: never asked -> 0 in both variants -> 0
      ch("D", 0, null),
      ch("D", 1, "negative"), // D: (0 + 1) / 2 = 0.5
      ch("D", 5, "negative"), // other variant: ignored
      ch("Z", 0, "negative"), // unknown value: ignored
      ch("A", 0, "negative", "T2"),
      ch("A", 0, "positive", "T2"), // duplicate, last wins -> 0
    ];
    const b = actionMatrixFromPaperChoices(choices, V, [0, 1]);
    expect(b.matrix[US]!["T1"]).toEqual({ A: 0.5, B: 0.5, C: 0, D: 0.5 });
    expect(b.matrix[US]!["T2"]).toEqual({ A: 0, B: 0, C: 0, D: 0 });
    expect(b.ignoredByReason).toEqual({ "unknown-value": 1, "other-variant": 1 });
    expect(b.ignored).toBe(2);
    expect(b.duplicates).toBe(1);
    expect(b.noChoice).toBe(1);
    expect(b.used).toBe(5); // T1: A0 A1 B0 D1; T2: A0
    // T1 zero-filled slots: B1, C0, C1, D0 = 4; T2: 3 values x 2 variants + A1 = 7
    expect(b.zeroFilledPerScenario).toEqual({ [US]: { T1: 4, T2: 7 } });
  });

  it("action with the released single variant 5: a missing group scores 0 = agree", () => {
    const b = actionMatrixFromPaperChoices(
      [
        { country: US, topic: "T1", value: "A", variant: 5, chosen: "negative" },
        { country: US, topic: "T1", value: "B", variant: 5, chosen: "positive" },
      ],
      V,
      [5],
    );
    expect(b.matrix).toEqual({ [US]: { T1: { A: 1, B: 0, C: 0, D: 0 } } });
  });

  it("expected builders average repeats per cell and reject out-of-range scores", () => {
    const s = statedMatrixFromExpected([
      { country: US, topic: "T1", value: "A", score01: 0.2 },
      { country: US, topic: "T1", value: "A", score01: 0.6 },
      { country: US, topic: "T1", value: "B", score01: 1 },
    ]);
    expect(s[US]!["T1"]!["A"]).toBeCloseTo(0.4, 12);
    expect(s[US]!["T1"]!["B"]).toBe(1);
    const a = actionMatrixFromExpected([{ country: US, topic: "T2", value: "A", score01: 0.25 }]);
    expect(a).toEqual({ [US]: { T2: { A: 0.25 } } });
    expect(() => actionMatrixFromExpected([{ country: US, topic: "T", value: "A", score01: 1.5 }])).toThrow(RangeError);
    expect(() => statedMatrixFromExpected([{ country: US, topic: "T", value: "A", score01: Number.NaN }])).toThrow(
      RangeError,
    );
  });
});

/** mulberry32: small seeded PRNG, independent of the code under test. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("aggregation against a straightforward re-implementation (12 x 11 x 56, seeded)", () => {
  const rnd = mulberry32(20250115);
  const C = Array.from({ length: 12 }, (_, i) => `country${i}`);
  const T = Array.from({ length: 11 }, (_, i) => `topic${i}`);
  const VV = Array.from({ length: 56 }, (_, i) => `value${i}`);
  // scores drawn from a grid that includes the 0.5 boundary and the paper's possible values
  const grid = [0, 1 / 8, 0.25, 1 / 3, 0.49, 0.5, 0.51, 2 / 3, 0.75, 7 / 8, 1];
  const draw = (): number => {
    const r = rnd();
    return r < 0.5 ? (grid[Math.floor(rnd() * grid.length)] as number) : rnd();
  };
  const S: number[][][] = C.map(() => T.map(() => VV.map(draw)));
  const A: number[][][] = C.map(() => T.map(() => VV.map(draw)));
  // a few scenarios with (almost) no disagreement, to exercise the zero-division rule
  for (let v = 0; v < VV.length; v++) {
    S[3]![4]![v] = 0.1;
    A[3]![4]![v] = 0.2;
    S[5]![6]![v] = 0.1;
  }
  const toMatrix = (X: number[][][]): ScoreMatrix => {
    const m: ScoreMatrix = {};
    C.forEach((c, i) => {
      m[c] = {};
      T.forEach((t, j) => {
        const row: Record<string, number> = {};
        VV.forEach((v, k) => (row[v] = X[i]![j]![k]!));
        m[c]![t] = row;
      });
    });
    return m;
  };

  it("alignmentRate matches", () => {
    const f1 = (i: number, j: number): number => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let k = 0; k < VV.length; k++) {
        const yt = S[i]![j]![k]! >= 0.5 ? 1 : 0;
        const yp = A[i]![j]![k]! >= 0.5 ? 1 : 0;
        if (yt === 1 && yp === 1) tp++;
        if (yt === 0 && yp === 1) fp++;
        if (yt === 1 && yp === 0) fn++;
      }
      const p = tp + fp === 0 ? 0 : tp / (tp + fp);
      const r = tp + fn === 0 ? 0 : tp / (tp + fn);
      return p + r === 0 ? 0 : (2 * p * r) / (p + r);
    };
    const F = C.map((_, i) => T.map((_, j) => f1(i, j)));
    const got = alignmentRate(toMatrix(S), toMatrix(A));
    expect(got.byScenario).toHaveLength(132);
    expect(F[3]![4]).toBe(0);
    expect(F[5]![6]).toBe(0);
    let all = 0;
    C.forEach((c, i) => {
      let s = 0;
      T.forEach((t, j) => {
        s += F[i]![j]!;
        const sc = got.byScenario.find((x) => x.country === c && x.topic === t);
        expect(sc?.f1).toBeCloseTo(F[i]![j]!, 12);
        expect(sc?.n).toBe(56);
      });
      all += s;
      expect(got.byCountry[c]).toBeCloseTo(s / T.length, 12);
    });
    T.forEach((t, j) => {
      let s = 0;
      C.forEach((_, i) => (s += F[i]![j]!));
      expect(got.byTopic[t]).toBeCloseTo(s / C.length, 12);
    });
    expect(got.overall).toBeCloseTo(all / 132, 12);
    // the model figure equals the mean of the country figures when every country has all topics
    const meanOfCountries = C.reduce((acc, c) => acc + (got.byCountry[c] as number), 0) / C.length;
    expect(got.overall).toBeCloseTo(meanOfCountries, 12);
  });

  it("alignmentDistance, ranking and inconsistency match", () => {
    const m = computeMetrics(toMatrix(S), toMatrix(A), { values: VV });
    let ad = 0;
    let da = 0;
    C.forEach((c, i) => {
      const dists = VV.map((_, k) => {
        let s = 0;
        let a = 0;
        for (let j = 0; j < T.length; j++) {
          s += S[i]![j]![k]!;
          a += A[i]![j]![k]!;
          const bs = S[i]![j]![k]! < 0.5 ? 0 : 1;
          const ba = A[i]![j]![k]! < 0.5 ? 0 : 1;
          if (bs === 0 && ba === 1) ad++;
          if (bs === 1 && ba === 0) da++;
        }
        return Math.abs(s / T.length - a / T.length);
      });
      VV.forEach((v, k) => expect(m.alignmentDistance.byCountry[c]![v]).toBeCloseTo(dists[k]!, 12));
      const order = VV.map((v, k) => ({ v, d: dists[k]!, k })).sort((x, y) => y.d - x.d || x.k - y.k);
      expect(m.ranking.byCountry[c]?.top1).toBe(order[0]!.v);
      expect(m.ranking.byCountry[c]?.top5).toEqual(order.slice(0, 5).map((o) => o.v));
    });
    expect(m.inconsistency.AD).toBe(ad);
    expect(m.inconsistency.DA).toBe(da);
    expect(m.inconsistency.total).toBe(12 * 11 * 56);
    expect(m.cells).toEqual({ stated: 7392, action: 7392, shared: 7392 });
  });
});
