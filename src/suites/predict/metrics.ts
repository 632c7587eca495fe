/**
 * The prediction experiment's metrics per mode, with bootstrap intervals over test rows, and
 * the paired differences of each mode against `default` over the same test rows.
 *
 * Classification metrics take `True` as the positive class and follow the released analysis
 * (scikit-learn's `f1_score`, `precision_score`, `recall_score`, `accuracy_score` with the
 * default `zero_division="warn"`): a precision, recall or F1 whose denominator is zero is 0,
 * not undefined. Only accuracy of an empty set is null. Answers that could not be parsed
 * (`predicted: null`) are left out of the classification metrics and counted (`unparsed`).
 *
 * For probability answers (the letters elicitation's P(True)), the Brier score (mean squared
 * difference from the label, lower is better) and the area under the ROC curve (the
 * Mann-Whitney statistic: average ranks for ties, so a tie between a `True` and a `False` row
 * counts one half) over the rows that have a probability; null without both labels.
 *
 * Intervals: the seeded percentile bootstrap of src/metrics/bootstrap.ts, resampling test rows.
 * All metrics of one mode share one resampling (label `predict:<mode>`), and all metrics of one
 * paired difference another (`predict:<mode>-<baseline>`): the same seed gives the same
 * intervals in any process. A paired difference is mode minus baseline over the test rows both
 * answered (for Brier, lower is better: an improvement is negative); it is absent when the
 * baseline mode is.
 */
import { z } from "zod";
import { bootstrap, type Interval } from "../../metrics/bootstrap.js";
import { UserError } from "../../util/errors.js";

/** One test row's answer in one mode. */
export interface ScoredRow {
  /** The test row's key: its VIA row, or the released file's index. Pairs rows across modes. */
  key: number;
  /** The predicted model's choice. */
  label: boolean;
  /** The predictor's answer; null when it could not be parsed. */
  predicted: boolean | null;
  /** P(True) against False (letters elicitation); absent or null for generated answers. */
  pTrue?: number | null;
}

export const CLASSIFICATION_METRICS = ["f1", "accuracy", "precision", "recall"] as const;
export const PROBABILITY_METRICS = ["brier", "auc"] as const;
export const PREDICT_METRICS = [...CLASSIFICATION_METRICS, ...PROBABILITY_METRICS] as const;
export type PredictMetricName = (typeof PREDICT_METRICS)[number];

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

// ---------------------------------------------------------------------------
// Point statistics

/** Confusion counts with `True` positive. */
export function confusion(rows: Iterable<{ label: boolean; predicted: boolean }>): Confusion {
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const r of rows) {
    if (r.predicted) r.label ? c.tp++ : c.fp++;
    else r.label ? c.fn++ : c.tn++;
  }
  return c;
}

const ratio = (num: number, den: number): number => (den === 0 ? 0 : num / den);

/** tp / (tp + fp); 0 when nothing is predicted True (scikit-learn's zero_division default). */
export function precision(c: Confusion): number {
  return ratio(c.tp, c.tp + c.fp);
}

/** tp / (tp + fn); 0 when no label is True. */
export function recall(c: Confusion): number {
  return ratio(c.tp, c.tp + c.fn);
}

/** 2tp / (2tp + fp + fn), the harmonic mean of precision and recall; 0 when tp = fp = fn = 0. */
export function f1(c: Confusion): number {
  return ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
}

/** (tp + tn) / n; null for no rows. */
export function accuracy(c: Confusion): number | null {
  const n = c.tp + c.fp + c.tn + c.fn;
  return n === 0 ? null : (c.tp + c.tn) / n;
}

/** Mean of (p - label)^2; null for no rows. */
export function brierScore(rows: readonly { label: boolean; p: number }[]): number | null {
  if (rows.length === 0) return null;
  let sum = 0;
  for (const r of rows) sum += (r.p - (r.label ? 1 : 0)) ** 2;
  return sum / rows.length;
}

/**
 * Area under the ROC curve by the Mann-Whitney rank formula: (R - nT(nT+1)/2) / (nT nF), R the
 * sum of the `True` rows' ranks of p, tied values sharing their average rank. Null unless both
 * labels occur.
 */
export function rocAuc(rows: readonly { label: boolean; p: number }[]): number | null {
  const nTrue = rows.filter((r) => r.label).length;
  const nFalse = rows.length - nTrue;
  if (nTrue === 0 || nFalse === 0) return null;
  const sorted = rows.slice().sort((a, b) => a.p - b.p);
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.p === sorted[i]!.p) j++;
    const rank = (i + j + 2) / 2; // ranks are 1-based: the tie group i..j shares the mean of i+1..j+1
    for (let k = i; k <= j; k++) if (sorted[k]!.label) rankSum += rank;
    i = j + 1;
  }
  return (rankSum - (nTrue * (nTrue + 1)) / 2) / (nTrue * nFalse);
}

