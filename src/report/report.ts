/**
 * What every suite's report.md is made of: sections (heading, words, display tables and the
 * same numbers as data tables), the cell formats, the paper's country table, the run summary,
 * the bootstrap and dropped-answer sentences, and the markdown layout. Each suite builds its
 * own sections (src/suites/<name>/report.ts); nothing here knows a suite.
 *
 * A section's display tables (formatted strings, the paper's layout) go into report.md; its
 * data tables (raw numbers, one figure per column, intervals as ci_low / ci_high) are what
 * `valuelens report --format csv|json` writes to `tables/<name>.csv|json`.
 */
import type { Manifest } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import { COUNTRY_ABBREV, PAPER_COUNTRY_ORDER } from "../protocol/values.js";
import { renderTable, type Cell, type Table } from "./table.js";

/** Low and high ends of an interval (a bootstrap `Interval` fits). */
export interface IntervalBounds {
  low: number | null;
  high: number | null;
}

export interface CountryTableRow {
  label: string;
  byCountry: Record<string, number>;
  overall?: number | null;
  /** optional intervals, printed as `0.46 [0.41, 0.52]` */
  intervals?: { byCountry?: Readonly<Record<string, IntervalBounds | undefined>>; overall?: IntervalBounds | null };
}

export interface CountryTableOptions {
  /** column order (default: the paper's, PAPER_COUNTRY_ORDER); countries in the rows but not here are appended */
  countries?: readonly string[];
  /** header text per country (default: COUNTRY_ABBREV, the paper's US CA GER ...) */
  abbrev?: Readonly<Record<string, string | undefined>>;
  /** decimals (default 2, as in the paper) */
  digits?: number;
}

export const MISSING = "–";

/** Escape text for a markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? MISSING : x.toFixed(digits);
}

/** `0.46 [0.41, 0.52]`, or just `0.46` without a (defined) interval. */
export function fmtInterval(x: number | null | undefined, iv: IntervalBounds | null | undefined, digits = 2): string {
  const point = fmt(x, digits);
  if (point === MISSING || iv === null || iv === undefined || iv.low === null || iv.high === null) return point;
  return `${point} [${fmt(iv.low, digits)}, ${fmt(iv.high, digits)}]`;
}

/** Text for a display table: backslashes escaped here, pipes and newlines by renderTable. */
export function text(s: string): string {
  return s.replace(/\\/g, "\\\\");
}

/** A number for a data table: null where it is undefined or not finite. */
export function num(x: number | null | undefined): Cell {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}

/** The ends of an interval for a data table (ci_low, ci_high). */
export function ci(iv: IntervalBounds | undefined): [Cell, Cell] {
  return [iv?.low ?? null, iv?.high ?? null];
}

/** A table as markdown, without its last newline. */
export function markdownTable(t: Table): string {
  return renderTable(t, "md").replace(/\n$/, "");
}

function abbrevOf(country: string, abbrev: Readonly<Record<string, string | undefined>>): string {
  return abbrev[country] ?? country;
}

const DEFAULT_ABBREV = COUNTRY_ABBREV as unknown as Readonly<Record<string, string | undefined>>;

/** The paper's country table as a display Table (one row per model). */
export function countryTable(rows: readonly CountryTableRow[], opts: CountryTableOptions = {}): Table {
  const digits = opts.digits ?? 2;
  const abbrev = opts.abbrev ?? DEFAULT_ABBREV;
  const columns: string[] = [...(opts.countries ?? PAPER_COUNTRY_ORDER)];
  const known = new Set(columns);
  for (const r of rows) {
    for (const c of Object.keys(r.byCountry)) {
      if (!known.has(c)) {
        known.add(c);
        columns.push(c);
      }
    }
  }
  return {
    name: "alignment-rate-by-country",
    title: "Alignment rate by country (F1)",
    columns: ["model", ...columns.map((c) => text(abbrevOf(c, abbrev))), "overall"],
    rows: rows.map((r) => [
      text(r.label),
      ...columns.map((c) => fmtInterval(r.byCountry[c], r.intervals?.byCountry?.[c], digits)),
      fmtInterval(r.overall, r.intervals?.overall, digits),
    ]),
  };
}

/**
 * The paper's country table: `| model | US | CA | GER | UK | FR | AUS | IND | PAK | PHIL | NGA | EG | UG | overall |`,
 * one row per run, alignment rate per country with 2 decimals (with `[low, high]` when the row
 * carries intervals), "–" where a country is not in the run.
 */
export function renderCountryTable(rows: readonly CountryTableRow[], opts: CountryTableOptions = {}): string {
  return markdownTable(countryTable(rows, opts));
}

