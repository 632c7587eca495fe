/**
 * Uncertainty of VIA's headline figures: seeded percentile-bootstrap intervals
 * (src/metrics/bootstrap.ts)
 * for the alignment rate (overall, per country, per topic) and the mean alignment distance
 * (overall, per country), and, for the letters protocol, the spread of the alignment rate
 * over repeats (each repeat shows the options in another order).
 *
 * Resampling units (one per figure, each with its own random stream = its own label):
 * - alignment rate, overall: the scenarios (country x topic); the figure is the mean F1 over
 *   the resampled scenarios.
 * - alignment rate, per country: the values of that country. A resample draws the value set
 *   with replacement; each of the country's topics gets its F1 recomputed over the drawn values
 *   (a value drawn twice counts twice), and the figure is the mean over the topics.
 * - alignment rate, per topic: the values of that topic, the same way, averaged over countries.
 * - mean alignment distance, per country: the values of that country; the figure is the mean of
 *   the per-value distances over the drawn values.
 * - mean alignment distance, overall: the values; a drawn value brings its distance in every
 *   country, and the figure is the mean over the drawn (country, value) entries.
 *
 * A resample in which a scenario received no value at all (possible only when values are
 * missing from some scenarios) leaves that scenario out of that resample's mean, rather than
 * scoring it 0.
 */
import { isScoredValueRecord, type ViaRecord } from "../record.js";
import {
  alignmentRateFromShared,
  binarize,
  f1FromCounts,
  sharedCells,
  type Orderings,
  type SharedView,
} from "./alignment.js";
import { bootstrap, type Interval } from "../../../metrics/bootstrap.js";
import { DEFAULT_LEVEL, spread, type SpreadFigure, type UncertaintyOptions } from "../../../metrics/uncertainty.js";
import { actionMatrixFromExpected, statedMatrixFromExpected, type ExpectedCell, type ScoreMatrix } from "./matrices.js";

export type { Interval } from "../../../metrics/bootstrap.js";

/** What was resampled, in words, per figure (metrics.json and the report). */
export const RESAMPLED = {
  "alignmentRate.overall":
    "scenarios (country x topic), drawn with replacement; the figure is the mean F1 over the drawn scenarios",
  "alignmentRate.byCountry":
    "the country's values, drawn with replacement; the F1 of each of the country's topics is recomputed over the drawn values (a value drawn twice counts twice), then averaged over the topics",
  "alignmentRate.byTopic":
    "the topic's values, drawn with replacement; the F1 of each of the topic's countries is recomputed over the drawn values, then averaged over the countries",
  "alignmentDistance.meanByCountry":
    "the country's values, drawn with replacement; the figure is the mean per-value distance over the drawn values",
  "alignmentDistance.overallMean":
    "values, drawn with replacement; a drawn value brings its distance in every country, and the figure is the mean over the drawn (country, value) entries",
} as const;

export interface BootstrapSettings {
  samples: number;
  seed: number;
  level: number;
  method: "percentile";
  resampled: typeof RESAMPLED;
}

export interface Intervals {
  bootstrap: BootstrapSettings;
  alignmentRate: { overall: Interval; byCountry: Record<string, Interval>; byTopic: Record<string, Interval> };
  alignmentDistance: { overallMean: Interval; meanByCountry: Record<string, Interval> };
}

/** Bootstrap labels: one random stream per figure. */
export const BOOTSTRAP_LABELS = {
  rateOverall: "alignment-rate/overall",
  rateCountry: (c: string) => `alignment-rate/country/${c}`,
  rateTopic: (t: string) => `alignment-rate/topic/${t}`,
  distanceOverall: "alignment-distance/overall",
  distanceCountry: (c: string) => `alignment-distance/country/${c}`,
};

const CLASS = { tp: 0, fp: 1, fn: 2, tn: 3 } as const;
type ClassIndex = 0 | 1 | 2 | 3;

function classOf(stated: number, action: number): ClassIndex {
  const t = binarize(stated);
  const y = binarize(action);
  if (t === 1) return y === 1 ? CLASS.tp : CLASS.fn;
  return y === 1 ? CLASS.fp : CLASS.tn;
}