/** One metric of a set of rows (repeats allowed, as a bootstrap resample has them). */
export function metricOf(name: PredictMetricName, rows: readonly ScoredRow[]): number | null {
  if (name === "brier" || name === "auc") {
    const withP: { label: boolean; p: number }[] = [];
    for (const r of rows) if (hasP(r)) withP.push({ label: r.label, p: r.pTrue as number });
    return name === "brier" ? brierScore(withP) : rocAuc(withP);
  }
  const c: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (const r of rows) {
    if (r.predicted === null) continue;
    if (r.predicted) r.label ? c.tp++ : c.fp++;
    else r.label ? c.fn++ : c.tn++;
  }
  if (name === "accuracy") return accuracy(c);
  if (c.tp + c.fp + c.tn + c.fn === 0) return null;
  return name === "f1" ? f1(c) : name === "precision" ? precision(c) : recall(c);
}

/** Every metric of a set of rows. */
export function metricsOf(rows: readonly ScoredRow[]): Record<PredictMetricName, number | null> {
  return Object.fromEntries(PREDICT_METRICS.map((name) => [name, metricOf(name, rows)])) as Record<
    PredictMetricName,
    number | null
  >;
}

const hasP = (r: ScoredRow): boolean => typeof r.pTrue === "number" && Number.isFinite(r.pTrue);

// ---------------------------------------------------------------------------
// Per mode and paired, with intervals

export interface ModeMetrics extends Confusion {
  /** Test rows with a parsed answer (the classification metrics' denominator). */
  n: number;
  /** Test rows whose answer could not be parsed (left out). */
  unparsed: number;
  /** Test rows with a probability (the Brier score's and AUC's denominator). */
  nProbability: number;
  f1: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  brier: number | null;
  auc: number | null;
  /** Percentile bootstrap intervals; brier and auc only when there are probabilities. */
  intervals: Partial<Record<PredictMetricName, Interval>>;
}

export interface DifferenceInterval extends Interval {
  /** Whether the interval lies wholly above or below zero; null without an interval. */
  excludesZero: boolean | null;
}

export interface PairedDifference {
  mode: string;
  baseline: string;
  /** Test rows answered (parsed) in both modes. */
  n: number;
  /** Test rows of this mode without a counterpart in the baseline, or the other way round. */
  unpaired: number;
  /** mode minus baseline, per metric (brier and auc only when both have probabilities). */
  metrics: Partial<Record<PredictMetricName, DifferenceInterval>>;
}

export interface PredictMetricsOptions {
  /** Bootstrap resamples (0: no intervals). */
  samples: number;
  seed: number;
  level?: number;
  /** The mode the others are compared with (`default`). */
  baseline?: string;
}

export interface PredictMetrics {
  positive: "True";
  /** Value of a metric whose denominator is zero (scikit-learn's default). */
  zeroDivision: 0;
  bootstrap: { samples: number; seed: number; level: number };
  byMode: Record<string, ModeMetrics>;
  /** Each mode but the baseline, against the baseline. */
  differences: Record<string, PairedDifference>;
}

function checkKeys(mode: string, rows: readonly ScoredRow[]): void {
  const seen = new Set<number>();
  for (const r of rows) {
    if (seen.has(r.key)) throw new UserError(`mode ${mode}: test row ${r.key} is answered twice; keep one answer`);
    seen.add(r.key);
  }
}

function modeMetrics(mode: string, rows: readonly ScoredRow[], opts: PredictMetricsOptions): ModeMetrics {
  const point = metricsOf(rows);
  const parsed = rows.filter((r) => r.predicted !== null);
  const c = confusion(parsed as (ScoredRow & { predicted: boolean })[]);
  const nProbability = rows.filter(hasP).length;
  const names = nProbability > 0 ? PREDICT_METRICS : CLASSIFICATION_METRICS;
  const intervals: Partial<Record<PredictMetricName, Interval>> = {};
  for (const name of names) {
    intervals[name] = bootstrap(
      rows.length,
      (units) =>
        metricOf(
          name,
          units.map((i) => rows[i]!),
        ),
      {
        samples: opts.samples,
        seed: opts.seed,
        label: `predict:${mode}`,
        level: opts.level,
      },
    );
  }
  return { n: parsed.length, unparsed: rows.length - parsed.length, nProbability, ...c, ...point, intervals };
}

