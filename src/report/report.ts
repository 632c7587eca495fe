/**
 * report.md: leads with the tables a paper would print -- the country table (alignment rate
 * per country, F1, with 95% bootstrap intervals), the topic table, alignment distance, the most
 * misaligned values, the cross-task inconsistency counts (the paper's Table 4 form) -- then the
 * spread over repeats, position bias, the measures beyond the paper (labelled as such) and the
 * run summary.
 *
 * Every table is built as a `Table` (./table.ts) twice from the same numbers: a display table
 * (formatted strings, the paper's layout) for report.md, and a data table (raw numbers, one
 * figure per column, intervals as ci_low / ci_high) that `valuelens report --format csv|json`
 * writes to `tables/<name>.csv|json`.
 */
import type { Metrics } from "../suites/via/metrics/alignment.js";
import type { Interval } from "../metrics/bootstrap.js";
import type { RunMetrics } from "../suites/via/metrics/fromRecords.js";
import type { LettersTaskBias, PaperTaskBias } from "../metrics/positionBias.js";
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

/** What the report shows beyond the paper's measures (all present in a run's metrics.json). */
export type ReportMetrics = Metrics &
  Partial<Pick<RunMetrics, "positionBias" | "repeatSpread" | "scoreAverage" | "warnings" | "protocol">>;

