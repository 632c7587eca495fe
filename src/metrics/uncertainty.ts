/**
 * What every suite's intervals share: the default number of bootstrap resamples and interval
 * level, the options of a suite's uncertainty figures, and the spread of a figure over repeats.
 * The resampling itself is ./bootstrap.ts; each suite says what it resamples
 * (src/suites/via/metrics/uncertainty.ts, src/suites/dilemmas/metrics.ts).
 */
import { sampleStandardDeviation } from "simple-statistics";

export const DEFAULT_BOOTSTRAP_SAMPLES = 1000;
export const DEFAULT_LEVEL = 0.95;

export interface UncertaintyOptions {
  /** resamples per figure (--bootstrap N); 0 disables (intervals then carry the estimate only) */
  samples: number;
  seed: number;
  /** default 0.95 */
  level?: number;
}

/** A figure computed on each repeat index, and its mean and spread across repeats. */
export interface SpreadFigure {
  /** the figure on each repeat index; null where undefined */
  perRepeat: (number | null)[];
  /** mean over the repeats where the figure is defined */
  mean: number | null;
  /** sample standard deviation (n - 1) over those repeats; null with fewer than 2 */
  sd: number | null;
}

/** The spread of per-repeat figures (undefined or non-finite ones are left out of mean and sd). */
export function spread(xs: readonly (number | null)[]): SpreadFigure {
  const defined = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  const mean = defined.length === 0 ? null : defined.reduce((a, b) => a + b, 0) / defined.length;
  const sd = defined.length < 2 ? null : sampleStandardDeviation(defined);
  return { perRepeat: [...xs], mean, sd };
}