export function pairedDifference(
  mode: string,
  rows: readonly ScoredRow[],
  baseline: string,
  base: readonly ScoredRow[],
  opts: PredictMetricsOptions,
): PairedDifference {
  const baseByKey = new Map(base.map((r) => [r.key, r]));
  // A pair is the same test row in both modes: the same key and the same label (a key whose
  // label differs names another row, e.g. in files that were not drawn together; left unpaired).
  const pairs = rows.flatMap((r) => {
    const b = baseByKey.get(r.key);
    return b && b.label === r.label ? [{ m: r, b }] : [];
  });
  const unpaired = rows.length - pairs.length + (base.length - pairs.length);
  // A pair counts for a metric only where both sides have what it needs.
  const both = (units: readonly number[], need: (r: ScoredRow) => boolean) =>
    units.map((i) => pairs[i]!).filter((p) => need(p.m) && need(p.b));
  const withProbabilities = pairs.some((p) => hasP(p.m) && hasP(p.b));
  const names = withProbabilities ? PREDICT_METRICS : CLASSIFICATION_METRICS;
  const metrics: Partial<Record<PredictMetricName, DifferenceInterval>> = {};
  for (const name of names) {
    const need = (PROBABILITY_METRICS as readonly string[]).includes(name)
      ? hasP
      : (r: ScoredRow) => r.predicted !== null;
    const interval = bootstrap(
      pairs.length,
      (units) => {
        const kept = both(units, need);
        const a = metricOf(
          name,
          kept.map((p) => p.m),
        );
        const z0 = metricOf(
          name,
          kept.map((p) => p.b),
        );
        return a === null || z0 === null ? null : a - z0;
      },
      { samples: opts.samples, seed: opts.seed, label: `predict:${mode}-${baseline}`, level: opts.level },
    );
    const excludesZero = interval.low === null || interval.high === null ? null : interval.low > 0 || interval.high < 0;
    metrics[name] = { ...interval, excludesZero };
  }
  const n = pairs.filter((p) => p.m.predicted !== null && p.b.predicted !== null).length;
  return { mode, baseline, n, unpaired, metrics };
}

/** Metrics of every mode and each mode's paired difference against the baseline (`default`). */
export function predictMetrics(
  byMode: Readonly<Record<string, readonly ScoredRow[]>>,
  opts: PredictMetricsOptions,
): PredictMetrics {
  const baseline = opts.baseline ?? "default";
  const level = opts.level ?? 0.95;
  const out: PredictMetrics = {
    positive: "True",
    zeroDivision: 0,
    bootstrap: { samples: opts.samples, seed: opts.seed, level },
    byMode: {},
    differences: {},
  };
  for (const [mode, rows] of Object.entries(byMode)) {
    checkKeys(mode, rows);
    out.byMode[mode] = modeMetrics(mode, rows, opts);
  }
  const base = byMode[baseline];
  if (base) {
    for (const [mode, rows] of Object.entries(byMode)) {
      if (mode !== baseline) out.differences[mode] = pairedDifference(mode, rows, baseline, base, opts);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// metrics.json, read back

const num = z.number().nullable();
const IntervalSchema = z.object({ estimate: num, low: num, high: num, samples: z.number(), level: z.number() });
const metricRecord = <T extends z.ZodType>(v: T) => z.partialRecord(z.enum(PREDICT_METRICS), v);

export const ModeMetricsSchema = z.looseObject({
  n: z.number().int(),
  unparsed: z.number().int(),
  nProbability: z.number().int(),
  tp: z.number().int(),
  fp: z.number().int(),
  tn: z.number().int(),
  fn: z.number().int(),
  f1: num,
  accuracy: num,
  precision: num,
  recall: num,
  brier: num,
  auc: num,
  intervals: metricRecord(IntervalSchema),
});

/** The prediction suite's metrics.json, as `predictMetrics` writes it (unknown fields kept). */
export const PredictMetricsSchema = z.looseObject({
  positive: z.literal("True"),
  zeroDivision: z.literal(0),
  bootstrap: z.object({ samples: z.number(), seed: z.number(), level: z.number() }),
  byMode: z.record(z.string(), ModeMetricsSchema),
  differences: z.record(
    z.string(),
    z.looseObject({
      mode: z.string(),
      baseline: z.string(),
      n: z.number().int(),
      unpaired: z.number().int(),
      metrics: metricRecord(IntervalSchema.extend({ excludesZero: z.boolean().nullable() })),
    }),
  ),
});