/**
 * Mean over groups (topics of a country, or countries of a topic) of the F1 over a resampled
 * value set. `cls[g][vi]` is the confusion class of value vi in group g, or -1 when absent.
 */
function meanF1OverValues(cls: readonly Int8Array[], nValues: number): (units: readonly number[]) => number | null {
  const mult = new Float64Array(nValues);
  return (units) => {
    mult.fill(0);
    for (const u of units) mult[u]! += 1;
    let sum = 0;
    let groups = 0;
    for (const row of cls) {
      const k = [0, 0, 0, 0];
      let any = 0;
      for (let vi = 0; vi < nValues; vi++) {
        const c = row[vi]!;
        const m = mult[vi]!;
        if (c < 0 || m === 0) continue;
        k[c]! += m;
        any += m;
      }
      if (any === 0) continue;
      sum += f1FromCounts({ tp: k[0]!, fp: k[1]!, fn: k[2]!, tn: k[3]! });
      groups++;
    }
    return groups === 0 ? null : sum / groups;
  };
}

/** Values of a group in view order, and the class matrix of its scenarios. */
function groupClasses(
  view: SharedView,
  key: "country" | "topic",
  group: string,
): { values: string[]; cls: Int8Array[] } {
  const scenarios = view.scenarios.filter((s) => s[key] === group);
  const present = new Set<string>();
  for (const s of scenarios) for (const c of s.cells) present.add(c.value);
  const values = view.values.filter((v) => present.has(v));
  const index = new Map(values.map((v, i) => [v, i] as const));
  const cls = scenarios.map((s) => {
    const row = new Int8Array(values.length).fill(-1);
    for (const c of s.cells) row[index.get(c.value)!] = classOf(c.stated, c.action);
    return row;
  });
  return { values, cls };
}

/** Per value: summed distance and count of (country) entries, for the distance figures. */
function distanceEntries(view: SharedView) {
  // country -> value -> |mean stated - mean action| over the country's topics (as alignmentDistance)
  const acc = new Map<string, Map<string, { n: number; s: number; a: number }>>();
  for (const sc of view.scenarios) {
    let byValue = acc.get(sc.country);
    if (byValue === undefined) acc.set(sc.country, (byValue = new Map()));
    for (const cell of sc.cells) {
      let x = byValue.get(cell.value);
      if (x === undefined) byValue.set(cell.value, (x = { n: 0, s: 0, a: 0 }));
      x.n++;
      x.s += cell.stated;
      x.a += cell.action;
    }
  }
  const byCountry = new Map<string, Map<string, number>>();
  for (const c of view.countries) {
    const byValue = acc.get(c);
    if (byValue === undefined) continue;
    const row = new Map<string, number>();
    for (const v of view.values) {
      const x = byValue.get(v);
      if (x !== undefined) row.set(v, Math.abs(x.s / x.n - x.a / x.n));
    }
    byCountry.set(c, row);
  }
  return byCountry;
}

