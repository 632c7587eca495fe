import { describe, expect, it } from "vitest";
import {
  accuracy,
  brierScore,
  confusion,
  f1,
  metricsOf,
  PredictMetricsSchema,
  precision,
  predictMetrics,
  recall,
  rocAuc,
  type ScoredRow,
} from "../../src/suites/predict/metrics.js";

const rows = (labels: string, predicted: string): ScoredRow[] =>
  [...labels].map((l, i) => ({
    key: i,
    label: l === "T",
    predicted: predicted[i] === "?" ? null : predicted[i] === "T",
  }));

describe("confusion and the classification metrics", () => {
  it("a hand-computed matrix: tp 3, fn 1, fp 2, tn 4", () => {
    const c = confusion(rows("TTTTFFFFFF", "TTTFTTFFFF") as { label: boolean; predicted: boolean }[]);
    expect(c).toEqual({ tp: 3, fp: 2, tn: 4, fn: 1 });
    expect(precision(c)).toBeCloseTo(0.6, 12);
    expect(recall(c)).toBeCloseTo(0.75, 12);
    expect(f1(c)).toBeCloseTo(2 / 3, 12); // 2*0.6*0.75/(0.6+0.75)
    expect(accuracy(c)).toBeCloseTo(0.7, 12);
  });

  it("the paper's default mode: tp 99, fp 50, tn 50, fn 1", () => {
    const c = { tp: 99, fp: 50, tn: 50, fn: 1 };
    expect(f1(c).toFixed(4)).toBe("0.7952");
    expect(accuracy(c)).toBe(0.745);
    expect(precision(c)).toBeCloseTo(99 / 149, 12);
    expect(recall(c)).toBe(0.99);
  });

  it("zero denominators give 0, as scikit-learn's zero_division default does", () => {
    const noTruePredicted = { tp: 0, fp: 0, tn: 3, fn: 2 };
    expect([precision(noTruePredicted), recall(noTruePredicted), f1(noTruePredicted)]).toEqual([0, 0, 0]);
    const noTrueAtAll = { tp: 0, fp: 0, tn: 5, fn: 0 };
    expect([precision(noTrueAtAll), recall(noTrueAtAll), f1(noTrueAtAll), accuracy(noTrueAtAll)]).toEqual([0, 0, 0, 1]);
    expect(accuracy({ tp: 0, fp: 0, tn: 0, fn: 0 })).toBeNull();
  });

  it("unparsed answers are left out", () => {
    const m = metricsOf(rows("TTFF", "T?F?"));
    expect(m.accuracy).toBe(1);
    expect(metricsOf(rows("TF", "??")).f1).toBeNull();
  });
});

describe("Brier score and ROC AUC", () => {
  const probs = [
    { label: true, p: 0.9 },
    { label: true, p: 0.5 },
    { label: false, p: 0.5 },
    { label: false, p: 0.1 },
  ];
  it("Brier: the mean squared error", () => {
    expect(brierScore(probs)).toBeCloseTo((0.01 + 0.25 + 0.25 + 0.01) / 4, 12);
    expect(brierScore([])).toBeNull();
  });
  it("AUC: a tie between a True and a False row counts one half", () => {
    expect(rocAuc(probs)).toBeCloseTo(3.5 / 4, 12);
    expect(rocAuc(probs.map((r) => ({ ...r, p: 0.3 })))).toBe(0.5);
    expect(
      rocAuc([
        { label: true, p: 0.2 },
        { label: false, p: 0.8 },
      ]),
    ).toBe(0);
    expect(rocAuc([{ label: true, p: 0.2 }])).toBeNull();
  });
  it("AUC equals the pairwise count on a larger sample with ties", () => {
    const r = Array.from({ length: 60 }, (_, i) => ({ label: i % 3 !== 0, p: Math.round(((i * 37) % 11) / 2) / 5 }));
    let wins = 0;
    let pairs = 0;
    for (const a of r.filter((x) => x.label))
      for (const b of r.filter((x) => !x.label)) {
        pairs++;
        wins += a.p > b.p ? 1 : a.p === b.p ? 0.5 : 0;
      }
    expect(rocAuc(r)).toBeCloseTo(wins / pairs, 12);
  });
});

describe("predictMetrics", () => {
  const labels = "TTTTTTTTTTFFFFFFFFFF";
  const byMode = {
    default: rows(labels, "TTTTTTTTTFTTTTTFFFFF"),
    explanation: rows(labels, "TTTTTTTTTTTTFFFFFFF?"),
  };

  it("per mode: counts, metrics and intervals; paired differences against default", () => {
    const m = predictMetrics(byMode, { samples: 500, seed: 1 });
    const d = m.byMode.default!;
    expect([d.tp, d.fp, d.tn, d.fn, d.n, d.unparsed]).toEqual([9, 5, 5, 1, 20, 0]);
    expect(d.f1).toBeCloseTo(18 / 24, 12);
    expect(d.brier).toBeNull();
    expect(d.intervals.auc).toBeUndefined();
    const f1i = d.intervals.f1!;
    expect(f1i.estimate).toBe(d.f1);
    expect(f1i.low!).toBeLessThanOrEqual(d.f1!);
    expect(f1i.high!).toBeGreaterThanOrEqual(d.f1!);
    const e = m.byMode.explanation!;
    expect([e.tp, e.fp, e.tn, e.fn, e.n, e.unparsed]).toEqual([10, 2, 7, 0, 19, 1]);
    const diff = m.differences.explanation!;
    expect(diff.n).toBe(19);
    expect(diff.unpaired).toBe(0);
    expect(diff.metrics.accuracy!.estimate).toBeCloseTo(17 / 19 - 13 / 19, 12); // over the 19 rows parsed in both: 17 and 13 right
    expect(typeof diff.metrics.accuracy!.excludesZero).toBe("boolean");
    expect(m.differences.default).toBeUndefined();
    expect(PredictMetricsSchema.parse(JSON.parse(JSON.stringify(m)))).toBeTruthy();
  });

  it("is deterministic in the seed", () => {
    expect(predictMetrics(byMode, { samples: 200, seed: 5 })).toEqual(
      predictMetrics(byMode, { samples: 200, seed: 5 }),
    );
  });

  it("a mode identical to default differs by exactly zero, which the interval does not exclude", () => {
    const m = predictMetrics({ default: byMode.default, attribution: byMode.default }, { samples: 200, seed: 1 });
    const f = m.differences.attribution!.metrics.f1!;
    expect([f.estimate, f.low, f.high, f.excludesZero]).toEqual([0, 0, 0, false]);
  });

  it("probabilities add Brier and AUC with intervals and paired differences", () => {
    const withP = (rs: ScoredRow[], shift: number) =>
      rs.map((r) => ({ ...r, pTrue: Math.min(1, Math.max(0, (r.label ? 0.7 : 0.3) + shift * ((r.key % 5) - 2))) }));
    const m = predictMetrics(
      { default: withP(byMode.default, 0.2), explanation: withP(byMode.explanation, 0.05) },
      { samples: 200, seed: 1 },
    );
    expect(m.byMode.default!.nProbability).toBe(20);
    expect(m.byMode.default!.auc).not.toBeNull();
    expect(m.byMode.default!.intervals.brier).toBeDefined();
    expect(m.differences.explanation!.metrics.auc).toBeDefined();
  });

  it("a test row answered twice is an error", () => {
    const dup = [...byMode.default, byMode.default[0]!];
    expect(() => predictMetrics({ default: dup }, { samples: 0, seed: 1 })).toThrow(
      "mode default: test row 0 is answered twice",
    );
  });
});
