import type { Question } from "../questions/questions.js";

/**
 * Prefix grouping: consecutive questions of one task, country and topic share their first
 * segment (the scenario context), and the repeats of a question share the first two. Dilemma
 * questions group by persona, dilemma and task (system message, dilemma, question stem).
 * A group runs on one lane in order, so the lane's KV cache keeps the shared segments.
 */
export function prefixGroups(questions: readonly Question[]): Question[][] {
  const groups: Question[][] = [];
  let key: string | undefined;
  for (const q of questions) {
    const k = [q.protocol, q.task, q.country, q.topic, q.persona?.id ?? "", q.dilemma ?? ""].join("\u0000");
    if (k !== key) {
      groups.push([]);
      key = k;
    }
    groups[groups.length - 1]!.push(q);
  }
  return groups;
}
