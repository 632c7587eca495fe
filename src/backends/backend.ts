import type { ChatTurn } from "../templates/chatTemplate.js";
import { UserError } from "../util/errors.js";

/**
 * The one model interface every engine implements (lm-eval's single model interface is the
 * model for it): turn a user message into the exact prompt the model sees, score answer
 * letters from one forward pass, or generate an answer.
 */

/** A user message after the model's chat template, ready to evaluate. */
export interface PreparedPrompt {
  /** The templated prompt as text (special tokens written as their text). Part of the cache key. */
  text: string;
  /** Tokens of the whole templated prompt. */
  tokens: number[];
  /**
   * Token index where each segment ends (last entry = tokens.length). Segments are evaluated
   * as separate batches, always, so that reusing a segment already in the KV cache gives
   * exactly the numbers of evaluating it again.
   */
  segmentEnds: number[];
  /** What the prompt was made from (generation re-renders the chat from these). */
  userMessage: string;
  system?: string;
  /** Earlier turns of a conversation (absent: one user message). */
  history?: readonly ChatTurn[];
  /** Text the answer starts with, after the answer start (absent: none). */
  answerPrefix?: string;
  /** "letters": ends where the final answer begins (after an empty thinking block or in the
   * final channel for reasoning models); "generate": ends at the assistant turn's start. */
  mode: PromptMode;
}

export type PromptMode = "letters" | "generate";

/**
 * How a user message is prepared: the persona's system message, the mode, and optionally earlier
 * turns of a conversation and a prefix the answer starts with. Backends that render the model's
 * own chat template (embedded llama.cpp, llama-server) take all of them, so a conversation is
 * the same tokens on both; chat APIs (OpenAI-compatible chat, Ollama) send a conversation as
 * its messages and refuse an answer prefix with a one-line UserError (`refuseConversation`).
 */
export interface PrepareOptions {
  system?: string;
  mode: PromptMode;
  history?: readonly ChatTurn[];
  answerPrefix?: string;
}

/**
 * For backends that send chat messages (chat APIs): an answer prefix (an assistant turn to
 * continue) is refused, not dropped, and so is a conversation where the backend sends one
 * prompt string (`history: false`, e.g. a raw completions API). A conversation on a chat API
 * is sent as its messages: system, the earlier turns, the user message.
 */
export function refuseConversation(engine: string, opts: PrepareOptions, can: { history: boolean }): void {
  if (opts.answerPrefix)
    throw new UserError(
      `the ${engine} backend cannot continue an assistant's answer prefix (this suite's letters need one); use --protocol paper (generated answers), or run on the embedded backend (a .gguf model) or llama-server:URL`,
    );
  if (!can.history && opts.history && opts.history.length > 0)
    throw new UserError(
      `the ${engine} backend sends one prompt string and cannot send a conversation; use its chat API, or run on the embedded backend (a .gguf model) or llama-server:URL`,
    );
}

/** Probability of one answer letter, summed over every single-token spelling of it. */
export interface LetterScore {
  letter: string;
  /** Raw probability (full-vocabulary softmax) summed over spellings. */
  p: number;
  /** Raw probability per spelling, keyed by the spelling's text (e.g. "A", " A"). */
  spellings: Record<string, number>;
}

export interface LetterScores {
  /** Renormalized over the letters: sums to 1 (unless every letter has zero mass). */
  probs: Record<string, number>;
  /** Total raw probability the letters received together (how much the model "answered"). */
  mass: number;
  perLetter: LetterScore[];
  /** The most likely token overall, as text, and its probability (to see what else it wanted to say). */
  topToken: { text: string; p: number };
  /** How the numbers were computed, e.g. "segments:3/softmax-f64", "top-logprobs:20", "sampled:20@1". */
  method: string;
  /** Server backends: letters that were not among the top-N tokens (their probability is 0). */
  notFound?: string[];
  /**
   * Server backends reading letters from the top-K logprobs: the letters none of whose
   * spellings the server returned, and a bound on the probability they could hold. Absent when
   * every letter was returned, and for engines that see the whole distribution or sample.
   */
  unseen?: UnseenLetters;
  /**
   * llama-server: letter spellings (of a vocabulary it knows whole) the server's top-K did not
   * return and that were counted as 0, because together they could not move a probability by
   * more than 1e-6. Absent when every spelling was read.
   */
  leftOut?: LeftOutSpellings;
  evaluatedTokens: number;
  reusedTokens: number;
}

/**
 * Letters outside a server's top-K list and how much probability they could hold (see
 * `unseenLetters` in ./http/letters.ts). Every token the server did not return has probability
 * at most the K-th returned one's, so the bound is sound for the spellings assumed.
 */
export interface UnseenLetters {
  /** Letters none of whose spellings were among the returned tokens (their `p` is 0). */
  letters: string[];
  /** K: how many top tokens were asked for. */
  topK: number;
  /** How many tokens the server returned (with the chosen token, where it was not among them). */
  returned: number;
  /**
   * Upper bound on the raw probability of any one token that was not returned: the K-th largest
   * returned probability when K or more came back; 0 when fewer came back and they sum to 1
   * (the list is the whole support); the smallest returned probability when fewer came back
   * without summing to 1 (a server that cut its list short).
   */
  tokenBound: number;
  /**
   * Single-token spellings assumed per unseen letter: the most distinct spellings any letter
   * had among the returned tokens, at least 2 ("A" and " A").
   */
  spellingsPerLetter: number;
  /**
   * Upper bound on the total raw probability of the unseen letters:
   * min(letters x spellingsPerLetter x tokenBound, 1 - the returned tokens' total).
   * (Only the second term holds whatever the spellings; the first assumes spellingsPerLetter.)
   */
  massBound: number;
}