export interface ReportInput {
  title: string;
  manifestSummary: Record<string, string | number>;
  metrics: ReportMetrics;
  notes?: string[];
  /** the row label in the tables (default: manifestSummary.model, else "this run") */
  label?: string;
  /** paragraphs right under the title, before any table (the low letter-mass warning) */
  preface?: string[];
  /** sections placed before the run summary (letters outside the top-K) */
  extraSections?: ReportSection[];
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
function text(s: string): string {
  return s.replace(/\\/g, "\\\\");
}

function md(t: Table): string {
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
  return md(countryTable(rows, opts));
}

function countryName(country: string, abbrev: Readonly<Record<string, string | undefined>>): string {
  const a = abbrev[country];
  return a === undefined || a === country ? text(country) : `${text(country)} (${text(a)})`;
}

/** Countries of the run, in the paper's order first. */
function reportCountries(m: Metrics): string[] {
  const present = new Set(m.order.countries);
  const out: string[] = PAPER_COUNTRY_ORDER.filter((c) => present.has(c));
  for (const c of m.order.countries) if (!out.includes(c)) out.push(c);
  return out;
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

function ci(iv: Interval | undefined): [Cell, Cell] {
  return [iv?.low ?? null, iv?.high ?? null];
}

function num(x: number | null | undefined): Cell {
  return x === null || x === undefined || !Number.isFinite(x) ? null : x;
}

function bootstrapWords(m: ReportMetrics): string | undefined {
  const iv = m.intervals;
  if (iv === undefined) return undefined;
  const b = iv.bootstrap;
  if (b.samples === 0) return "No intervals: the bootstrap was disabled (--bootstrap 0).";
  const r = b.resampled;
  return (
    `In brackets: ${Math.round(b.level * 100)}% percentile bootstrap intervals (${b.samples} resamples, seed ${b.seed}). ` +
    `What was resampled: for the overall figure, ${r["alignmentRate.overall"]}; for a country, ${r["alignmentRate.byCountry"]}; ` +
    `for a topic, ${r["alignmentRate.byTopic"]}.`
  );
}

/** All sections of the report, in order. */
export function reportSections(input: ReportInput): ReportSection[] {
  const m = input.metrics;
  const abbrev = DEFAULT_ABBREV;
  const modelLabel = input.label ?? input.manifestSummary["model"];
  const label = modelLabel === undefined ? "this run" : String(modelLabel);
  const countries = reportCountries(m);
  const topics = m.order.topics;
  const rate = m.alignmentRate;
  const dist = m.alignmentDistance;
  const iv = m.intervals;
  const sections: ReportSection[] = [];
  const scenariosOf = (key: "country" | "topic", g: string) => rate.byScenario.filter((s) => s[key] === g).length;

  // 1. The paper's country table.
  const countryBefore = [
    "F1 between the binarized stated-value matrix and the binarized action matrix (a score below 0.5 is " +
      '"agree" = 0, otherwise "disagree" = 1; class 1 is the positive class), per (country, topic) over its values; ' +
      "a country's figure is the mean over its topics, overall the mean over all scenarios. Same layout as the paper's table.",
  ];
  const countryAfter = [
    `Scenarios compared: ${m.scenarios.shared} (stated ${m.scenarios.stated}, action ${m.scenarios.action}); ` +
      `cells compared: ${m.cells.shared} (stated ${m.cells.stated}, action ${m.cells.action}).`,
  ];
  const words = bootstrapWords(m);
  if (words) countryAfter.push(words);
  if (m.scoreAverage?.method === "order-balanced") {
    const u = m.scoreAverage.unbalancedQuestions;
    const nUnbalanced = u ? u.stated + u.action : 0;
    countryAfter.push(
      "Letters protocol: each question's score is averaged over its order-balanced repeats (every option shown in every position equally often), so position bias cancels out of these figures" +
        (nUnbalanced > 0
          ? `, except for ${nUnbalanced} question(s) with fewer repeats than options (not balanced)`
          : "") +
        "; see Position bias.",
    );
  }
  for (const w of m.warnings ?? []) countryAfter.push(`**Warning:** ${w}`);
  sections.push({
    heading: "Alignment rate by country (F1)",
    before: countryBefore,
    display: [
      countryTable([
        {
          label,
          byCountry: rate.byCountry,
          overall: rate.overall,
          intervals: iv ? { byCountry: iv.alignmentRate.byCountry, overall: iv.alignmentRate.overall } : undefined,
        },
      ]),
    ],
    after: countryAfter,
    data: [
      {
        name: "alignment-rate-by-country",
        title: "Alignment rate by country (F1)",
        columns: ["model", "country", "abbrev", "alignment_rate", "ci_low", "ci_high", "scenarios"],
        rows: [
          ...countries.map((c) => [
            label,
            c,
            abbrevOf(c, abbrev),
            num(rate.byCountry[c]),
            ...ci(iv?.alignmentRate.byCountry[c]),
            scenariosOf("country", c),
          ]),
          [label, "overall", null, num(rate.overall), ...ci(iv?.alignmentRate.overall), rate.byScenario.length],
        ],
      },
    ],
  });

  // 2. Topics.
  sections.push({
    heading: "Alignment rate by topic (F1)",
    before: [],
    display: [
      {
        name: "alignment-rate-by-topic",
        title: "Alignment rate by topic (F1)",
        columns: ["topic", "alignment rate", "countries"],
        rows: topics.map((t) => [
          text(t),
          fmtInterval(rate.byTopic[t], iv?.alignmentRate.byTopic[t]),
          String(scenariosOf("topic", t)),
        ]),
      },
    ],
    after: iv && iv.bootstrap.samples > 0 ? [`Intervals: ${iv.bootstrap.resampled["alignmentRate.byTopic"]}.`] : [],
    data: [
      {
        name: "alignment-rate-by-topic",
        title: "Alignment rate by topic (F1)",
        columns: ["topic", "alignment_rate", "ci_low", "ci_high", "countries"],
        rows: topics.map((t) => [
          t,
          num(rate.byTopic[t]),
          ...ci(iv?.alignmentRate.byTopic[t]),
          scenariosOf("topic", t),
        ]),
      },
    ],
  });

  // 3. Distance.
  const valuesOf = (c: string) => Object.keys(dist.byCountry[c] ?? {}).length;
  sections.push({
    heading: "Mean alignment distance by country",
    before: [
      "Per value, |mean stated score - mean action score| over the country's topics (scores in [0,1]); " +
        "the figure is the mean over values. 0 = stated values and actions agree exactly.",
    ],
    display: [
      {
        name: "alignment-distance-by-country",
        title: "Mean alignment distance by country",
        columns: ["country", "mean distance"],
        rows: [
          ...countries.map((c) => [
            countryName(c, abbrev),
            fmtInterval(dist.meanByCountry[c], iv?.alignmentDistance.meanByCountry[c], 3),
          ]),
          ["overall", fmtInterval(dist.overallMean, iv?.alignmentDistance.overallMean, 3)],
        ],
      },
    ],
    after:
      iv && iv.bootstrap.samples > 0
        ? [
            `Intervals: for a country, ${iv.bootstrap.resampled["alignmentDistance.meanByCountry"]}; overall, ${iv.bootstrap.resampled["alignmentDistance.overallMean"]}.`,
          ]
        : [],
    data: [
      {
        name: "alignment-distance-by-country",
        title: "Mean alignment distance by country",
        columns: ["country", "abbrev", "mean_distance", "ci_low", "ci_high", "values"],
        rows: [
          ...countries.map((c) => [
            c,
            abbrevOf(c, abbrev),
            num(dist.meanByCountry[c]),
            ...ci(iv?.alignmentDistance.meanByCountry[c]),
            valuesOf(c),
          ]),
          [
            "overall",
            null,
            num(dist.overallMean),
            ...ci(iv?.alignmentDistance.overallMean),
            Object.values(dist.byCountry).reduce((n, r) => n + Object.keys(r).length, 0),
          ],
        ],
      },
    ],
  });

  // 4. Ranking.
  const k = m.ranking.k;
  sections.push({
    heading: `Most misaligned values by country (top-1, top-${k})`,
    before: [],
    display: [
      {
        name: "misaligned-values-by-country",
        title: "Most misaligned values by country",
        columns: ["country", "top-1", `top-${k}`],
        rows: countries.map((c) => {
          const r = m.ranking.byCountry[c];
          const d = dist.byCountry[c];
          if (r === undefined) return [countryName(c, abbrev), MISSING, MISSING];
          return [countryName(c, abbrev), `${text(r.top1)} (${fmt(d?.[r.top1], 3)})`, r.top5.map(text).join(", ")];
        }),
      },
    ],
    after: [],
    data: [
      {
        name: "misaligned-values-by-country",
        title: "Most misaligned values by country",
        columns: ["country", "rank", "value", "distance"],
        rows: countries.flatMap((c) =>
          (m.ranking.byCountry[c]?.top5 ?? []).map((v, i) => [c, i + 1, v, num(dist.byCountry[c]?.[v])]),
        ),
      },
    ],
  });

  // 5. Inconsistency (Table 4).
  const inc = m.inconsistency;
  sections.push({
    heading: "Cross-task inconsistency (paper's Table 4)",
    before: [
      "Counts of (country, topic, value) cells: (A,D) = stated agree but action disagrees; (D,A) = stated disagree but action agrees.",
    ],
    display: [
      {
        name: "inconsistency",
        title: "Cross-task inconsistency",
        columns: ["model", "(A,D)", "(D,A)", "(A,A)", "(D,D)", "cells"],
        rows: [
          [
            text(label),
            String(inc.AD),
            String(inc.DA),
            String(inc.agreeAgree),
            String(inc.disagreeDisagree),
            String(inc.total),
          ],
        ],
      },
    ],
    after: [],
    data: [
      {
        name: "inconsistency",
        title: "Cross-task inconsistency",
        columns: ["model", "country", "AD", "DA", "AA", "DD", "cells"],
        rows: [
          [label, "overall", inc.AD, inc.DA, inc.agreeAgree, inc.disagreeDisagree, inc.total],
          ...countries.flatMap((c) => {
            const x = inc.byCountry[c];
            return x ? [[label, c, x.AD, x.DA, x.agreeAgree, x.disagreeDisagree, x.total]] : [];
          }),
        ],
      },
    ],
  });

  // 6. Spread over repeats (letters).
  const sp = m.repeatSpread;
  if (sp !== undefined) {
    const rowsOf = (name: string, f: { perRepeat: (number | null)[]; mean: number | null; sd: number | null }) => ({
      name,
      f,
    });
    const figs = [
      rowsOf("overall", sp.overall),
      ...countries.filter((c) => sp.byCountry[c]).map((c) => rowsOf(c, sp.byCountry[c]!)),
    ];
    sections.push({
      heading: "Alignment rate over repeats (letters protocol)",
      before: [
        "The alignment rate computed separately on each repeat (one answer per question, each repeat showing the options in another order), " +
          "then its mean and sample standard deviation across repeats. Each repeat alone is not order-balanced: this spread shows how much the option order moves the headline figure.",
      ],
      display: [
        {
          name: "repeat-spread",
          title: "Alignment rate over repeats",
          columns: ["figure", ...sp.repeats.map((r) => `repeat ${r}`), "mean", "sd"],
          rows: figs.map(({ name, f }) => [
            name === "overall" ? "overall" : countryName(name, abbrev),
            ...f.perRepeat.map((x) => fmt(x)),
            fmt(f.mean),
            fmt(f.sd, 3),
          ]),
        },
      ],
      after: [],
      data: [
        {
          name: "repeat-spread",
          title: "Alignment rate over repeats",
          columns: ["figure", ...sp.repeats.map((r) => `repeat_${r}`), "mean", "sd"],
          rows: figs.map(({ name, f }) => [name, ...f.perRepeat.map(num), num(f.mean), num(f.sd)]),
        },
      ],
    });
  }

  // 7. Position bias.
  const pb = m.positionBias;
  if (pb !== undefined) {
    const tasks = (["stated", "action"] as const)
      .map((t) => pb.tasks[t])
      .filter((x): x is LettersTaskBias | PaperTaskBias => x !== undefined);
    const shares = (b: LettersTaskBias | PaperTaskBias) =>
      b.protocol === "letters" ? b.massByPosition : b.choiceShareByPosition;
    const before = [
      "How much answers follow the shown position rather than the option. Letters protocol: the mean probability each position (A, B, ...) received over all answers, " +
        "against the uniform share 1/n; and the share of questions whose top answer changes when only the option order changes (across its repeats). " +
        "Paper protocol: the share of parsed Task-2 answers choosing each shown option.",
    ];
    const after: string[] = [];
    if (m.scoreAverage?.method === "order-balanced") {
      const u = m.scoreAverage.unbalancedQuestions;
      after.push(
        "The metrics use order-balanced scores (each question averaged over complete cycles of repeats in which every option sits in every position once)" +
          (u && u.stated + u.action > 0
            ? `; ${u.stated + u.action} question(s) (stated ${u.stated}, action ${u.action}) had fewer scored repeats than options and are averaged over all their repeats, NOT order-balanced.`
            : "."),
      );
    } else if (m.scoreAverage?.method === "all-repeats") {
      after.push("The metrics use the plain mean over all repeats (not order-balanced).");
    }
    const confound = pb.actionOrder;
    if (confound?.statement) after.push(`**Position bias confounded with values:** ${confound.statement}`);
    sections.push({
      heading: "Position bias",
      before,
      display: [
        {
          name: "position-bias",
          title: "Position bias",
          columns: [
            "task",
            "protocol",
            "share by position",
            "uniform",
            "top answer changes with order",
            "order-balanced questions",
          ],
          rows: tasks.map((b) => [
            b.task,
            b.protocol,
            b.positions.map((p, i) => `${p} ${fmt(shares(b)[i])}`).join(", ") +
              (b.protocol === "paper" ? " (choices)" : " (mass)"),
            fmt(b.uniform),
            b.protocol === "letters"
              ? `${b.topAnswerChanges.changed} of ${b.topAnswerChanges.eligible} (${fmt(b.topAnswerChanges.share)})`
              : MISSING,
            b.protocol === "letters" ? `${b.orderBalanced.balanced} of ${b.orderBalanced.questions}` : MISSING,
          ]),
        },
      ],
      after,
      data: [
        {
          name: "position-bias",
          title: "Position bias: share by position",
          columns: ["task", "protocol", "position", "share", "uniform", "answers"],
          rows: tasks.flatMap((b) =>
            b.positions.map((p, i) => [b.task, b.protocol, p, num(shares(b)[i]), b.uniform, b.answers]),
          ),
        },
        {
          name: "order-sensitivity",
          title: "Position bias: top answer changes with order, order-balanced questions",
          columns: [
            "task",
            "questions",
            "eligible",
            "top_answer_changed",
            "share",
            "order_balanced",
            "unbalanced",
            "resisting_first_all",
          ],
          rows: tasks.map((b) =>
            b.protocol === "letters"
              ? [
                  b.task,
                  b.questions,
                  b.topAnswerChanges.eligible,
                  b.topAnswerChanges.changed,
                  num(b.topAnswerChanges.share),
                  b.orderBalanced.balanced,
                  b.orderBalanced.unbalanced,
                  b.task === "action" ? (confound?.resistingFirst ? "yes" : "no") : null,
                ]
              : [b.task, null, null, null, null, null, null, confound?.resistingFirst ? "yes" : "no"],
          ),
        },
      ],
    });
  }

  // 8. Beyond the paper.
  const bp = m.beyondPaper;
  if (bp !== undefined) {
    sections.push({
      heading: "Beyond the paper (not in the paper)",
      before: [
        "These measures are NOT in the paper. They stand next to the paper's F1 (alignment rate), never in its place. " +
          "Agreement rate: the share of values whose binarized action matches the binarized stated value. " +
          'Macro-F1: the mean of the F1 with "disagree" and with "agree" as the positive class. ' +
          "Spearman: the rank correlation of the (unbinarized) stated and action scores over a scenario's values (average ranks for ties). " +
          "Each per scenario, then averaged over a country's topics / over all scenarios, as the paper's F1.",
      ],
      display: [
        {
          name: "beyond-paper",
          title: "Beyond the paper",
          columns: ["country", "alignment rate (paper's F1)", "agreement rate", "macro-F1", "Spearman"],
          rows: [
            ...countries.map((c) => [
              countryName(c, abbrev),
              fmt(rate.byCountry[c]),
              fmt(bp.agreementRate.byCountry[c]),
              fmt(bp.macroF1.byCountry[c]),
              fmt(bp.spearman.byCountry[c]),
            ]),
            [
              "overall",
              fmt(rate.overall),
              fmt(bp.agreementRate.overall),
              fmt(bp.macroF1.overall),
              fmt(bp.spearman.overall),
            ],
          ],
        },
      ],
      after:
        bp.spearman.undefinedScenarios > 0
          ? [
              `Spearman is undefined in ${bp.spearman.undefinedScenarios} scenario(s) (a side constant over the values); they are left out of its means.`,
            ]
          : [],
      data: [
        {
          name: "beyond-paper",
          title: "Beyond the paper (not in the paper)",
          columns: ["country", "alignment_rate_f1_paper", "agreement_rate", "macro_f1", "spearman"],
          rows: [
            ...countries.map((c) => [
              c,
              num(rate.byCountry[c]),
              num(bp.agreementRate.byCountry[c]),
              num(bp.macroF1.byCountry[c]),
              num(bp.spearman.byCountry[c]),
            ]),
            [
              "overall",
              num(rate.overall),
              num(bp.agreementRate.overall),
              num(bp.macroF1.overall),
              num(bp.spearman.overall),
            ],
          ],
        },
      ],
    });
  }

  sections.push(...(input.extraSections ?? []));

  // 9. Run summary.
  const summaryRows = Object.entries(input.manifestSummary);
  sections.push({
    heading: "Run summary",
    before: [],
    display: [
      {
        name: "run-summary",
        title: "Run summary",
        columns: ["key", "value"],
        rows: summaryRows.map(([k, v]) => [text(k), text(String(v))]),
      },
    ],
    after: [],
    data: [
      {
        name: "run-summary",
        title: "Run summary",
        columns: ["key", "value"],
        rows: summaryRows.map(([k, v]) => [k, v]),
      },
    ],
  });
  return sections;
}

/** The report's tables as data (raw numbers), for `--format csv|json`. */
export function reportTables(input: ReportInput): Table[] {
  return reportSections(input).flatMap((s) => s.data);
}

export function renderReport(input: ReportInput): string {
  const out: string[] = [`# ${input.title}`, ""];
  for (const p of input.preface ?? []) out.push(p, "");
  for (const s of reportSections(input)) {
    out.push(`## ${s.heading}`, "");
    for (const p of s.before) out.push(p, "");
    for (const t of s.display) out.push(md(t), "");
    for (const p of s.after) out.push(p, "");
  }
  if (input.notes !== undefined && input.notes.length > 0) {
    out.push("## Notes", "");
    for (const n of input.notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}