/** One section of the report: heading, words, the display table(s) and their data tables. */
export interface ReportSection {
  heading: string;
  /** paragraphs before the table */
  before: string[];
  display: Table[];
  /** paragraphs after the table */
  after: string[];
  /** the same numbers for csv/json (raw numbers, intervals as ci_low / ci_high) */
  data: Table[];
}

/** A closing section of bullet points (the notes, definitions). */
export interface BulletSection {
  heading: string;
  /** paragraphs before the bullets */
  before: string[];
  bullets: string[];
}

export interface ReportDocument {
  title: string;
  /** paragraphs right under the title, before any table (warnings) */
  preface: string[];
  sections: readonly ReportSection[];
  /** bullet sections after the tables (a heading without bullets is left out) */
  closing: readonly BulletSection[];
}

/**
 * report.md: the title, the preface, each section (a section of several tables titles each in
 * bold), then the closing bullet sections.
 */
export function renderReportDocument(doc: ReportDocument): string {
  const out: string[] = [`# ${doc.title}`, ""];
  for (const p of doc.preface) out.push(p, "");
  for (const s of doc.sections) {
    out.push(`## ${s.heading}`, "");
    for (const p of s.before) out.push(p, "");
    for (const t of s.display) {
      if (s.display.length > 1) out.push(`**${t.title}**`, "");
      out.push(markdownTable(t), "");
    }
    for (const p of s.after) out.push(p, "");
  }
  for (const c of doc.closing) {
    if (c.bullets.length === 0) continue;
    out.push(`## ${c.heading}`, "");
    for (const p of c.before) out.push(p, "");
    for (const b of c.bullets) out.push(`- ${b}`);
    out.push("");
  }
  return out.join("\n");
}

/** Bootstrap settings as metrics.json records them. */
export interface BootstrapWordsInput {
  samples: number;
  seed: number;
  level: number;
}

/** What the report says when the bootstrap was disabled. */
export const NO_INTERVALS = "No intervals: the bootstrap was disabled (--bootstrap 0).";

/**
 * The sentence under a table with intervals: `In brackets: 95% percentile bootstrap intervals
 * (1000 resamples, seed 7)` followed by `resampled` (what the suite resampled, with its own
 * punctuation); NO_INTERVALS when the bootstrap was disabled.
 */
export function bootstrapWords(b: BootstrapWordsInput, resampled: string): string {
  if (b.samples === 0) return NO_INTERVALS;
  return `In brackets: ${Math.round(b.level * 100)}% percentile bootstrap intervals (${b.samples} resamples, seed ${b.seed})${resampled}`;
}

/** The run summary's bootstrap entry; `over` names what was resampled (e.g. " over dilemmas"). */
export function bootstrapSummary(b: BootstrapWordsInput, over = ""): string {
  return b.samples > 0
    ? `${b.samples} resamples, seed ${b.seed}, ${Math.round(b.level * 100)}% percentile intervals${over}`
    : "disabled (--bootstrap 0)";
}

/** `reason: n, reason: n` for the reasons that dropped anything. */
export function droppedReasonsText(byReason: Readonly<Record<string, number>>): string {
  return Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r}: ${n}`)
    .join(", ");
}

/** The model's name: the backend's, else the config's. */
export function modelNameOf(manifest: Manifest): string {
  return (manifest.backend.model as { name?: string } | undefined)?.name ?? manifest.config.model;
}

/** The run summary's model and engine entries. */
export function backendSummary(manifest: Manifest): { "model sha256": string; engine: string } {
  return {
    "model sha256": String(manifest.backend.modelSha256 ?? "").slice(0, 16),
    engine: String(manifest.backend.engineVersion ?? manifest.backend.engine ?? ""),
  };
}

/** The mean letter mass of the letters records (3 decimals); undefined without any. */
export function meanLetterMass(records: readonly RunRecord[]): string | undefined {
  const mass = records.flatMap((r) => (r.letters ? [r.letters.mass] : []));
  return mass.length > 0 ? (mass.reduce((a, b) => a + b, 0) / mass.length).toFixed(3) : undefined;
}

/** The "Run summary" section: one key/value row per entry. */
export function runSummarySection(summary: Readonly<Record<string, string | number>>): ReportSection {
  const rows = Object.entries(summary);
  return {
    heading: "Run summary",
    before: [],
    display: [
      {
        name: "run-summary",
        title: "Run summary",
        columns: ["key", "value"],
        rows: rows.map(([k, v]) => [text(k), text(String(v))]),
      },
    ],
    after: [],
    data: [
      { name: "run-summary", title: "Run summary", columns: ["key", "value"], rows: rows.map(([k, v]) => [k, v]) },
    ],
  };
}
