/**
 * Checks on the letters protocol's answers that both reports (VIA and dilemma runs) and the
 * runner show:
 *
 * - Letter mass: how much of the model's probability the answer letters got. A low mean means
 *   the model mostly wanted to say something else first (often markup such as "**", or "The"),
 *   usually a prompt-format problem; the renormalized figures then describe a small share of
 *   what it said. `valuelens run --min-letter-mass X` (default 0.5) sets the threshold.
 * - Letters outside a server's top-K list (records' `letters.unseen`): how many answers lacked
 *   letters and how far their renormalized figures and scores could move.
 */
import { letterOfToken } from "../backends/http/letters.js";
import type { RunRecord } from "../records/records.js";
import type { ReportSection } from "./report.js";
import type { Cell } from "./table.js";

/** `--min-letter-mass` when a run does not set one. */
export const DEFAULT_MIN_LETTER_MASS = 0.5;
/** The runner checks the mean letter mass once, over the first this-many letter answers. */
export const EARLY_LETTER_ANSWERS = 20;
/** What to look at when the letters get little mass. */
export const PROMPT_FORMAT_HINT =
  "check the model's prompt format with `valuelens check --model M` (its chat template, the exact prompts, what it starts with instead of a letter)";

type LetterRecord = RunRecord & { letters: NonNullable<RunRecord["letters"]> };

function letterRecords(records: readonly RunRecord[]): LetterRecord[] {
  return records.filter((r): r is LetterRecord => r.letters !== undefined);
}

/** The answer letters of a record: those it was scored on, else A, B, ... one per shown option. */
function lettersOf(r: LetterRecord): string[] {
  const scored = Object.keys(r.letters.probs);
  return scored.length > 0 ? scored : r.order.map((_, i) => String.fromCharCode(65 + i));
}

export interface LetterMassSummary {
  /** Letter answers counted. */
  answers: number;
  mean: number;
  min: number;
  /** Top tokens that are not one of the answer's letters, most frequent first (ties by text). */
  otherTopTokens: { text: string; answers: number }[];
}

