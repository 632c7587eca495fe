/**
 * Answer letters read from a model's next-token probabilities, for the backends that see the
 * whole vocabulary (embedded llama.cpp, llama-server): every single-token spelling of a letter
 * (a token whose text, trimmed, is the letter: "A", " A", a byte-fallback "A") counts for it.
 */
import type { LetterScore } from "./backend.js";
import { UserError } from "../util/errors.js";

/** Each letter's spellings among `tokens` ([id, text] of every ordinary token). Throws if a letter has none. */
export function spellingsInVocabulary<T extends number>(
  letters: readonly string[],
  tokens: Iterable<readonly [T, string]>,
): Map<string, T[]> {
  const found = new Map<string, T[]>(letters.map((l) => [l, []]));
  for (const [id, text] of tokens) found.get(text.trim())?.push(id);
  for (const [letter, ids] of found) {
    if (ids.length === 0)
      throw new UserError(`the model's vocabulary has no single token for the answer letter "${letter}"`);
  }
  return found;
}

/**
 * Letter probabilities from token probabilities: raw per spelling (keyed by the spelling's text,
 * the token id added where two spellings read alike), summed per letter, renormalized over the letters.
 */
export function scoreSpellings<T extends number>(
  letters: readonly string[],
  spellings: ReadonlyMap<string, readonly T[]>,
  prob: (token: T) => number,
  text: (token: T) => string,
): { probs: Record<string, number>; mass: number; perLetter: LetterScore[] } {
  const perLetter = letters.map((letter) => {
    const bySpelling: Record<string, number> = {};
    let p = 0;
    for (const token of spellings.get(letter) ?? []) {
      const q = prob(token);
      let name = text(token);
      if (name in bySpelling) name = `${name} [token ${token}]`;
      bySpelling[name] = q;
      p += q;
    }
    return { letter, p, spellings: bySpelling };
  });
  const mass = perLetter.reduce((s, l) => s + l.p, 0);
  const probs: Record<string, number> = {};
  for (const l of perLetter) probs[l.letter] = mass > 0 ? l.p / mass : 0;
  return { probs, mass, perLetter };
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
 * The same bound holds when the δ_j belong to letters already found (spellings left out of a
 * top-K read): |q'_i - q_i| = |δ_i M - p_i δ| / (M (M + δ)) <= δ / (M + δ).
 */
export function renormalizationShiftBound(mass: number, massBound: number): number {
  if (!(massBound > 0)) return 0;
  return mass > 0 ? massBound / (mass + massBound) : 1;
}
