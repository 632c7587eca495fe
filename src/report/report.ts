/**
 * report.md: leads with the paper's country table (alignment rate per country, F1), then the
 * topic table, alignment distance, the most misaligned values, the cross-task inconsistency
 * counts (the paper's Table 4 form) and the run summary.
 */
import type { Metrics } from "../metrics/alignment.js";
import { COUNTRY_ABBREV, PAPER_COUNTRY_ORDER } from "../protocol/values.js";

export interface CountryTableRow {
  label: string;
  byCountry: Record<string, number>;
  overall?: number | null;
}

export interface CountryTableOptions {
  /** column order (default: the paper's, PAPER_COUNTRY_ORDER); countries in the rows but not here are appended */
  countries?: readonly string[];
  /** header text per country (default: COUNTRY_ABBREV, the paper's US CA GER ...) */
  abbrev?: Readonly<Record<string, string | undefined>>;
  /** decimals (default 2, as in the paper) */
  digits?: number;
}

export interface ReportInput {
  title: string;
  manifestSummary: Record<string, string | number>;
  metrics: Metrics;
  notes?: string[];
  /** the row label in the tables (default: manifestSummary.model, else "this run") */
  label?: string;
}

export const MISSING = "–";

/** Escape text for a markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function fmt(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? MISSING : x.toFixed(digits);
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => "---")), ...rows.map(row)].join("\n");
}

function abbrevOf(country: string, abbrev: Readonly<Record<string, string | undefined>>): string {
  return abbrev[country] ?? country;
}

const DEFAULT_ABBREV = COUNTRY_ABBREV as unknown as Readonly<Record<string, string | undefined>>;

/**
 * The paper's country table: `| model | US | CA | GER | UK | FR | AUS | IND | PAK | PHIL | NGA | EG | UG | overall |`,
 * one row per run, alignment rate per country with 2 decimals, "–" where a country is not in the run.
 */
export function renderCountryTable(rows: readonly CountryTableRow[], opts: CountryTableOptions = {}): string {
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
  const header = ["model", ...columns.map((c) => cell(abbrevOf(c, abbrev))), "overall"];
  const body = rows.map((r) => [cell(r.label), ...columns.map((c) => fmt(r.byCountry[c], digits)), fmt(r.overall, digits)]);
  return table(header, body);
}

function countryName(country: string, abbrev: Readonly<Record<string, string | undefined>>): string {
  const a = abbrev[country];
  return a === undefined || a === country ? cell(country) : `${cell(country)} (${cell(a)})`;
}

/** Countries of the run, in the paper's order first. */
function reportCountries(m: Metrics): string[] {
  const present = new Set(m.order.countries);
  const out: string[] = PAPER_COUNTRY_ORDER.filter((c) => present.has(c));
  for (const c of m.order.countries) if (!out.includes(c)) out.push(c);
  return out;
}

export function renderReport(input: ReportInput): string {
  const m = input.metrics;
  const abbrev = DEFAULT_ABBREV;
  const modelLabel = input.label ?? input.manifestSummary["model"];
  const label = modelLabel === undefined ? "this run" : String(modelLabel);
  const countries = reportCountries(m);
  const topics = m.order.topics;
  const rate = m.alignmentRate;
  const dist = m.alignmentDistance;
  const out: string[] = [];

  out.push(`# ${input.title}`, "");

  out.push("## Alignment rate by country (F1)", "");
  out.push(
    "F1 between the binarized stated-value matrix and the binarized action matrix (a score below 0.5 is " +
      '"agree" = 0, otherwise "disagree" = 1; class 1 is the positive class), per (country, topic) over its values; ' +
      "a country's figure is the mean over its topics, overall the mean over all scenarios. Same layout as the paper's table.",
    "",
  );
  out.push(renderCountryTable([{ label, byCountry: rate.byCountry, overall: rate.overall }]), "");
  out.push(
    `Scenarios compared: ${m.scenarios.shared} (stated ${m.scenarios.stated}, action ${m.scenarios.action}); ` +
      `cells compared: ${m.cells.shared} (stated ${m.cells.stated}, action ${m.cells.action}).`,
    "",
  );

  out.push("## Alignment rate by topic (F1)", "");
  out.push(
    table(
      ["topic", "alignment rate", "countries"],
      topics.map((t) => [cell(t), fmt(rate.byTopic[t]), String(rate.byScenario.filter((s) => s.topic === t).length)]),
    ),
    "",
  );

  out.push("## Mean alignment distance by country", "");
  out.push(
    "Per value, |mean stated score - mean action score| over the country's topics (scores in [0,1]); " +
      "the figure is the mean over values. 0 = stated values and actions agree exactly.",
    "",
  );
  out.push(
    table(
      ["country", "mean distance"],
      [...countries.map((c) => [countryName(c, abbrev), fmt(dist.meanByCountry[c], 3)]), ["overall", fmt(dist.overallMean, 3)]],
    ),
    "",
  );

  out.push(`## Most misaligned values by country (top-1, top-${m.ranking.k})`, "");
  out.push(
    table(
      ["country", "top-1", `top-${m.ranking.k}`],
      countries.map((c) => {
        const r = m.ranking.byCountry[c];
        const d = dist.byCountry[c];
        if (r === undefined) return [countryName(c, abbrev), MISSING, MISSING];
        const top1 = `${cell(r.top1)} (${fmt(d?.[r.top1], 3)})`;
        return [countryName(c, abbrev), top1, r.top5.map(cell).join(", ")];
      }),
    ),
    "",
  );

  const inc = m.inconsistency;
  out.push("## Cross-task inconsistency (paper's Table 4)", "");
  out.push(
    "Counts of (country, topic, value) cells: (A,D) = stated agree but action disagrees; (D,A) = stated disagree but action agrees.",
    "",
  );
  out.push(
    table(
      ["model", "(A,D)", "(D,A)", "(A,A)", "(D,D)", "cells"],
      [[cell(label), String(inc.AD), String(inc.DA), String(inc.agreeAgree), String(inc.disagreeDisagree), String(inc.total)]],
    ),
    "",
  );

  out.push("## Run summary", "");
  out.push(
    table(
      ["key", "value"],
      Object.entries(input.manifestSummary).map(([k, v]) => [cell(k), cell(String(v))]),
    ),
    "",
  );

  if (input.notes !== undefined && input.notes.length > 0) {
    out.push("## Notes", "");
    for (const n of input.notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}
