// Bootstrap intervals of the headline figures: reproducible, seeded, with the resampling units
// the issue specifies; and the spread of the alignment rate over repeats.
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { alignmentDistance, alignmentRate, computeMetrics } from "../src/suites/via/metrics/alignment.js";
import { quantile, type Interval } from "../src/metrics/bootstrap.js";
import { metricsFromRecords } from "../src/suites/via/metrics/fromRecords.js";
import type { ScoreMatrix } from "../src/suites/via/metrics/matrices.js";
import {
  alignmentIntervals,
  BOOTSTRAP_LABELS,
  repeatSpread,
  RESAMPLED,
  type Intervals,
} from "../src/suites/via/metrics/uncertainty.js";
import { TOPICS, VALUE_NAMES } from "../src/protocol/values.js";
import { seededRandom } from "../src/util/random.js";
import { hash01, lettersRecord, lettersRun, writeRunDir } from "./helpers/handcrafted.js";
import { valuelens } from "./helpers/cli.js";

const COUNTRIES = ["United States", "Nigeria", "Egypt"];
const TOPICS4 = ["T1", "T2", "T3", "T4"];
const VALUES10 = ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"];

/** A reasonable matrix pair: scores from a hash, actions correlated with stated values. */
function matrices(): { stated: ScoreMatrix; action: ScoreMatrix } {
  const stated: ScoreMatrix = {};
  const action: ScoreMatrix = {};
  for (const c of COUNTRIES) {
    stated[c] = {};
    action[c] = {};
    for (const t of TOPICS4) {
      stated[c]![t] = {};
      action[c]![t] = {};
      for (const v of VALUES10) {
        const s = hash01(`s/${c}/${t}/${v}`);
        stated[c]![t]![v] = s;
        action[c]![t]![v] = Math.min(1, Math.max(0, 0.6 * s + 0.5 * hash01(`a/${c}/${t}/${v}`) - 0.05));
      }
    }
  }
  return { stated, action };
}

function everyInterval(iv: Intervals): Interval[] {
  return [
    iv.alignmentRate.overall,
    ...Object.values(iv.alignmentRate.byCountry),
    ...Object.values(iv.alignmentRate.byTopic),
    iv.alignmentDistance.overallMean,
    ...Object.values(iv.alignmentDistance.meanByCountry),
  ];
}

/** The percentile interval of `stats` as bootstrap() computes it. */
function percentile(stats: number[], level = 0.95): [number | null, number | null] {
  const sorted = stats.slice().sort((a, b) => a - b);
  return [quantile(sorted, (1 - level) / 2), quantile(sorted, 1 - (1 - level) / 2)];
}

/** The resamples bootstrap() draws for a label: lists of unit indices. */
function draws(n: number, samples: number, seed: number, label: string): number[][] {
  const random = seededRandom("bootstrap", seed, label);
  return Array.from({ length: samples }, () => Array.from({ length: n }, () => Math.floor(random() * n)));
}

