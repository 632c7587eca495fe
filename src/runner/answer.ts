/**
 * Asking one question: prompt -> cache key -> cached answer or the backend -> record.
 *
 * The cached value is what the model produced (letter probabilities, or generated text);
 * parsing and scoring happen when the record is made, so a better parser never needs the
 * model again.
 */
import {
  QuestionFailedError,
  type Backend,
  type LetterScores,
  type PreparedPrompt,
  type QuestionFailure,
  type UnseenLetters,
} from "../backends/backend.js";
import { RequestRejectedError } from "../backends/http/errors.js";
import { type AnswerCache, cacheKey } from "../cache/answerCache.js";
import { parseActionAnswer, parseStatedAnswer } from "../suites/via/paper.js";
import { SIXPOINT_OPTIONS } from "../suites/dilemmas/sixpoint.js";
import type { Question } from "../questions/question.js";
import { STATED_SCALE } from "../suites/via/questions.js";
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

/** A generated answer as cached. */
export interface CachedGeneration {
  kind: "generation";
  text: string;
  thoughts?: string;
  finishReason: "stop" | "maxTokens";
  generatedTokens: number;
}

/** Generation is greedy: the paper's answers are decoded at temperature 0 here. */
export const GREEDY = { temperature: 0 } as const;

export function promptFor(backend: Backend, q: Question): PreparedPrompt {
  return backend.prepare(q.segments, {
    mode: q.letters ? "letters" : "generate",
    ...(q.system !== undefined ? { system: q.system } : {}),
  });
}

export function keyFor(backend: Backend, q: Question, prompt: PreparedPrompt): string {
  const { engine, engineVersion, model, outputOptions } = backend.info;
  return cacheKey({
    backend: { engine, engineVersion, modelSha256: model.sha256, outputOptions },
    prompt: { text: prompt.text, segmentEnds: prompt.segmentEnds },
    answer: q.letters
      ? { mode: "letters", letters: q.letters }
      : { mode: "generate", maxTokens: q.maxTokens, ...GREEDY },
  });
}

export interface Asked {
  record: RunRecord;
  cacheHit: boolean;
  /** Set when the question failed (the record carries it as `failed`; nothing was cached). */
  failed?: QuestionFailure;
}

/**
 * The per-question failure an error stands for: a `QuestionFailedError`, or a server's
 * rejection of this request (`RequestRejectedError` with `perQuestion`). Anything else (the
 * server unavailable, credentials, an unknown model, a bug) is not one: it stops the run.
 */
export function questionFailureOf(err: unknown): QuestionFailure | undefined {
  if (err instanceof QuestionFailedError) return err.failure;
  if (err instanceof RequestRejectedError && err.perQuestion) return { reason: err.reason, status: err.status };
  return undefined;
}

/**
 * Ask one question on one lane of the backend, through the cache. A per-question failure
 * (`questionFailureOf`) becomes a failed record; every other error is thrown.
 */
export async function ask(backend: Backend, cache: AnswerCache, q: Question, lane: number): Promise<Asked> {
  const started = performance.now();
  const prompt = promptFor(backend, q);
  const key = keyFor(backend, q, prompt);
  try {
    return await answer(backend, cache, q, lane, prompt, key, started);
  } catch (err) {
    const failed = questionFailureOf(err);
    if (!failed) throw err;
    const meta = { cacheHit: false, ms: Math.round(performance.now() - started), evaluatedTokens: 0, reusedTokens: 0 };
    return { record: failedRecord(q, key, failed, meta), cacheHit: false, failed };
  }
}

async function answer(
  backend: Backend,
  cache: AnswerCache,
  q: Question,
  lane: number,
  prompt: PreparedPrompt,
  key: string,
  started: number,
): Promise<Asked> {
  let value = cache.get(key) as CachedLetters | CachedGeneration | undefined;
  const cacheHit = value !== undefined;
  let evaluatedTokens = 0;
  let reusedTokens = 0;
  if (!value) {
    if (q.letters) {
      const scores = await backend.scoreLetters(prompt, q.letters, lane);
      evaluatedTokens = scores.evaluatedTokens;
      reusedTokens = scores.reusedTokens;
      value = toCachedLetters(scores);
    } else {
      const gen = await backend.generate(prompt, { maxTokens: q.maxTokens ?? 256, ...GREEDY }, lane);
      evaluatedTokens = gen.evaluatedTokens;
      value = {
        kind: "generation",
        text: gen.text,
        thoughts: gen.thoughts,
        finishReason: gen.finishReason,
        generatedTokens: gen.generatedTokens,
      };
    }
    // Keep what the cache stores, so a fresh answer and a cached one make identical records.
    value = cache.put(key, value);
  }
  const meta = { cacheHit, ms: Math.round(performance.now() - started), evaluatedTokens, reusedTokens };
  return { record: makeRecord(q, key, value, meta), cacheHit };
}

