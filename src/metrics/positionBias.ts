/**
 * What every letters suite's position-bias figures rest on: the position names (A, B, ...), the
 * probability a record gave each shown position, its top option, and the complete balanced cycles
 * of repeats (n consecutive repeats in which every option sits in every position exactly once)
 * that order-balanced scores average over. Each suite's own figures use these
 * (src/suites/via/metrics/positionBias.ts, src/suites/dilemmas/metrics.ts).
 */
import type { RunRecord } from "../records/records.js";

/** Position names as shown to the model: A, B, C, ... */
export function positionLetter(i: number): string {
  return String.fromCharCode(65 + i);
}

/** The question a record answers: its id without the repeat suffix. */
export function questionKey(r: Pick<RunRecord, "id">): string {
  return r.id.replace(/\/r\d+$/, "");
}

/** True when the orders of these records put every option key in every position exactly once. */
export function isBalancedCycle(orders: readonly (readonly string[])[]): boolean {
  const n = orders.length;
  if (n === 0) return false;
  const keys = new Set(orders[0]);
  if (keys.size !== n) return false;
  for (let pos = 0; pos < n; pos++) {
    const seen = new Set<string>();
    for (const o of orders) {
      if (o.length !== n) return false;
      const k = o[pos];
      if (k === undefined || !keys.has(k) || seen.has(k)) return false;
      seen.add(k);
    }
  }
  return true;
}

/** Records by question (`questionKey`), each list in repeat order. */
export function groupByQuestion<R extends RunRecord>(records: readonly R[]): Map<string, R[]> {
  const by = new Map<string, R[]>();
  for (const r of records) {
    const k = questionKey(r);
    const list = by.get(k);
    if (list) list.push(r);
    else by.set(k, [r]);
  }
  for (const list of by.values()) list.sort((a, b) => a.repeat - b.repeat);
  return by;
}

/**
 * The records of a question's complete balanced cycles: repeats come in cycles of `n` (the
 * number of options; repeats nc .. nc+n-1), and a cycle counts when all n repeats are there
 * and their orders put every option in every position once. In cycle order.
 */
export function completeBalancedCycles<R extends RunRecord>(records: readonly R[], n: number): R[] {
  const cycles = new Map<number, R[]>();
  for (const r of records) {
    const c = Math.floor(r.repeat / n);
    const xs = cycles.get(c);
    if (xs) xs.push(r);
    else cycles.set(c, [r]);
  }
  const used: R[] = [];
  for (const c of [...cycles.keys()].sort((a, b) => a - b)) {
    const xs = cycles.get(c)!;
    const distinctRepeats = new Set(xs.map((r) => r.repeat)).size;
    if (xs.length === n && distinctRepeats === n && isBalancedCycle(xs.map((r) => r.order))) used.push(...xs);
  }
  return used;
}

/** Probability per position of a letters record (optionProbs in shown order, else letters.probs A, B, ...). */
export function positionProbs(r: RunRecord): number[] | undefined {
  const n = r.order.length;
  if (n === 0) return undefined;
  const { optionProbs, letters } = r;
  if (optionProbs) return r.order.map((k) => optionProbs[k] ?? 0);
  if (letters) {
    const xs = Array.from({ length: n }, (_, i) => letters.probs[positionLetter(i)] ?? 0);
    const s = xs.reduce((a, b) => a + b, 0);
    return s > 0 ? xs.map((x) => x / s) : undefined;
  }
  return undefined;
}

/** The option key with the highest probability (ties: the key first in sorted order). */
export function topOption(r: RunRecord): string | undefined {
  const probs = positionProbs(r);
  if (probs === undefined) return undefined;
  let best: string | undefined;
  let bestP = -Infinity;
  r.order.forEach((k, i) => {
    const p = probs[i]!;
    if (p > bestP || (p === bestP && best !== undefined && k < best)) {
      best = k;
      bestP = p;
    }
  });
  return best;
}
