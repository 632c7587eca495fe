/**
 * Asking one question: prompt -> cache key -> cached answer or the backend -> record.
 *
 * The cached value is what the model produced (letter probabilities, or generated text);
 * parsing and scoring happen when the record is made, so a better parser never needs the
 * model again.
 */
import { QuestionFailedError, type Backend, type PreparedPrompt, type QuestionFailure } from "../backends/backend.js";
import { RequestRejectedError } from "../backends/http/errors.js";
import { type AnswerCache, cacheKey } from "../cache/answerCache.js";
import type { Question } from "../questions/question.js";
import type { RunRecord } from "../records/records.js";
import { suiteOfProtocol } from "../suites/registry.js";
import { type CachedGeneration, GREEDY, generationField, withCapNote } from "../elicitation/generate.js";
import { type CachedLetters, impossibleLetters, lettersFields, toCachedLetters } from "../elicitation/letters.js";

export type { CachedGeneration, CachedLetters };

export function promptFor(backend: Backend, q: Question): PreparedPrompt {
  return backend.prepare(q.segments, {
    mode: q.letters ? "letters" : "generate",
    ...(q.system !== undefined ? { system: q.system } : {}),
    ...(q.history ? { history: q.history } : {}),
    ...(q.answerPrefix !== undefined ? { answerPrefix: q.answerPrefix } : {}),
  });
}

export function keyFor(backend: Backend, q: Question, prompt: PreparedPrompt): string {
  const { engine, engineVersion, model, outputOptions } = backend.info;
  return cacheKey({
    backend: { engine, engineVersion, modelSha256: model.sha256, outputOptions },
    prompt: { text: prompt.text, segmentEnds: prompt.segmentEnds },
    answer: q.letters
      ? { mode: "letters", letters: q.letters }
      : { mode: "generate", maxTokens: q.maxTokens, ...(q.sampling ?? GREEDY) },
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
  // A cached distribution that cannot be one (written by an older valuelens, or damaged): asked again.
  if (value?.kind === "letters" && impossibleLetters(value) !== undefined) {
    cache.drop(key);
    value = undefined;
  }
  const cacheHit = value !== undefined;
  let evaluatedTokens = 0;
  let reusedTokens = 0;
  if (!value) {
    if (q.letters) {
      const scores = await backend.scoreLetters(prompt, q.letters, lane);
      evaluatedTokens = scores.evaluatedTokens;
      reusedTokens = scores.reusedTokens;
      value = toCachedLetters(scores);
      const impossible = impossibleLetters(value);
      if (impossible)
        throw new QuestionFailedError({
          reason: `the backend returned an impossible distribution (${impossible}); not recorded as an answer, not cached`,
          status: null,
        });
    } else {
      const gen = await backend.generate(prompt, { maxTokens: q.maxTokens ?? 256, ...(q.sampling ?? GREEDY) }, lane);
      evaluatedTokens = gen.evaluatedTokens;
      value = {
        kind: "generation",
        text: gen.text,
        thoughts: gen.thoughts,
        finishReason: gen.finishReason,
        generatedTokens: gen.generatedTokens,
      };
    }
    // The weights that answered are still the model's (a file replaced mid-run is refused).
    await backend.verifyModel?.(lane);
    // Keep what the cache stores, so a fresh answer and a cached one make identical records.
    value = cache.put(key, value);
  }
  const meta = { cacheHit, ms: Math.round(performance.now() - started), evaluatedTokens, reusedTokens };
  return { record: makeRecord(q, key, value, meta), cacheHit };
}

export function makeRecord(
  q: Question,
  key: string,
  value: CachedLetters | CachedGeneration,
  meta: RunRecord["meta"],
): RunRecord {
  const base = recordBase(q, key);
  const suite = suiteOfProtocol(q.protocol).suite;
  if (value.kind === "letters") {
    const { letters, optionProbs } = lettersFields(q, value);
    return { ...base, letters, optionProbs, score: suite.letterScore(q, optionProbs, value.mass), meta };
  }
  const { parsed, score } = suite.parseAnswer(q, value.text);
  return { ...base, generation: generationField(value), parsed: withCapNote(parsed, value.finishReason), score, meta };
}

/** The record of a failed question: who it is, why it failed, no answer and no score. */
export function failedRecord(q: Question, key: string, failed: QuestionFailure, meta: RunRecord["meta"]): RunRecord {
  return { ...recordBase(q, key), score: null, failed: { reason: failed.reason, status: failed.status }, meta };
}

/** What every record of a question holds: its identity, the option order shown and the cache key. */
export function recordBase(q: Question, key: string) {
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
    ...(q.recordFields ?? {}),
    ...(q.viaRows ? { viaRows: q.viaRows } : {}),
    ...(q.dilemma !== undefined ? { dilemma: q.dilemma } : {}),
    ...(q.persona ? { persona: q.persona } : {}),
    cacheKey: key,
  };
}
