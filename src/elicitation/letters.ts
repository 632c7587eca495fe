/**
 * The letters elicitation: the probability of each option letter from one forward pass (every
 * single-token spelling counted), renormalized over the letters into option probabilities; the
 * suite turns those into the question's score (`Suite.letterScore`).
 */
import type { LetterScores, UnseenLetters } from "../backends/backend.js";
import type { Question } from "../questions/question.js";
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
  };
}

/** The record fields of a letters answer: the letter probabilities and each option key's renormalized probability. */
export function lettersFields(
  q: Question,
  value: CachedLetters,
): { letters: NonNullable<RunRecord["letters"]>; optionProbs: Record<string, number> } {
  const optionProbs: Record<string, number> = {};
  (q.letters ?? []).forEach((letter, i) => (optionProbs[q.order[i]!] = value.probs[letter] ?? 0));
  const { kind: _kind, unseen, ...rest } = value;
  const letters = {
    ...rest,
    ...(unseen ? { unseen: { ...unseen, shiftBound: renormalizationShiftBound(value.mass, unseen.massBound) } } : {}),
  };
  return { letters, optionProbs };
}

/**
 * How far a renormalized letter probability, and the question's score, could move when letters
 * outside a server's top-K list hold up to `massBound` (d) of raw probability besides the
 * letter mass M found.
 *
 * The letters found give q_i = p_i / M; with the unseen letters holding δ in [0, d] the true
 * renormalized distribution is q'_i = p_i / (M + δ) (found) and δ_j / (M + δ) (unseen). Their
 * total-variation distance is ½(Σ_found p_i (1/M - 1/(M+δ)) + δ/(M+δ)) = δ / (M + δ) <= d / (M + d).
 * Each single probability moves by at most the total-variation distance, and so does any
 * expectation E_q[f] of an f with values in [0, 1]: every letters score is one (expected
 * position / (n - 1) on a scale, or P(resisting) = E[1{resisting}]), so the score moves by at
 * most d / (M + d) as well. 1 when nothing was found (M = 0) but something could be unseen.
 */
export function renormalizationShiftBound(mass: number, massBound: number): number {
  if (!(massBound > 0)) return 0;
  return mass > 0 ? massBound / (mass + massBound) : 1;
}
