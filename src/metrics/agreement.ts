/**
 * How closely two runs answer the same questions: Cohen's kappa of binarized decisions, the
 * share of questions whose top answer flips, and the distance between answer probabilities
 * (mean absolute difference, Jensen-Shannon divergence). Pure functions on aligned arrays:
 * position i of one array and position i of the other belong to the same question or cell.
 */

export type Label = string | number;

export interface KappaResult {
  /** Cohen's kappa; null when undefined (no pairs, or expected agreement 1 without a convention). */
  kappa: number | null;
  /** observed agreement p_o (share of pairs with equal labels); null when there are no pairs */
  observed: number | null;
  /** agreement expected by chance from the two raters' marginals, p_e */
  expected: number | null;
  /** pairs compared */
  n: number;
  /** set when a convention, not the formula, decided the value */
  convention?: "both-constant-equal";
}

/** The convention used when both raters give one and the same label to every item. */
export const KAPPA_CONSTANT_CONVENTION =
  "when both runs give one and the same label to every cell, kappa is 1 by convention (the formula is 0/0); when there are no cells it is undefined";

/**
 * Cohen's kappa between two raters: (p_o - p_e) / (1 - p_e), with p_e = sum over labels of
 * (share of label in a) * (share of label in b). Computed on integer counts,
 * kappa = (n * agree - S) / (n^2 - S) with S = sum over labels of count_a * count_b, so that two
 * identical non-constant raters give exactly 1.
 *
 * Edge cases: no pairs -> null. Both raters constant and equal (p_e = 1, p_o = 1) -> 1 by
 * convention. Expected agreement 1 in any other way -> null (with finite label sets p_e = 1
 * only happens when both are constant and equal, so this is a guard).
 */
export function cohenKappa(a: readonly Label[], b: readonly Label[]): KappaResult {
  if (a.length !== b.length) throw new RangeError(`cohenKappa: arrays differ in length (${a.length} vs ${b.length})`);
  const n = a.length;
  if (n === 0) return { kappa: null, observed: null, expected: null, n: 0 };
  const countA = new Map<Label, number>();
  const countB = new Map<Label, number>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    countA.set(x, (countA.get(x) ?? 0) + 1);
    countB.set(y, (countB.get(y) ?? 0) + 1);
    if (x === y) agree++;
  }
  let s = 0;
  for (const [label, ca] of countA) s += ca * (countB.get(label) ?? 0);
  const observed = agree / n;
  const expected = s / (n * n);
  if (countA.size === 1 && countB.size === 1 && agree === n) {
    return { kappa: 1, observed, expected, n, convention: "both-constant-equal" };
  }
  const denom = n * n - s;
  if (denom === 0) return { kappa: null, observed, expected, n };
  return { kappa: (n * agree - s) / denom, observed, expected, n };
}

/**
 * The option key with the highest probability; ties go to the key that sorts first (so the
 * answer does not depend on the order the options were shown in). Null when there is no key
 * with a finite positive probability.
 */
export function topOption(probs: Readonly<Record<string, number>>): string | null {
  let best: string | null = null;
  let bestP = 0;
  for (const key of Object.keys(probs).sort()) {
    const p = probs[key]!;
    if (!Number.isFinite(p) || p <= 0) continue;
    if (best === null || p > bestP) {
      best = key;
      bestP = p;
    }
  }
  return best;
}

export interface FlipResult {
  /** pairs whose answers differ */
  flips: number;
  /** pairs compared (both answers known) */
  n: number;
  /** flips / n; null when n = 0 */
  share: number | null;
  /** pairs left out because an answer was unknown (null) in either run */
  excluded: number;
}

/** Share of aligned pairs whose answers differ; pairs with a null answer on either side are left out. */
export function flipShare(a: readonly (string | null)[], b: readonly (string | null)[]): FlipResult {
  if (a.length !== b.length) throw new RangeError(`flipShare: arrays differ in length (${a.length} vs ${b.length})`);
  let flips = 0;
  let n = 0;
  let excluded = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === null || x === undefined || y === null || y === undefined) {
      excluded++;
      continue;
    }
    n++;
    if (x !== y) flips++;
  }
  return { flips, n, share: n === 0 ? null : flips / n, excluded };
}

/**
 * Two option-probability maps as aligned arrays over the union of their keys (sorted; a key
 * missing from one map counts as probability 0).
 */
export function alignDistributions(
  p: Readonly<Record<string, number>>,
  q: Readonly<Record<string, number>>,
): [number[], number[]] {
  const keys = [...new Set([...Object.keys(p), ...Object.keys(q)])].sort();
  return [keys.map((k) => p[k] ?? 0), keys.map((k) => q[k] ?? 0)];
}

function checkDistributions(who: string, p: readonly number[], q: readonly number[]): void {
  if (p.length !== q.length)
    throw new RangeError(`${who}: distributions differ in length (${p.length} vs ${q.length})`);
  if (p.length === 0) throw new RangeError(`${who}: empty distributions`);
  for (const x of [...p, ...q]) {
    if (!Number.isFinite(x) || x < 0) throw new RangeError(`${who}: probabilities must be finite and >= 0, got ${x}`);
  }
}

/** Mean over options of |p_i - q_i| (the probabilities as given, not renormalized). */
export function meanAbsDiff(p: readonly number[], q: readonly number[]): number {
  checkDistributions("meanAbsDiff", p, q);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i]! - q[i]!);
  return s / p.length;
}

/**
 * Jensen-Shannon divergence in bits (base 2, so it lies in [0, 1]):
 * JSD = 1/2 KL(P || M) + 1/2 KL(Q || M), M = (P + Q) / 2, with 0 log 0 = 0. Each input is
 * normalized to sum 1 first; a distribution summing to 0 is an error.
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  checkDistributions("jensenShannon", p, q);
  const sp = p.reduce((a, x) => a + x, 0);
  const sq = q.reduce((a, x) => a + x, 0);
  if (!(sp > 0) || !(sq > 0)) throw new RangeError("jensenShannon: a distribution sums to 0");
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) d += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) d += 0.5 * qi * Math.log2(qi / m);
  }
  // Rounding can leave a hair below 0 or above 1.
  return Math.min(1, Math.max(0, d));
}

/** Arithmetic mean; null for an empty list. */
export function meanOrNull(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
