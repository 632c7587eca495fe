/**
 * The letters elicitation: the probability of each option letter from one forward pass (every
 * single-token spelling counted), renormalized over the letters into option probabilities; the
 * suite turns those into the question's score (`Suite.letterScore`).
 */
import type { LeftOutSpellings, LetterScores, UnseenLetters } from "../backends/backend.js";
import { renormalizationShiftBound } from "../backends/tokenLetters.js";
import type { Question } from "../questions/question.js";
import { isProbability, MASS_TOLERANCE, SUM_TOLERANCE } from "../records/consistency.js";
import type { RunRecord } from "../records/records.js";

/** The letters answer as cached. */
export interface CachedLetters {
  kind: "letters";
  probs: Record<string, number>;
  mass: number;
  spellings: Record<string, Record<string, number>>;
  top: { text: string; p: number };
  method: string;
  /** Letters outside a server's top-K list (absent when all were returned, and in older cache entries). */
  unseen?: UnseenLetters;
  /** llama-server: spellings left out of its top-K as too small to matter (absent when none, and in older entries). */
  leftOut?: LeftOutSpellings;
}

export function toCachedLetters(s: LetterScores): CachedLetters {
  const spellings: Record<string, Record<string, number>> = {};
  for (const l of s.perLetter) spellings[l.letter] = l.spellings;
  return {
    kind: "letters",
    probs: s.probs,
    mass: s.mass,
    spellings,
    top: s.topToken,
    method: s.method,
    ...(s.unseen ? { unseen: s.unseen } : {}),
    ...(s.leftOut ? { leftOut: s.leftOut } : {}),
  };
}

/** The record fields of a letters answer: the letter probabilities and each option key's renormalized probability. */
export function lettersFields(
  q: Question,
  value: CachedLetters,
): { letters: NonNullable<RunRecord["letters"]>; optionProbs: Record<string, number> } {
  const optionProbs: Record<string, number> = {};
  (q.letters ?? []).forEach((letter, i) => (optionProbs[q.order[i]!] = value.probs[letter] ?? 0));
  const { kind: _kind, unseen, leftOut, ...rest } = value;
  const letters = {
    ...rest,
    ...(unseen ? { unseen: { ...unseen, shiftBound: renormalizationShiftBound(value.mass, unseen.massBound) } } : {}),
    ...(leftOut
      ? { leftOut: { ...leftOut, shiftBound: renormalizationShiftBound(value.mass, leftOut.massBound) } }
      : {}),
  };
  return { letters, optionProbs };
}

/**
 * Why a backend's letter distribution cannot be one, or undefined: a probability that is not
 * finite or not in [0, 1], a letter mass above 1 (+1e-6: duplicate tokens, positive
 * logprobs), letters that do not sum to 1 (within 1e-9) when there is mass. The runner records
 * such a question as failed, never as an answer, and never caches it; a cache entry that fails
 * is dropped and the question asked again (runner/answer.ts).
 */
export function impossibleLetters(value: CachedLetters): string | undefined {
  if (!isProbability(value.mass, MASS_TOLERANCE)) return `letter mass ${value.mass}`;
  if (!isProbability(value.top?.p)) return `top token probability ${value.top?.p}`;
  let sum = 0;
  for (const [letter, p] of Object.entries(value.probs)) {
    if (!isProbability(p)) return `probability ${p} for letter ${letter}`;
    sum += p;
  }
  for (const [letter, spellings] of Object.entries(value.spellings ?? {}))
    for (const [text, p] of Object.entries(spellings))
      if (!isProbability(p)) return `probability ${p} for spelling ${JSON.stringify(text)} of ${letter}`;
  if (value.mass > 0 && Math.abs(sum - 1) > SUM_TOLERANCE) return `letter probabilities summing to ${sum}`;
  return undefined;
}
