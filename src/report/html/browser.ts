/**
 * The question browser's data: what a suite says about each of its questions (`Suite.browse`),
 * and how it is embedded in a page compactly. A full VIA run holds about 74,000 records, so the
 * page never holds one object per record: every string goes once into a string table, the
 * filter fields are columns of indices into it, a repeat is a short array of numbers, and the
 * page's script renders only the rows on screen (./client.ts).
 */

/** One filter of the browser: a field every question has (country, topic, value, task, persona, ...). */
export interface BrowserFacet {
  /** the key of `BrowserItem.fields` */
  key: string;
  /** what the filter is called on the page */
  label: string;
}

/** One turn of a prompt as the model gets it (before the chat template). */
export interface PromptTurn {
  role: "system" | "user" | "assistant";
  /** the text, in segments (shared segments are stored once in the page) */
  segments: readonly string[];
}

/** One repeat of a question: its option order and the answer. */
export interface BrowserRepeat {
  repeat: number;
  /** option keys in the order shown */
  order: readonly string[];
  /** the answer letters, position i = order[i] (letters elicitation) */
  letters?: readonly string[];
  /** each option key's probability, renormalized over the letters (letters elicitation) */
  probs?: Readonly<Record<string, number>>;
  /** the probability the letters got together, before renormalizing */
  mass?: number;
  /** the generated answer (generate elicitation) */
  raw?: string;
  /** what was read from it, or why nothing could be */
  parse?: string;
  score: number | null;
  /** why the question has no answer (a failed question) */
  failed?: string;
}

/** A text shown beside others (e.g. the action chosen and its explanation). */
export interface BrowserText {
  label: string;
  text: string;
}

/** One question (all its repeats). */
export interface BrowserItem {
  /** the question's id without the repeat */
  id: string;
  /** the value of each facet (missing: shown as "–") */
  fields: Readonly<Record<string, string>>;
  /** the prompt of its first repeat; absent when it cannot be rebuilt (e.g. an imported run) */
  prompt?: readonly PromptTurn[];
  repeats: readonly BrowserRepeat[];
  /** the question's verdict in a word ("aligned", "misaligned", ...), or absent */
  verdict?: string;
  /** one line on how the verdict was reached (the stated and action figures) */
  verdictNote?: string;
  /** texts shown side by side (for a misaligned cell: the action chosen and its explanation) */
  side?: readonly BrowserText[];
}

/** What a suite gives the browser: its filters and its questions, in record order. */
export interface BrowserData {
  facets: readonly BrowserFacet[];
  items: readonly BrowserItem[];
  /** a line shown above the list (e.g. why prompts are missing) */
  note?: string;
}

/**
 * The page's form of BrowserData: `s` the string table; `f` facets as [key, label]; `c[k][i]`
 * the string index of facet k of item i; `id`, `v` (verdict), `vn` (verdict note) string
 * indices per item (-1: none); `p[i]` the prompt as [role, segment...] runs: a role index
 * followed by its segment count and that many segment indices; `sd[i]` side texts as
 * [label, text, ...] indices; `r[i]` the repeats, each
 * [repeat, order, letters, mass, score, raw, parse, failed, ...probs] with order and letters
 * as the index of their "\u001f"-joined string and probs in order's order (4 decimals).
 */
export interface EncodedBrowser {
  s: string[];
  f: [string, string][];
  n: number;
  c: number[][];
  id: number[];
  v: number[];
  vn: number[];
  p: number[][];
  sd: number[][];
  r: (number | null)[][][];
  note: number;
}

/** Field separator inside a joined option order or letters string. */
export const JOIN = "\u001f";

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** BrowserData in its compact page form (see EncodedBrowser). */
export function encodeBrowser(data: BrowserData): EncodedBrowser {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const s = (text: string | undefined): number => {
    if (text === undefined) return -1;
    let i = index.get(text);
    if (i === undefined) {
      i = strings.length;
      strings.push(text);
      index.set(text, i);
    }
    return i;
  };
  const roles = { system: 0, user: 1, assistant: 2 } as const;
  const out: EncodedBrowser = {
    s: strings,
    f: data.facets.map((f) => [f.key, f.label]),
    n: data.items.length,
    c: data.facets.map(() => []),
    id: [],
    v: [],
    vn: [],
    p: [],
    sd: [],
    r: [],
    note: -1,
  };
  out.note = s(data.note);
  for (const item of data.items) {
    out.id.push(s(item.id));
    data.facets.forEach((f, k) => out.c[k]!.push(s(item.fields[f.key] ?? "–")));
    out.v.push(s(item.verdict));
    out.vn.push(s(item.verdictNote));
    const p: number[] = [];
    for (const turn of item.prompt ?? []) {
      p.push(roles[turn.role], turn.segments.length, ...turn.segments.map((x) => s(x)));
    }
    out.p.push(p);
    out.sd.push((item.side ?? []).flatMap((t) => [s(t.label), s(t.text)]));
    out.r.push(
      item.repeats.map((r) => {
        const row: (number | null)[] = [
          r.repeat,
          s(r.order.join(JOIN)),
          r.letters ? s(r.letters.join(JOIN)) : -1,
          r.mass === undefined ? null : Number(r.mass.toPrecision(4)),
          r.score === null ? null : round(r.score, 4),
          s(r.raw),
          s(r.parse),
          s(r.failed),
        ];
        if (r.probs) for (const k of r.order) row.push(round(r.probs[k] ?? 0, 4));
        return row;
      }),
    );
  }
  return out;
}