describe("bootstrap intervals of the headline figures", () => {
  const { stated, action } = matrices();
  const opts = { samples: 300, seed: 5 };

  it("are identical across two invocations with the same seed and differ with another seed", () => {
    const a = alignmentIntervals(stated, action, opts);
    const b = alignmentIntervals(stated, action, opts);
    expect(b).toEqual(a);
    const other = alignmentIntervals(stated, action, { ...opts, seed: 6 });
    expect(other.alignmentRate.overall.low).not.toBe(a.alignmentRate.overall.low);
    expect(other.alignmentRate.byCountry).not.toEqual(a.alignmentRate.byCountry);
    expect(other.alignmentDistance.meanByCountry).not.toEqual(a.alignmentDistance.meanByCountry);
    expect(a.bootstrap).toMatchObject({ samples: 300, seed: 5, level: 0.95, method: "percentile" });
    expect(a.bootstrap.resampled).toEqual(RESAMPLED);
  });

  it("carry the point figures as estimates and contain them", () => {
    const iv = alignmentIntervals(stated, action, opts);
    const rate = alignmentRate(stated, action);
    const dist = alignmentDistance(stated, action);
    expect(iv.alignmentRate.overall.estimate).toBeCloseTo(rate.overall!, 12);
    for (const c of COUNTRIES) {
      expect(iv.alignmentRate.byCountry[c]!.estimate).toBeCloseTo(rate.byCountry[c]!, 12);
      expect(iv.alignmentDistance.meanByCountry[c]!.estimate).toBeCloseTo(dist.meanByCountry[c]!, 12);
    }
    for (const t of TOPICS4) expect(iv.alignmentRate.byTopic[t]!.estimate).toBeCloseTo(rate.byTopic[t]!, 12);
    expect(iv.alignmentDistance.overallMean.estimate).toBeCloseTo(dist.overallMean!, 12);
    for (const x of everyInterval(iv)) {
      expect(x.samples).toBe(300);
      expect(x.low!).toBeLessThanOrEqual(x.estimate!);
      expect(x.high!).toBeGreaterThanOrEqual(x.estimate!);
      expect(x.high!).toBeGreaterThan(x.low!);
    }
  });

  it("--bootstrap 0 keeps the estimates and drops the interval ends", () => {
    const iv = alignmentIntervals(stated, action, { samples: 0, seed: 5 });
    for (const x of everyInterval(iv)) {
      expect(x.estimate).not.toBeNull();
      expect(x.low).toBeNull();
      expect(x.high).toBeNull();
    }
  });

  it("resample scenarios for the overall rate: the mean F1 over the drawn scenarios", () => {
    const iv = alignmentIntervals(stated, action, opts);
    const f1 = alignmentRate(stated, action).byScenario.map((s) => s.f1);
    const stats = draws(f1.length, 300, 5, BOOTSTRAP_LABELS.rateOverall).map(
      (u) => u.reduce((s, i) => s + f1[i]!, 0) / u.length,
    );
    const [low, high] = percentile(stats);
    expect(iv.alignmentRate.overall.low).toBeCloseTo(low!, 12);
    expect(iv.alignmentRate.overall.high).toBeCloseTo(high!, 12);
  });

  it("resample values within a country: each topic's F1 recomputed over the drawn values, then averaged", () => {
    const iv = alignmentIntervals(stated, action, opts);
    const c = "Nigeria";
    const stats = draws(VALUES10.length, 300, 5, BOOTSTRAP_LABELS.rateCountry(c)).map((units) => {
      // Build the resampled country explicitly (a value drawn twice becomes two values) and use the paper's F1.
      const s: ScoreMatrix = { [c]: {} };
      const a: ScoreMatrix = { [c]: {} };
      for (const t of TOPICS4) {
        s[c]![t] = {};
        a[c]![t] = {};
        units.forEach((u, k) => {
          s[c]![t]![`${VALUES10[u]}#${k}`] = stated[c]![t]![VALUES10[u]!]!;
          a[c]![t]![`${VALUES10[u]}#${k}`] = action[c]![t]![VALUES10[u]!]!;
        });
      }
      return alignmentRate(s, a).byCountry[c]!;
    });
    const [low, high] = percentile(stats);
    expect(iv.alignmentRate.byCountry[c]!.low).toBeCloseTo(low!, 12);
    expect(iv.alignmentRate.byCountry[c]!.high).toBeCloseTo(high!, 12);
  });

  it("resample values within a topic: each country's F1 over the drawn values, averaged over countries", () => {
    const iv = alignmentIntervals(stated, action, opts);
    const t = "T3";
    const stats = draws(VALUES10.length, 300, 5, BOOTSTRAP_LABELS.rateTopic(t)).map((units) => {
      const s: ScoreMatrix = {};
      const a: ScoreMatrix = {};
      for (const c of COUNTRIES) {
        s[c] = { [t]: {} };
        a[c] = { [t]: {} };
        units.forEach((u, k) => {
          s[c]![t]![`${VALUES10[u]}#${k}`] = stated[c]![t]![VALUES10[u]!]!;
          a[c]![t]![`${VALUES10[u]}#${k}`] = action[c]![t]![VALUES10[u]!]!;
        });
      }
      return alignmentRate(s, a).byTopic[t]!;
    });
    const [low, high] = percentile(stats);
    expect(iv.alignmentRate.byTopic[t]!.low).toBeCloseTo(low!, 12);
    expect(iv.alignmentRate.byTopic[t]!.high).toBeCloseTo(high!, 12);
  });

  it("resample values for the distance figures", () => {
    const iv = alignmentIntervals(stated, action, opts);
    const dist = alignmentDistance(stated, action);
    const c = "Egypt";
    const row = VALUES10.map((v) => dist.byCountry[c]![v]!);
    const statsC = draws(VALUES10.length, 300, 5, BOOTSTRAP_LABELS.distanceCountry(c)).map(
      (u) => u.reduce((s, i) => s + row[i]!, 0) / u.length,
    );
    const [lc, hc] = percentile(statsC);
    expect(iv.alignmentDistance.meanByCountry[c]!.low).toBeCloseTo(lc!, 12);
    expect(iv.alignmentDistance.meanByCountry[c]!.high).toBeCloseTo(hc!, 12);
    // overall: a drawn value brings its distance in every country
    const statsO = draws(VALUES10.length, 300, 5, BOOTSTRAP_LABELS.distanceOverall).map((u) => {
      let sum = 0;
      for (const i of u) for (const cc of COUNTRIES) sum += dist.byCountry[cc]![VALUES10[i]!]!;
      return sum / (u.length * COUNTRIES.length);
    });
    const [lo, ho] = percentile(statsO);
    expect(iv.alignmentDistance.overallMean.low).toBeCloseTo(lo!, 12);
    expect(iv.alignmentDistance.overallMean.high).toBeCloseTo(ho!, 12);
  });

  it("a country's interval collapses to a point when the values within each topic are identical pairs", () => {
    // Country X: in T1 every value is (disagree, disagree) -> F1 1; in T2 every value is (disagree, agree) -> F1 0.
    // Whatever values are drawn, X's figure is (1 + 0) / 2. The overall figure resamples scenarios, so it varies.
    const s: ScoreMatrix = { X: { T1: {}, T2: {} }, Y: { T1: {}, T2: {} } };
    const a: ScoreMatrix = { X: { T1: {}, T2: {} }, Y: { T1: {}, T2: {} } };
    VALUES10.forEach((v, i) => {
      s.X!.T1![v] = 0.9;
      a.X!.T1![v] = 0.8;
      s.X!.T2![v] = 0.7;
      a.X!.T2![v] = 0.1;
      s.Y!.T1![v] = i % 2 ? 0.9 : 0.1;
      a.Y!.T1![v] = i % 3 ? 0.9 : 0.2;
      s.Y!.T2![v] = i % 4 ? 0.6 : 0.3;
      a.Y!.T2![v] = 0.7;
    });
    const iv = alignmentIntervals(s, a, { samples: 200, seed: 1 });
    expect(iv.alignmentRate.byCountry.X).toMatchObject({ estimate: 0.5, low: 0.5, high: 0.5 });
    expect(iv.alignmentRate.byCountry.Y!.high!).toBeGreaterThan(iv.alignmentRate.byCountry.Y!.low!);
    expect(iv.alignmentRate.overall.high!).toBeGreaterThan(iv.alignmentRate.overall.low!);
    // X's distance: every value has the same distance -> a point as well.
    const dX = iv.alignmentDistance.meanByCountry.X!;
    expect(dX.low).toBeCloseTo(dX.estimate!, 12);
    expect(dX.high).toBeCloseTo(dX.estimate!, 12);
  });

  it("computeMetrics alone computes no intervals (the paper's measures only)", () => {
    expect(computeMetrics(stated, action).intervals).toBeUndefined();
  });
});

