/** A question as `valuelens prompts` prints it: id, system message (if any), the user prompt, the option order and letters. */
import type { Question } from "../questions/question.js";
import type { PromptLine } from "./suite.js";

export function promptLineOf(q: Question): PromptLine {
  return {
    id: q.id,
    ...(q.system !== undefined ? { system: q.system } : {}),
    prompt: q.segments.join(""),
    order: q.order,
    ...(q.letters ? { letters: q.letters } : {}),
  };
}
