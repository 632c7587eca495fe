/**
 * Is a record consistent with itself? Checked when a record is read (records.ts readRecords,
 * with its line number) so that an edited or corrupted record never reaches a figure:
 * - letter probabilities (optionProbs, letters.probs) are finite, in [0, 1], and sum to 1 within
 *   1e-9 (all 0 when no letter mass was found, the score then null);
 * - the letter mass, each spelling's probability and the top token's are finite and in [0, 1]
 *   (the mass within 1e-6);
 * - the score is null or in [0, 1], and, where the reader knows how (`scoreOf`, the suite's
 *   letterScore), equal to the one recomputed from optionProbs within 1e-9;
 * - a failed record has no answer and a null score.
 */
import type { RunRecord } from "./records.js";

/** How far letter probabilities may sum from 1, and a letter mass exceed 1 (also for backends' answers: elicitation/letters.ts). */
export const SUM_TOLERANCE = 1e-9;
export const MASS_TOLERANCE = 1e-6;

/** A finite number in [0, 1 + slack]. */
export const isProbability = (x: unknown, slack = 0): x is number =>
  typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= 1 + slack;

function distributionProblem(name: string, probs: Record<string, number>, empty: boolean): string | undefined {
  let sum = 0;
  for (const [key, p] of Object.entries(probs)) {
    if (!isProbability(p)) return `${name}.${key} is ${p}, not a probability`;
    sum += p;
  }
  if (empty) return sum === 0 ? undefined : `${name} sum to ${sum} with no letter mass`;
  if (Math.abs(sum - 1) > SUM_TOLERANCE) return `${name} sum to ${sum}, not 1`;
  return undefined;
}

/** What is wrong with a record, or undefined. `scoreOf` recomputes a letters record's score. */
export function recordProblem(
  record: RunRecord,
  scoreOf?: (record: RunRecord) => number | null | undefined,
): string | undefined {
  if (record.score !== null && !isProbability(record.score)) return `score ${record.score} is not in [0, 1]`;
  if (record.failed) {
    if (record.score !== null || record.letters || record.generation) return "a failed record carries an answer";
    return undefined;
  }
  const letters = record.letters;
  if (letters) {
    if (!isProbability(letters.mass, MASS_TOLERANCE)) return `letters.mass ${letters.mass} is not in [0, 1]`;
    if (!isProbability(letters.top.p)) return `letters.top.p ${letters.top.p} is not a probability`;
    for (const [letter, spellings] of Object.entries(letters.spellings))
      for (const [text, p] of Object.entries(spellings))
        if (!isProbability(p)) return `letters.spellings.${letter}[${JSON.stringify(text)}] is ${p}, not a probability`;
    const empty = !(letters.mass > 0);
    const problem =
      distributionProblem("letters.probs", letters.probs, empty) ??
      (record.optionProbs ? distributionProblem("optionProbs", record.optionProbs, empty) : undefined);
    if (problem) return problem;
    const expected = scoreOf?.(record);
    if (expected !== undefined) {
      if (
        expected === null
          ? record.score !== null
          : record.score === null || Math.abs(record.score - expected) > SUM_TOLERANCE
      )
        return `score ${record.score} is not the ${expected} its optionProbs give`;
    }
  }
  return undefined;
}
