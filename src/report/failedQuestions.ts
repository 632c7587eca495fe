/**
 * What a report says about failed questions (records with `failed`: the backend gave no
 * answer, the same way on every try, while it answered others). They are left out of every
 * figure; the report opens with their count and lists their reasons in its notes.
 */
import type { RunRecord } from "../records/records.js";

/**
 * Failed questions (no answer; see RecordSchema.failed): a warning at the top of the report
 * and a note with their reasons. Undefined when none failed.
 */
export function failedQuestionsBlock(records: readonly RunRecord[]): { preface: string; note: string } | undefined {
  const failed = records.flatMap((r) => (r.failed ? [r.failed] : []));
  if (failed.length === 0) return undefined;
  const byReason = new Map<string, number>();
  for (const f of failed) byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + 1);
  const reasons = [...byReason].sort((a, b) => b[1] - a[1]);
  const shown = reasons.slice(0, 3).map(([reason, n]) => `${n} x ${reason}`);
  const more = reasons.length > 3 ? `; ${reasons.length - 3} other reasons` : "";
  const count = `${failed.length} question${failed.length === 1 ? "" : "s"} failed; excluded`;
  return {
    preface:
      `> **${count} from every figure.** The backend gave no answer to ${failed.length === 1 ? "it" : "them"} (it rejected the request or could not parse the answer, the same way on every try). ` +
      "`valuelens run ... --resume --retry-failed` asks them again.",
    note: `${count} from the metrics (records.jsonl keeps each with its reason): ${shown.join("; ")}${more}.`,
  };
}