/**
 * Letter spellings left out of a top-K read (llama-server, whose vocabulary is known, so the
 * spellings are exact, not assumed): each has probability at most the K-th returned token's.
 */
export interface LeftOutSpellings {
  /** How many single-token spellings of the letters were not among the returned tokens (counted as 0). */
  spellings: number;
  /** K: the top tokens asked for and returned. */
  topK: number;
  /** The K-th returned probability: no token left out has more. */
  tokenBound: number;
  /** Upper bound on their total raw probability: min(spellings x tokenBound, 1 - the returned total). */
  massBound: number;
}

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  seed?: number;
}

export interface Generation {
  /** The final answer text (for reasoning models, after the thinking part). */
  text: string;
  /** The thinking text, if the model produced one. */
  thoughts?: string;
  generatedTokens: number;
  finishReason: "stop" | "maxTokens";
  evaluatedTokens: number;
}

/** Everything about the backend that changes an answer, and what the manifest shows. */
export interface BackendInfo {
  engine: string;
  engineVersion: string;
  model: {
    name: string;
    path?: string;
    sha256: string;
    bytes?: number;
    architecture?: string;
    description?: string;
  };
  /** Load options that can change outputs (part of the cache key). */
  outputOptions: Record<string, unknown>;
  /** Load options that do not (reported only). */
  otherOptions: Record<string, unknown>;
  chatWrapper: string;
  /** How a reasoning model's answer is reached for letter scoring (manifest). */
  reasoning: "none" | "empty-thinking-block" | "final-channel";
  hardware: Record<string, unknown>;
  /**
   * How letter probabilities are obtained: "logprobs" (from the model's token probabilities)
   * or "sampled" (the share of K sampled answers, for servers without logprobs). Absent =
   * logprobs. Server backends also put it in `outputOptions`, so it is part of the cache key.
   */
  letterMethod?: "logprobs" | "sampled";
}

export interface EvaluationCounters {
  /** Forward passes asked of the model (letter scorings + generations). */
  evaluations: number;
  /** Prompt tokens actually evaluated. */
  evaluatedTokens: number;
  /** Prompt tokens served from the KV cache (prefix reuse). */
  reusedTokens: number;
  /** Tokens generated. */
  generatedTokens: number;
}

export interface Backend {
  readonly info: BackendInfo;
  readonly counters: EvaluationCounters;
  /** How many questions can run at once (context sequences, server slots). */
  readonly laneCount: number;
  /**
   * Whether a lane keeps shared prompt segments between questions (llama.cpp's KV cache).
   * The runner then gives a lane whole prefix groups; otherwise questions go one by one to
   * whichever lane is free.
   */
  readonly reusesPrefixes: boolean;
  /** Apply the chat template to a user message given as segments (concatenated = the message). */
  prepare(segments: string[], opts: PrepareOptions): PreparedPrompt;
  scoreLetters(prompt: PreparedPrompt, letters: string[], lane?: number): Promise<LetterScores>;
  generate(prompt: PreparedPrompt, opts: GenerateOptions, lane?: number): Promise<Generation>;
  close(): Promise<void>;
  /**
   * Throws a UserError when the model this backend loaded is no longer what answers (its file
   * was replaced or rewritten since load, or a server's canary answer changed). The runner calls
   * it, with the lane that answered, before it keeps an answer (runner/answer.ts), so no answer
   * of other weights enters a record or the cache.
   */
  verifyModel?(lane?: number): void | Promise<void>;
}

export function newCounters(): EvaluationCounters {
  return { evaluations: 0, evaluatedTokens: 0, reusedTokens: 0, generatedTokens: 0 };
}

/**
 * A backend could not answer after its retries (server down, timeouts, 5xx, malformed
 * replies). Never cached, never recorded: the run stops with its records intact and says how
 * to resume.
 */
export class BackendUnavailableError extends Error {
  constructor(
    message: string,
    readonly endpoint?: string,
  ) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}

/** Why one question got no answer (a run records it as failed; see `QuestionFailedError`). */
export interface QuestionFailure {
  /** One line: what the server (or engine) said. */
  reason: string;
  /** The HTTP status, when there was one. */
  status: number | null;
}

/**
 * One question cannot be answered, the same way every time, while the backend as a whole
 * works: e.g. llama-server's output parser rejects this answer (HTTP 500 "does not match the
 * expected ... format"), or the server rejects this prompt (HTTP 400 "prompt too long"). A run
 * records the question as failed (never as an answer, never cached) and goes on; `--resume
 * --retry-failed` asks it again. Server backends also signal this with a `RequestRejectedError`
 * whose `perQuestion` is true (./http/errors.ts). Outside a run it is a one-line user error.
 */
export class QuestionFailedError extends UserError {
  constructor(
    readonly failure: QuestionFailure,
    readonly endpoint?: string,
  ) {
    super(failure.reason);
    this.name = "QuestionFailedError";
  }
}