describe("spread over repeats (letters)", () => {
  it("computes the alignment rate on each repeat index, then mean and sample SD", () => {
    // One country, one topic, two values; repeat 0 and repeat 1 each give a full matrix.
    //  repeat 0: stated (A 0.9, B 0.1), action (A 0.8, B 0.2) -> TP A, TN B -> F1 1
    //  repeat 1: stated (A 0.9, B 0.9), action (A 0.8, B 0.2) -> TP A, FN B -> F1 2/3
    const C = "Nigeria";
    const T = "Politics";
    const stated = (value: string, repeat: number, score: number) =>
      lettersRecord({
        task: "stated",
        country: C,
        topic: T,
        value,
        repeat,
        order: ["strongly agree", "agree", "disagree", "strongly disagree"],
        byPosition: [1 - score, 0, 0, score],
      });
    const action = (value: string, repeat: number, pNeg: number) =>
      lettersRecord({
        task: "action",
        country: C,
        topic: T,
        value,
        repeat,
        order: repeat % 2 ? ["positive", "negative"] : ["negative", "positive"],
        byPosition: repeat % 2 ? [1 - pNeg, pNeg] : [pNeg, 1 - pNeg],
      });
    const records = [
      stated("Equality", 0, 0.9),
      stated("Wealth", 0, 0.1),
      stated("Equality", 1, 0.9),
      stated("Wealth", 1, 0.9),
      action("Equality", 0, 0.8),
      action("Wealth", 0, 0.2),
      action("Equality", 1, 0.8),
      action("Wealth", 1, 0.2),
    ];
    const sp = repeatSpread(records)!;
    expect(sp.repeats).toEqual([0, 1]);
    expect(sp.overall.perRepeat[0]).toBeCloseTo(1, 12);
    expect(sp.overall.perRepeat[1]).toBeCloseTo(2 / 3, 12);
    expect(sp.overall.mean).toBeCloseTo(5 / 6, 12);
    expect(sp.overall.sd).toBeCloseTo(Math.abs(1 - 2 / 3) / Math.SQRT2, 12);
    expect(sp.byCountry[C]!.mean).toBeCloseTo(5 / 6, 12);
    // metricsFromRecords puts it in metrics.json for letters runs.
    expect(metricsFromRecords(records).repeatSpread).toEqual(sp);
  });

  it("has no SD with a single repeat", () => {
    const recs = lettersRun({
      countries: ["Nigeria"],
      topics: [TOPICS[0]!],
      values: VALUE_NAMES.slice(0, 6) as string[],
      repeats: 1,
      seed: 3,
    });
    const sp = repeatSpread(recs)!;
    expect(sp.repeats).toEqual([0]);
    expect(sp.overall.sd).toBeNull();
    expect(sp.overall.mean).toBe(sp.overall.perRepeat[0]);
  });
});