function toCachedLetters(s: LetterScores): CachedLetters {
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

export function makeRecord(
  q: Question,
  key: string,
  value: CachedLetters | CachedGeneration,
  meta: RunRecord["meta"],
): RunRecord {
  const base = recordBase(q, key);
  if (value.kind === "letters") {
    const optionProbs: Record<string, number> = {};
    q.letters!.forEach((letter, i) => (optionProbs[q.order[i]!] = value.probs[letter] ?? 0));
    const { kind: _kind, unseen, ...rest } = value;
    const letters = {
      ...rest,
      ...(unseen ? { unseen: { ...unseen, shiftBound: renormalizationShiftBound(value.mass, unseen.massBound) } } : {}),
    };
    return { ...base, letters, optionProbs, score: letterScore(q, optionProbs, value.mass), meta };
  }
  const generation = {
    raw: value.text,
    ...(value.thoughts ? { thoughts: value.thoughts } : {}),
    finishReason: value.finishReason,
    generatedTokens: value.generatedTokens,
  };
  const { parsed, score } = parseGeneration(q, value.text, value.finishReason);
  return { ...base, generation, parsed, score, meta };
}

/** The record of a failed question: who it is, why it failed, no answer and no score. */
export function failedRecord(q: Question, key: string, failed: QuestionFailure, meta: RunRecord["meta"]): RunRecord {
  return { ...recordBase(q, key), score: null, failed: { reason: failed.reason, status: failed.status }, meta };
}

/** What every record of a question holds: its identity, the option order shown and the cache key. */
function recordBase(q: Question, key: string) {
  return {
    id: q.id,
    protocol: q.protocol,
    task: q.task,
    country: q.country,
    topic: q.topic,
    value: q.value,
    variant: q.variant,
    repeat: q.repeat,
    order: q.order,
    ...(q.viaRows ? { viaRows: q.viaRows } : {}),
    ...(q.dilemma !== undefined ? { dilemma: q.dilemma } : {}),
    ...(q.persona ? { persona: q.persona } : {}),
    cacheKey: key,
  };
}

/**
 * The letters protocol's score in [0,1]. Stated: the expected position on the 4-point scale
 * (0 = strongly agree .. 3 = strongly disagree) divided by 3. Action: the probability of the
 * action that resists the value. Sixpoint: the expected position on the question's 6-point
 * scale (value: Strongly agree .. Strongly disagree; action: strongly aligning .. strongly
 * opposing) divided by 5. Null when the letters got no probability at all.
 */
export function letterScore(q: Question, optionProbs: Record<string, number>, mass: number): number | null {
  if (!(mass > 0)) return null;
  if (q.protocol === "sixpoint") return expectedPosition(SIXPOINT_OPTIONS[q.task], optionProbs);
  if (q.task === "stated") {
    return expectedPosition(STATED_SCALE, optionProbs);
  }
  return optionProbs.negative ?? 0;
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

/** Expected index on an ordered scale, divided by its last index: 0 = first option .. 1 = last. */
function expectedPosition(scale: readonly string[], optionProbs: Record<string, number>): number {
  let expected = 0;
  scale.forEach((label, position) => (expected += position * (optionProbs[label] ?? 0)));
  return expected / (scale.length - 1);
}

function parseGeneration(
  q: Question,
  text: string,
  finishReason: string,
): { parsed: RunRecord["parsed"]; score: number | null } {
  const cut = finishReason === "maxTokens" ? " (the answer hit the generation cap)" : "";
  if (q.task === "stated") {
    const r = parseStatedAnswer(text);
    if (!r.ok) return { parsed: { ok: false, reason: r.reason + cut }, score: null };
    return { parsed: { ok: true, ratings: r.ratings }, score: null };
  }
  const r = parseActionAnswer(text);
  if (!r.ok) return { parsed: { ok: false, reason: r.reason + cut }, score: null };
  const chosen = q.order[r.option - 1]!;
  return { parsed: { ok: true, option: r.option, chosen }, score: chosen === "negative" ? 1 : 0 };
}
