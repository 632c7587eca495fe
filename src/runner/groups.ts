import type { Question } from "../questions/questions.js";

/**
 * Prefix grouping: consecutive questions of one task, country and topic share their first
 * segment (the scenario context), and the repeats of a question share the first two. A group
 * runs on one lane in order, so the lane's KV cache keeps the shared segments.
 */
export function prefixGroups(questions: readonly Question[]): Question[][] {
  const groups: Question[][] = [];
  let key: string | undefined;
  for (const q of questions) {
    const k = `${q.protocol}\u0000${q.task}\u0000${q.country}\u0000${q.topic}`;
    if (k !== key) {
      groups.push([]);
      key = k;
    }
    groups[groups.length - 1]!.push(q);
  }
  return groups;
}