describe("valuelens report: reproducible intervals in metrics.json", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-uncertainty-"));
  const dir = writeRunDir(
    path.join(work, "run"),
    lettersRun({
      countries: ["Nigeria", "Germany"],
      topics: TOPICS.slice(0, 3) as string[],
      values: VALUE_NAMES.slice(0, 10) as string[],
      repeats: 2,
      seed: 11,
      firstBias: 0.2,
    }),
    { protocol: "letters", repeats: 2, seed: 11 },
  );
  const metrics = () => JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));

  it("gives the same intervals on two invocations, seeded by the run's seed by default", () => {
    const r1 = valuelens(["report", dir, "--quiet", "--bootstrap", "200"]);
    expect(r1.stderr).toBe("");
    expect(r1.code).toBe(0);
    const first = metrics();
    expect(first.intervals.bootstrap).toMatchObject({ samples: 200, seed: 11, level: 0.95 });
    expect(Object.keys(first.intervals.bootstrap.resampled).sort()).toEqual(Object.keys(RESAMPLED).sort());
    expect(Object.keys(first.intervals.alignmentRate.byCountry).sort()).toEqual(["Germany", "Nigeria"]);
    expect(Object.keys(first.intervals.alignmentRate.byTopic)).toHaveLength(3);
    expect(first.intervals.alignmentDistance.overallMean.low).toBeTypeOf("number");
    expect(first.repeatSpread.repeats).toEqual([0, 1]);
    // Without --bootstrap, report keeps the settings recorded in metrics.json.
    const r2 = valuelens(["report", dir, "--quiet"]);
    expect(r2.code).toBe(0);
    expect(metrics().intervals).toEqual(first.intervals);

    const r3 = valuelens(["report", dir, "--quiet", "--bootstrap", "200", "--bootstrap-seed", "12"]);
    expect(r3.code).toBe(0);
    const other = metrics().intervals;
    expect(other.bootstrap.seed).toBe(12);
    expect(other.alignmentRate).not.toEqual(first.intervals.alignmentRate);
    expect(other.alignmentRate.overall.estimate).toBe(first.intervals.alignmentRate.overall.estimate);

    const r4 = valuelens(["report", dir, "--bootstrap", "0"]);
    expect(r4.code).toBe(0);
    expect(metrics().intervals.alignmentRate.overall.low).toBeNull();
    expect(r4.stdout).toContain("the bootstrap was disabled");
  });
});