/** The bootstrap intervals of every headline figure, from the shared view of two matrices. */
export function intervalsFromShared(view: SharedView, opts: UncertaintyOptions): Intervals {
  const level = opts.level ?? DEFAULT_LEVEL;
  const b = { samples: Math.max(0, Math.floor(opts.samples)), seed: opts.seed, level };

  // Alignment rate, overall: scenarios.
  const scenarioF1 = alignmentRateFromShared(view).byScenario.map((s) => s.f1);
  const overall = bootstrap(
    scenarioF1.length,
    (units) => {
      let s = 0;
      for (const u of units) s += scenarioF1[u]!;
      return s / units.length;
    },
    { ...b, label: BOOTSTRAP_LABELS.rateOverall },
  );

  // Alignment rate per country / per topic: values within the group.
  const byCountry: Record<string, Interval> = {};
  for (const c of view.countries) {
    const g = groupClasses(view, "country", c);
    if (g.cls.length === 0) continue;
    byCountry[c] = bootstrap(g.values.length, meanF1OverValues(g.cls, g.values.length), {
      ...b,
      label: BOOTSTRAP_LABELS.rateCountry(c),
    });
  }
  const byTopic: Record<string, Interval> = {};
  for (const t of view.topics) {
    const g = groupClasses(view, "topic", t);
    if (g.cls.length === 0) continue;
    byTopic[t] = bootstrap(g.values.length, meanF1OverValues(g.cls, g.values.length), {
      ...b,
      label: BOOTSTRAP_LABELS.rateTopic(t),
    });
  }

  // Distance: values.
  const dist = distanceEntries(view);
  const meanByCountry: Record<string, Interval> = {};
  for (const [c, row] of dist) {
    const ds = [...row.values()];
    meanByCountry[c] = bootstrap(
      ds.length,
      (units) => {
        let s = 0;
        for (const u of units) s += ds[u]!;
        return s / units.length;
      },
      { ...b, label: BOOTSTRAP_LABELS.distanceCountry(c) },
    );
  }
  const perValue = view.values.map((v) => {
    let sum = 0;
    let n = 0;
    for (const row of dist.values()) {
      const d = row.get(v);
      if (d === undefined) continue;
      sum += d;
      n++;
    }
    return { sum, n };
  });
  const overallMean = bootstrap(
    perValue.length,
    (units) => {
      let sum = 0;
      let n = 0;
      for (const u of units) {
        const x = perValue[u]!;
        sum += x.sum;
        n += x.n;
      }
      return n === 0 ? null : sum / n;
    },
    { ...b, label: BOOTSTRAP_LABELS.distanceOverall },
  );

  return {
    bootstrap: { samples: b.samples, seed: b.seed, level, method: "percentile", resampled: RESAMPLED },
    alignmentRate: { overall, byCountry, byTopic },
    alignmentDistance: { overallMean, meanByCountry },
  };
}

export function alignmentIntervals(
  stated: ScoreMatrix,
  action: ScoreMatrix,
  opts: UncertaintyOptions & Orderings,
): Intervals {
  return intervalsFromShared(sharedCells(stated, action, opts), opts);
}

// ---------------------------------------------------------------------------------------------
// Spread over repeats (letters protocol)

export interface RepeatSpread {
  definition: string;
  repeats: number[];
  overall: SpreadFigure;
  byCountry: Record<string, SpreadFigure>;
}

/**
 * Letters protocol: the alignment rate (overall and per country) computed separately on each
 * repeat index, i.e. from one answer per question (its raw score on that repeat, in that
 * repeat's option order), then its mean and sample standard deviation across repeats.
 * Returns undefined when no letters record carries a score.
 */
export function repeatSpread(records: readonly ViaRecord[], order: Orderings = {}): RepeatSpread | undefined {
  const letters = records.filter((r) => r.protocol === "letters").filter(isScoredValueRecord);
  if (letters.length === 0) return undefined;
  const repeats = [...new Set(letters.map((r) => r.repeat))].sort((a, b) => a - b);
  const perRepeat = repeats.map((rep) => {
    const cells = (task: "stated" | "action"): ExpectedCell[] =>
      letters
        .filter((r) => r.repeat === rep && r.task === task)
        .map((r) => ({ country: r.country, topic: r.topic, value: r.value, score01: r.score }));
    return alignmentRateFromShared(
      sharedCells(statedMatrixFromExpected(cells("stated")), actionMatrixFromExpected(cells("action")), order),
    );
  });
  const countries: string[] = [];
  for (const r of perRepeat) for (const c of Object.keys(r.byCountry)) if (!countries.includes(c)) countries.push(c);
  const byCountry: Record<string, SpreadFigure> = {};
  for (const c of countries) byCountry[c] = spread(perRepeat.map((r) => r.byCountry[c] ?? null));
  return {
    definition:
      "alignment rate computed separately for each repeat index (one answer per question, scored in that repeat's option order); mean and sample standard deviation (n - 1) across repeats",
    repeats,
    overall: spread(perRepeat.map((r) => r.overall)),
    byCountry,
  };
}
