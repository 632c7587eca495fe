/**
 * The few-shot conversation of the prediction experiment, byte for byte as the paper's code
 * builds it (../shared/protocol/prediction-vectors.json): a system message, then for each
 * training example a user turn `Predict the Action: '<action>'` and an assistant turn that shows
 * the label and, per mode, the attributions and the reason; then the query as the last user turn.
 *
 * The separators are the paper's, irregular as they are: `attribution` puts two spaces before
 * its newline (`Label: True  \n Action Attribution: [...]`), the other modes one. The action is
 * quoted with `'` without escaping (an apostrophe inside stays as it is); the attributions are
 * Python's `repr` of the list (src/suites/predict/pythonRepr.ts).
 */
import { z } from "zod";
import { pythonListRepr } from "./pythonRepr.js";
import type { ExampleFields } from "./viaFields.js";

/** What the predictor is shown of each training example, besides the action and its label. */
export const PREDICT_MODES = ["default", "attribution", "explanation", "attribution_explanation"] as const;
export type PredictMode = (typeof PREDICT_MODES)[number];
export const PredictModeSchema = z.enum(PREDICT_MODES);

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The paper's system message (its indentation and trailing newline included). */
export const PREDICT_SYSTEM_PROMPT =
  "You are an AI trained to solve specific tasks based on examples. \n" +
  "    You are a action predictor. Given a textual action, predict if an agent will perform it or not:\n" +
  "    1. The overall label (True/False)\n" +
  "    3. Reason for the assessment\n" +
  "    Format your response exactly like the examples.\n" +
  "    ";

/** The assistant prefix the letters elicitation scores the next token after. */
export const LABEL_PREFIX = "Label: ";

/** A training example: the VIA row's fields and the predicted model's choice. */
export interface TrainingExample {
  fields: ExampleFields;
  label: boolean;
}

/** The user turn of one action. */
export function userTurn(action: string): string {
  return `Predict the Action: '${action}'`;
}

/** The assistant turn of one training example in a mode. */
export function assistantTurn(mode: PredictMode, label: boolean, fields: ExampleFields): string {
  const head = `${LABEL_PREFIX}${label ? "True" : "False"}`;
  const attribution = `Action Attribution: ${pythonListRepr(fields.attributions)}`;
  const reason = `Reason: ${fields.explanation}`;
  switch (mode) {
    case "default":
      return head;
    case "attribution":
      return `${head}  \n ${attribution}`;
    case "explanation":
      return `${head} \n ${reason}`;
    case "attribution_explanation":
      return `${head} \n ${attribution} \n ${reason}`;
  }
}

/** The whole conversation: system message, the training examples in the given order, the query action. */
export function buildConversation(
  mode: PredictMode,
  examples: readonly TrainingExample[],
  queryAction: string,
): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: "system", content: PREDICT_SYSTEM_PROMPT }];
  for (const ex of examples) {
    messages.push({ role: "user", content: userTurn(ex.fields.action) });
    messages.push({ role: "assistant", content: assistantTurn(mode, ex.label, ex.fields) });
  }
  messages.push({ role: "user", content: userTurn(queryAction) });
  return messages;
}
