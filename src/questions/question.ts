/**
 * A question: one prompt on one repeat, as the engine (runner, backends, cache, records) sees
 * it. Suites build them (src/suites/<name>/questions.ts); the engine never looks inside a
 * suite's fields beyond those it needs to schedule, prompt and record.
 */
import type { PersonaRef } from "../records/records.js";

/** The suite and elicitation, as one tag: "letters" | "paper" (VIA), "sixpoint" (dilemmas), or a suite's own. */
export type Protocol = string;
export type Task = "stated" | "action";

export interface Question {
  id: string;
  protocol: Protocol;
  task: Task;
  country: string;
  topic: string;
  /** The value asked about; null for the paper's stated prompt, which asks all 56 at once. */
  value: string | null;
  /** Paper protocol prompt variant (0-7); null for letters. */
  variant: number | null;
  repeat: number;
  /** The user message in evaluation segments (context, value stem, options). */
  segments: string[];
  /** Option keys in the order shown: scale labels (stated) or "negative"/"positive" (action). */
  order: string[];
  /** Letters protocol: the answer letters, position i = order[i]. */
  letters?: string[];
  /** Action task: the VIA rows of the two actions. */
  viaRows?: { positive: number; negative: number };
  /** Paper protocol: generation cap. */
  maxTokens?: number;
  /** Dilemma suite: the dilemma's id. */
  dilemma?: string;
  /** The persona asked under (dilemma suite: always, "none" = baseline; VIA: when the run uses one). */
  persona?: PersonaRef;
  /** The persona's system message (none for the baseline). */
  system?: string;
  /**
   * Turns before the user message (a few-shot conversation), alternating user and assistant,
   * rendered with the model's chat template before `segments`. Absent: one user message.
   */
  history?: ChatTurn[];
  /** Text the assistant's answer starts with (after the template's answer start); the model continues it. */
  answerPrefix?: string;
  /** Generate: sampling instead of greedy decoding (absent: greedy, temperature 0). */
  sampling?: { temperature: number; seed: number };
  /** The suite's own record fields, written after the option order (its record schema types them). */
  recordFields?: Record<string, unknown>;
}

/** One earlier turn of a conversation. */
export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
}
