/**
 * Letter scores from what a server tells us about its first generated token: the top-N
 * logprobs (Ollama, vLLM, llama-server, OpenAI), or, where a server has no logprobs, the
 * letters of K sampled answers.
 *
 * A token counts for letter L when, trimmed of whitespace and trailing punctuation (`)`, `.`,
 * `:`, `]`, `,`, markdown `*`, quotes), it equals L: "A", " A", "A)", "A." all count for A. Letters missing from the
 * top N get 0 and are listed in `notFound` (and in `method`), and `unseen` bounds what they
 * could hold (`unseenLetters`).
 */
import { createHash } from "node:crypto";
import type { LetterScore, LetterScores, UnseenLetters } from "../backend.js";

export interface TokenLogprob {
  token: string;
  logprob: number;
}

/** The letter a token (or an answer's first word) spells, if any of `letters`. */
export function letterOfToken(token: string, letters: readonly string[]): string | undefined {
  const core = token.trim().replace(/[).:\],*"'`]+$/, "");
  return letters.includes(core) ? core : undefined;
}

/** Letter scores from the top logprobs of the first generated token. */
export function lettersFromTopLogprobs(
  top: readonly TokenLogprob[],
  letters: readonly string[],
  topN: number,
): LetterScores {
  const perLetter = new Map<string, LetterScore>(letters.map((l) => [l, { letter: l, p: 0, spellings: {} }]));
  let topToken = { text: "", p: 0 };
  const seen = new Set<string>();
  for (const { token, logprob } of top) {
    const p = Math.exp(logprob);
    if (p > topToken.p) topToken = { text: token, p };
    const letter = letterOfToken(token, letters);
    if (!letter) continue;
    // The same text twice (two token ids decoding alike) is two spellings' worth of mass.
    const entry = perLetter.get(letter)!;
    entry.spellings[token] = (entry.spellings[token] ?? 0) + p;
    entry.p += p;
    seen.add(letter);
  }
  const notFound = letters.filter((l) => !seen.has(l));
  const method = `top-logprobs:${topN}${notFound.length ? `;not-found:${notFound.join(",")}` : ""}`;
  const scores = finish([...perLetter.values()], topToken, method, notFound);
  if (notFound.length > 0) scores.unseen = unseenLetters(top, notFound, [...perLetter.values()], topN);
  return scores;
}

/** A short list whose probabilities sum to at least 1 - this is the whole support (rounding of logprobs). */
const WHOLE_SUPPORT_TOLERANCE = 1e-3;
/** Spellings assumed per unseen letter at least: "A" and " A". */
export const MIN_SPELLINGS_PER_LETTER = 2;

/**
 * How much probability the letters missing from a top-K list could hold.
 *
 * Every token not returned has probability at most the K-th largest returned one's (the list
 * is the top K of the distribution). A list shorter than K is the whole support when it sums
 * to 1 (bound 0); a short list that does not sum to 1 (a server that cut it, or sent only the
 * chosen token) still bounds the rest by its smallest entry. An unseen letter is assumed to
 * have as many single-token spellings as the letter with the most distinct spellings returned,
 * at least 2 ("A", " A"); whatever the spellings, the unseen letters cannot hold more than
 * what the returned tokens leave (1 - their total), and massBound is capped by that.
 */
export function unseenLetters(
  top: readonly TokenLogprob[],
  missing: readonly string[],
  perLetter: readonly LetterScore[],
  topK: number,
): UnseenLetters {
  const ps = top.map((t) => Math.exp(t.logprob)).sort((a, b) => b - a);
  const returnedMass = ps.reduce((sum, p) => sum + p, 0);
  let tokenBound: number;
  if (ps.length >= topK) tokenBound = ps[topK - 1]!;
  else if (returnedMass >= 1 - WHOLE_SUPPORT_TOLERANCE) tokenBound = 0;
  else tokenBound = ps.at(-1) ?? 1;
  const spellingsPerLetter = Math.max(
    MIN_SPELLINGS_PER_LETTER,
    ...perLetter.map((l) => Object.keys(l.spellings).length),
  );
  const left = Math.max(0, 1 - returnedMass);
  const massBound = tokenBound === 0 ? 0 : Math.min(missing.length * spellingsPerLetter * tokenBound, left);
  return { letters: [...missing], topK, returned: top.length, tokenBound, spellingsPerLetter, massBound };
}

/**
 * Letter scores from K sampled answers: each answer's first word (markup like "**" or "("
 * around it removed) counts for its letter with weight 1/K. `mass` = the share of answers that began with a letter.
 */
export function lettersFromSamples(
  answers: readonly string[],
  letters: readonly string[],
  temperature: number,
): LetterScores {
  const k = answers.length;
  const perLetter = new Map<string, LetterScore>(letters.map((l) => [l, { letter: l, p: 0, spellings: {} }]));
  const firstWords = new Map<string, number>();
  for (const answer of answers) {
    const word = firstWord(answer);
    firstWords.set(word, (firstWords.get(word) ?? 0) + 1 / k);
    const letter = letterOfToken(word, letters);
    if (!letter) continue;
    const entry = perLetter.get(letter)!;
    entry.spellings[word] = (entry.spellings[word] ?? 0) + 1 / k;
    entry.p += 1 / k;
  }
  let topToken = { text: "", p: 0 };
  for (const [text, p] of firstWords) if (p > topToken.p) topToken = { text, p };
  const notFound = letters.filter((l) => perLetter.get(l)!.p === 0);
  return finish([...perLetter.values()], topToken, `sampled:${k}@${temperature}`, notFound);
}

/** The first word of an answer, without leading markup like "(", "**" or quotes. */
export function firstWord(answer: string): string {
  const stripped = answer.trim().replace(/^[("'*`[]+/, "");
  return stripped.split(/\s+/)[0] ?? "";
}

function finish(
  perLetter: LetterScore[],
  topToken: { text: string; p: number },
  method: string,
  notFound: string[],
): LetterScores {
  const mass = perLetter.reduce((sum, l) => sum + l.p, 0);
  const probs: Record<string, number> = {};
  for (const l of perLetter) probs[l.letter] = mass > 0 ? l.p / mass : 0;
  return { probs, mass, perLetter, topToken, method, notFound, evaluatedTokens: 0, reusedTokens: 0 };
}

/** A deterministic sampling seed for answer k of a prompt (31-bit, as servers take). */
export function sampleSeed(promptText: string, k: number): number {
  const h = createHash("sha256").update(`${promptText}\n#${k}`).digest();
  return h.readUInt32BE(0) & 0x7fffffff;
}