/** Mean and min letter mass over the letter answers, and what the model said instead. Undefined without letter answers. */
export function letterMassSummary(records: readonly RunRecord[]): LetterMassSummary | undefined {
  const rs = letterRecords(records);
  if (rs.length === 0) return undefined;
  const masses = rs.map((r) => r.letters.mass);
  const counts = new Map<string, number>();
  for (const r of rs) {
    const text = r.letters.top.text;
    if (letterOfToken(text, lettersOf(r)) !== undefined) continue;
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const otherTopTokens = [...counts]
    .map(([text, answers]) => ({ text, answers }))
    .sort((a, b) => b.answers - a.answers || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return {
    answers: rs.length,
    mean: masses.reduce((a, b) => a + b, 0) / rs.length,
    min: Math.min(...masses),
    otherTopTokens,
  };
}

/** The run's letter-mass threshold: `--min-letter-mass` as recorded in the config, else the default. */
export function minLetterMassOf(config: { minLetterMass?: number | undefined }): number {
  return config.minLetterMass ?? DEFAULT_MIN_LETTER_MASS;
}

/** A token as text that shows its whitespace ("**", " The", "\n"). */
function quoted(token: string): string {
  return JSON.stringify(token);
}

/** Inline code for markdown, whatever backticks the text holds. */
function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(longest + 1);
  return longest > 0 || s.startsWith(" ") || s.endsWith(" ") ? `${fence} ${s} ${fence}` : `${fence}${s}${fence}`;
}

function percent(share: number): string {
  const p = share * 100;
  return p < 1 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

/**
 * The runner's one warning: over the first letter answers (up to EARLY_LETTER_ANSWERS), when
 * their mean letter mass is below the threshold. Undefined when it is not (or no letter answers).
 */
export function earlyLetterMassWarning(first: readonly RunRecord[], threshold: number): string | undefined {
  const s = letterMassSummary(first);
  if (s === undefined || !(s.mean < threshold)) return undefined;
  const top = s.otherTopTokens[0];
  const startsWith = top ? `; the model mostly starts with ${quoted(top.text)} (${top.answers} of ${s.answers})` : "";
  return (
    `WARNING: letters get ${percent(s.mean)} of the probability in the first ${s.answers} questions ` +
    `(mean letter mass ${s.mean.toFixed(3)} < ${threshold})${startsWith} — ${PROMPT_FORMAT_HINT}`
  );
}

/**
 * The warning block at the top of report.md when the run's mean letter mass (all letter
 * answers) is below the threshold; undefined otherwise.
 */
export function lowLetterMassBlock(records: readonly RunRecord[], threshold: number): string | undefined {
  const s = letterMassSummary(records);
  if (s === undefined || !(s.mean < threshold)) return undefined;
  const tokens = s.otherTopTokens.slice(0, 5).map((t) => `${code(quoted(t.text))} (${t.answers})`);
  return [
    `> **WARNING: low letter mass.** The answer letters got ${percent(s.mean)} of the model's probability on average ` +
      `(mean letter mass ${s.mean.toFixed(3)}, min ${s.min.toFixed(3)}, over ${s.answers} letter answers; below the threshold ${threshold}, \`--min-letter-mass\`).`,
    `> Every figure below is renormalized over the letters, so it describes that small share of what the model said, not what it mostly wanted to say.`,
    tokens.length > 0 ? `> Most frequent top tokens that are not letters (answers): ${tokens.join(", ")}.` : undefined,
    `> To fix: ${PROMPT_FORMAT_HINT}.`,
  ]
    .filter((l): l is string => l !== undefined)
    .join("\n");
}

export interface UnseenLettersSummary {
  /** Letter answers read from a server's top-K list. */
  topKAnswers: number;
  /** Answers with letters the server did not return, and a recorded bound. */
  answers: number;
  /** K (the largest recorded, when answers differ). */
  topK: number;
  /** Answers with letters not returned but no recorded bound (recorded before valuelens bounded them). */
  unbounded: number;
  /** Bound on how far renormalized figures and the score could move (records' unseen.shiftBound): largest, mean over `answers`. */
  maxShift: number;
  meanShift: number;
  /** Bound on the raw mass of the unseen letters: largest, mean over `answers`. */
  maxMass: number;
  meanMass: number;
}

const NOT_FOUND = /(?:^|;)not-found:/;

/** Over the records read from top-K logprobs; undefined when no answer lacked a letter. */
export function unseenLettersSummary(records: readonly RunRecord[]): UnseenLettersSummary | undefined {
  const topK = letterRecords(records).filter((r) => r.letters.method.startsWith("top-logprobs:"));
  const bounded = topK.map((r) => r.letters.unseen).filter((u): u is NonNullable<typeof u> => u !== undefined);
  const unbounded = topK.filter((r) => r.letters.unseen === undefined && NOT_FOUND.test(r.letters.method)).length;
  if (bounded.length === 0 && unbounded === 0) return undefined;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const shifts = bounded.map((u) => u.shiftBound);
  const masses = bounded.map((u) => u.massBound);
  return {
    topKAnswers: topK.length,
    answers: bounded.length,
    topK: Math.max(0, ...bounded.map((u) => u.topK)),
    unbounded,
    maxShift: Math.max(0, ...shifts),
    meanShift: mean(shifts),
    maxMass: Math.max(0, ...masses),
    meanMass: mean(masses),
  };
}

/** The report section "Letters outside the top-K"; undefined when every answer had all its letters. */
export function unseenLettersSection(records: readonly RunRecord[]): ReportSection | undefined {
  const s = unseenLettersSummary(records);
  if (s === undefined) return undefined;
  const k = s.topK > 0 ? String(s.topK) : "K";
  const before = [
    `The server returned the top ${k} tokens of the first answer token; letters none of whose spellings were among them count as 0. ` +
      `A token not returned has at most the ${k}-th returned token's probability, so an answer's missing letters hold at most d = ` +
      `(missing letters) x (spellings per letter: the most any returned letter had, at least 2) x that probability, and never more than the returned tokens leave. ` +
      `With the letter mass M found, each renormalized letter probability and the answer's score could move by at most d / (M + d). ` +
      `(Spellings of a returned letter that fell outside the top ${k} are not bounded here.)`,
  ];
  const cells = (x: number, digits: number) => (s.answers > 0 ? x.toFixed(digits) : "–");
  const after =
    s.unbounded > 0
      ? [
          `${s.unbounded} answer(s) lack letters but were recorded before valuelens bounded them (their letters.method says not-found; no bound).`,
        ]
      : [];
  const data: Cell[] = [
    s.topKAnswers,
    s.answers,
    s.unbounded,
    s.topK || null,
    ...(s.answers > 0 ? [s.maxShift, s.meanShift, s.maxMass, s.meanMass] : [null, null, null, null]),
  ];
  return {
    heading: `Letters outside the top-${k}`,
    before,
    display: [
      {
        name: "letters-outside-top-k",
        title: `Letters outside the top-${k}`,
        columns: [
          "letter answers (top-K)",
          "with letters not returned",
          "largest shift bound",
          "mean shift bound",
          "largest missing-mass bound",
          "mean missing-mass bound",
        ],
        rows: [
          [
            String(s.topKAnswers),
            String(s.answers + s.unbounded),
            cells(s.maxShift, 3),
            cells(s.meanShift, 3),
            cells(s.maxMass, 4),
            cells(s.meanMass, 4),
          ],
        ],
      },
    ],
    after: [
      `Shift bound: how far renormalized figures (optionProbs) and scores could move; means over the answers with letters not returned.`,
      ...after,
    ],
    data: [
      {
        name: "letters-outside-top-k",
        title: "Letters outside the top-K",
        columns: [
          "topk_answers",
          "answers_with_unseen_letters",
          "answers_without_bound",
          "top_k",
          "max_shift_bound",
          "mean_shift_bound",
          "max_mass_bound",
          "mean_mass_bound",
        ],
        rows: [data],
      },
    ],
  };
}
