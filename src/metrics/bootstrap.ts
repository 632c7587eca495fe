/**
 * Seeded percentile bootstrap. One resampling engine for every interval valuelens prints:
 * the same seed and label give the same intervals, bit for bit, in any process.
 */
import { seededRandom } from "../util/random.js";

export interface Interval {
  /** The statistic on the original sample. */
  estimate: number | null;
  /** 2.5th and 97.5th percentiles of the bootstrap distribution (for level 0.95). */
  low: number | null;
  high: number | null;
  /** Bootstrap samples whose statistic was defined (not null/NaN). */
  samples: number;
  level: number;
}

export interface BootstrapOptions {
  /** Number of resamples (--bootstrap N). */
  samples: number;
  seed: number;
  /** Names this resampling (e.g. "country:Nigeria"), so intervals do not share random streams. */
  label: string;
  level?: number;
}

/**
 * Resample the units 0..n-1 with replacement `samples` times and compute `statistic` on each
 * resample (given as a list of unit indices, repeats allowed). Returns the percentile interval.
 */
export function bootstrap(
  n: number,
  statistic: (units: readonly number[]) => number | null,
  opts: BootstrapOptions,
): Interval {
  const level = opts.level ?? 0.95;
  const all = Array.from({ length: n }, (_, i) => i);
  const estimate = n > 0 ? clean(statistic(all)) : null;
  if (n === 0 || opts.samples <= 0) return { estimate, low: null, high: null, samples: 0, level };
  const random = seededRandom("bootstrap", opts.seed, opts.label);
  const values: number[] = [];
  const units = new Array<number>(n);
  for (let b = 0; b < opts.samples; b++) {
    for (let i = 0; i < n; i++) units[i] = Math.floor(random() * n);
    const v = clean(statistic(units));
    if (v !== null) values.push(v);
  }
  values.sort((a, b) => a - b);
  return {
    estimate,
    low: quantile(values, (1 - level) / 2),
    high: quantile(values, 1 - (1 - level) / 2),
    samples: values.length,
    level,
  };
}

function clean(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v;
}

/** Linear-interpolation quantile of sorted values (type 7, as numpy and R's default). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
