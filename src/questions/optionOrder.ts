import { seededRandom, shuffled } from "../util/random.js";

/**
 * The option order shown on a given repeat of a question.
 *
 * Repeats come in cycles of `n` (the number of options). Within a cycle the orders are the
 * rows of a Latin square: `n` rotations of a seeded base permutation, visited in a seeded
 * order. So over every full cycle each option sits in every position exactly once, and
 * every repeat still sees a fresh, seeded order. The result is a pure function of
 * (seed, question id, repeat): it never depends on which other questions ran.
 *
 * Returns option indices in shown order: `order[position] = option index`.
 */
export function optionOrder(n: number, repeat: number, seed: number, questionId: string): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`optionOrder: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(repeat) || repeat < 0) throw new Error(`optionOrder: bad repeat ${repeat}`);
  const cycle = Math.floor(repeat / n);
  const row = repeat % n;
  const random = seededRandom("option-order", seed, questionId, cycle);
  const base = shuffled(range(n), random);
  const rowOrder = shuffled(range(n), random);
  const shift = rowOrder[row]!;
  return range(n).map((position) => base[(position + shift) % n]!);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
