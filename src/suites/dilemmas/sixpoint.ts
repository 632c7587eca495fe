/**
 * The 6-point protocol of the cultural-political persona study (the dilemma suite): for one
 * moral dilemma, a value question (how strongly the model agrees with the value at stake, six
 * options from Strongly agree to Strongly disagree) and an action question (which of six
 * graded actions it would choose). The two are asked in separate conversations, each answered
 * with one letter, the options shuffled on every repeat.
 *
 * Each prompt is returned as segments whose concatenation is the user message, like the
 * letters protocol (src/protocol/letters.ts):
 *   0. the dilemma (role and situation), shared by the value and the action question,
 *   1. the question and the answer instruction, shared by every repeat,
 *   2. the lettered options (reordered on each repeat).
 * All wording lives in SIXPOINT_WORDING below.
 */
import type { Dilemma } from "./schema.js";
import { ACTION_GRADES, VALUE_SCALE } from "./schema.js";
import { UserError } from "../../util/errors.js";
import { LETTERS, type LettersPrompt } from "../../protocol/letters.js";

/**
 * The protocol's wording, in one table for review. Placeholders: {role}, {scenario},
 * {value}, {letters} (e.g. "A, B, C, D, E or F"), {letter}, {text}.
 */
export const SIXPOINT_WORDING = {
  /** Segment 0: who the respondent is and the situation. */
  dilemma: "You are {role}. {scenario}\n\n",
  /** Segment 1, value question (the study's wording, then the answer instruction). */
  valueQuestion:
    'How strongly do you agree or disagree with "{value}" in this context? Answer with the letter of your choice ({letters}) only.\n',
  /** Segment 1, action question. */
  actionQuestion:
    "Which of the following actions would you choose? Answer with the letter of your choice ({letters}) only.\n",
  /** Segment 2: one line per option (the last line ends without a newline). */
  option: "{letter}. {text}",
  optionSeparator: "\n",
} as const;

/**
 * Option keys per question, in scale order: the value question ("stated") position 1..6 =
 * index 0..5 (Strongly agree .. Strongly disagree); the action question grade 1..6 (strongly
 * aligning .. strongly opposing).
 */
export const SIXPOINT_OPTIONS: Readonly<Record<"stated" | "action", readonly string[]>> = {
  stated: VALUE_SCALE,
  action: ACTION_GRADES,
};

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => vars[key] ?? whole);
}

const SIX = LETTERS.slice(0, 6);
const LETTER_LIST = `${SIX.slice(0, -1).join(", ")} or ${SIX[SIX.length - 1]}`;

function checkOrder(order: readonly number[]): void {
  const ok =
    order.length === 6 && new Set(order).size === 6 && order.every((i) => Number.isInteger(i) && i >= 0 && i < 6);
  if (!ok)
    throw new UserError(
      `sixpoint prompt: option order ${JSON.stringify(order)} must list the six option indices 0-5 once each`,
    );
}

function dilemmaSegment(d: Dilemma): string {
  // Roles are written as noun phrases ("a nurse on a night shift"); "You are a nurse ...".
  return fill(SIXPOINT_WORDING.dilemma, { role: d.role.trim(), scenario: d.scenario.trim() });
}

function optionsSegment(texts: readonly string[]): string {
  return texts
    .map((text, i) => fill(SIXPOINT_WORDING.option, { letter: SIX[i]!, text }))
    .join(SIXPOINT_WORDING.optionSeparator);
}

/** The value question: the six scale labels as lettered options, `order[position] = scale index`. */
export function valueQuestionPrompt(d: Dilemma, order: readonly number[]): LettersPrompt {
  checkOrder(order);
  const stem = fill(SIXPOINT_WORDING.valueQuestion, { value: d.value, letters: LETTER_LIST });
  return {
    segments: [dilemmaSegment(d), stem, optionsSegment(order.map((i) => SIXPOINT_OPTIONS.stated[i]!))],
    letters: [...SIX],
  };
}

/** The action question: the six graded actions as lettered options, `order[position] = grade index`. */
export function actionQuestionPrompt(d: Dilemma, order: readonly number[]): LettersPrompt {
  checkOrder(order);
  const stem = fill(SIXPOINT_WORDING.actionQuestion, { letters: LETTER_LIST });
  const texts = order.map((i) => d.actions[ACTION_GRADES[i]!].trim());
  return { segments: [dilemmaSegment(d), stem, optionsSegment(texts)], letters: [...SIX] };
}
