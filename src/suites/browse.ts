/**
 * Helpers of the suites' question browsers (`Suite.browse`, src/report/html/browser.ts): a
 * record's repeat as the browser shows it, a question's prompt, and records grouped into
 * questions (all repeats of one question id).
 */
import type { Question } from "../questions/question.js";
import type { Manifest } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import type { BrowserRepeat, PromptTurn } from "../report/html/browser.js";

/** What `Suite.browse` is given: the run, and its questions when they can be rebuilt. */
export interface BrowseInput<D, M, R extends RunRecord> {
  manifest: Manifest;
  metrics: M;
  records: readonly R[];
  /** the run's questions by id, rebuilt from its config and dataset (absent: imported run, dataset missing) */
  questions?: ReadonlyMap<string, Question>;
  /** the run's dataset, when it is on this machine and is the file the run was made on */
  dataset?: D;
}

/** A question id without its repeat ("…/r3"). */
export function baseIdOf(id: string): string {
  return id.replace(/\/r\d+$/, "");
}

/** Records grouped by question (base id), in the order the first repeat of each appears. */
export function groupByQuestion<R extends RunRecord>(records: readonly R[]): { id: string; records: R[] }[] {
  const groups = new Map<string, R[]>();
  for (const r of records) {
    const id = baseIdOf(r.id);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = []));
    g.push(r);
  }
  return [...groups].map(([id, rs]) => ({ id, records: rs.sort((a, b) => a.repeat - b.repeat) }));
}

/** The prompt of a question as the model gets it before its chat template. */
export function promptOf(q: Question): PromptTurn[] {
  const turns: PromptTurn[] = [];
  if (q.system !== undefined) turns.push({ role: "system", segments: [q.system] });
  for (const t of q.history ?? []) turns.push({ role: t.role, segments: [t.content] });
  turns.push({ role: "user", segments: q.segments });
  if (q.answerPrefix !== undefined) turns.push({ role: "assistant", segments: [q.answerPrefix] });
  return turns;
}

/** The parse of a generated answer in words. */
function parseText(p: NonNullable<RunRecord["parsed"]>): string {
  if (!p.ok) return `not read: ${p.reason}`;
  const { ok: _ok, ...rest } = p;
  return JSON.stringify(rest);
}

/** A record as one repeat of its question. */
export function repeatOf(r: RunRecord): BrowserRepeat {
  return {
    repeat: r.repeat,
    order: r.order,
    ...(r.letters ? { letters: Object.keys(r.letters.probs) } : {}),
    ...(r.optionProbs ? { probs: r.optionProbs } : {}),
    ...(r.letters ? { mass: r.letters.mass } : {}),
    ...(r.generation ? { raw: r.generation.raw } : {}),
    ...(r.parsed ? { parse: parseText(r.parsed) } : {}),
    score: r.score,
    ...(r.failed
      ? { failed: `${r.failed.reason}${r.failed.status !== null ? ` (status ${r.failed.status})` : ""}` }
      : {}),
  };
}

/** The persona a record was asked under, as a filter value. */
export function personaLabel(p: { id: string; name?: string } | undefined): string {
  if (!p) return "none";
  return p.name ?? p.id;
}
