/**
 * compare.md and the comparison tables of VIA runs (--format csv|json): the paper's country table with
 * one row per run first, then the differences between runs with paired intervals, how much
 * the runs agree, and the alignment distance per country.
 *
 * Every table is built in two styles: "text" (markdown: an estimate and its interval in one
 * cell, "–" where missing) and "data" (csv/json: one numeric column per figure, intervals as
 * `low` / `high` columns, null where missing).
 */
import type { AnswerAgreement, CompareResult, DecisionAgreement } from "./compare.js";
import type { Interval } from "../../metrics/bootstrap.js";
import { COUNTRY_ABBREV } from "../../protocol/values.js";
import { intervalCells, levelText, notesSection, type TableStyle } from "../../report/compare.js";
import { renderTable, type Cell, type Table } from "../../report/table.js";

const MISSING = "–";

function abbrev(country: string): string {
  return COUNTRY_ABBREV[country] ?? country;
}

function num(x: number | null | undefined, digits: number, signed = false): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return MISSING;
  const s = x.toFixed(digits);
  // -0.000 -> 0.000; a sign on every non-zero difference
  if (Number(s) === 0) return (0).toFixed(digits);
  return signed && x > 0 ? `+${s}` : s;
}

/** Small non-negative figures (MAD, JSD): fixed where readable, scientific below 0.001. */
function small(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return MISSING;
  if (x === 0) return "0";
  return Math.abs(x) < 0.001 ? x.toExponential(2) : x.toFixed(4);
}

function intervalText(iv: Interval | undefined, digits: number, signed = false): string {
  if (iv === undefined || iv.estimate === null) return MISSING;
  const est = num(iv.estimate, digits, signed);
  if (iv.low === null || iv.high === null) return est;
  return `${est} [${num(iv.low, digits, signed)}, ${num(iv.high, digits, signed)}]`;
}

export function alignmentRateTable(r: CompareResult, style: TableStyle): Table {
  const countries = r.countries;
  if (style === "text") {
    return {
      name: "alignment-rate-by-country",
      title: `Alignment rate by country (F1, ${levelText(r)} bootstrap interval)`,
      columns: ["model", ...countries.map(abbrev), "overall"],
      rows: r.alignmentRate.map((x) => [
        x.label,
        ...countries.map((c) => intervalText(x.byCountry[c], 2)),
        intervalText(x.overall, 2),
      ]),
    };
  }
  return {
    name: "alignment-rate-by-country",
    title: "Alignment rate by country (F1) with bootstrap intervals",
    columns: ["model", ...[...countries.map(abbrev), "overall"].flatMap((c) => [c, `${c} low`, `${c} high`])],
    rows: r.alignmentRate.map((x) => [
      x.label,
      ...countries.flatMap((c) => intervalCells(x.byCountry[c])),
      ...intervalCells(x.overall),
    ]),
  };
}

export function rateDifferenceTable(r: CompareResult, style: TableStyle): Table {
  const rows: Cell[][] = [];
  for (const p of r.pairs) {
    const rateA = r.alignmentRate[p.a]!;
    const rateB = r.alignmentRate[p.b]!;
    const entries: [string, Interval | undefined, Interval | undefined, Interval | undefined][] = [
      ...r.countries.map(
        (c) =>
          [c, rateA.byCountry[c], rateB.byCountry[c], p.difference.byCountry[c]] as [
            string,
            Interval | undefined,
            Interval | undefined,
            Interval | undefined,
          ],
      ),
      ["overall", rateA.overall, rateB.overall, p.difference.overall],
    ];
    for (const [country, a, b, d] of entries) {
      if (style === "text") {
        const label = country === "overall" ? "overall" : `${country} (${abbrev(country)})`;
        const interval =
          d === undefined || d.low === null || d.high === null
            ? MISSING
            : `[${num(d.low, 3, true)}, ${num(d.high, 3, true)}]`;
        rows.push([
          `${p.labelB} − ${p.labelA}`,
          label,
          num(a?.estimate, 2),
          num(b?.estimate, 2),
          num(d?.estimate, 3, true),
          interval,
        ]);
      } else {
        rows.push([p.labelA, p.labelB, country, a?.estimate ?? null, b?.estimate ?? null, ...intervalCells(d)]);
      }
    }
  }
  return style === "text"
    ? {
        name: "alignment-rate-differences",
        title: `Differences in alignment rate (b − a, paired ${levelText(r)} bootstrap interval)`,
        columns: ["b − a", "country", "rate a", "rate b", "difference", `${levelText(r)} interval`],
        rows,
      }
    : {
        name: "alignment-rate-differences",
        title: "Differences in alignment rate (b - a) with paired bootstrap intervals",
        columns: ["run a", "run b", "country", "rate a", "rate b", "difference", "low", "high"],
        rows,
      };
}

function kappaText(d: DecisionAgreement): string {
  if (d.kappa === null) return MISSING;
  return d.convention === "both-constant-equal" ? `${num(d.kappa, 3)} (both constant)` : num(d.kappa, 3);
}

export function decisionAgreementTable(r: CompareResult, style: TableStyle): Table {
  const rows: Cell[][] = [];
  for (const p of r.pairs) {
    for (const d of p.decisions) {
      rows.push(
        style === "text"
          ? [p.labelA, p.labelB, d.task, d.n, num(d.observed, 3), kappaText(d)]
          : [p.labelA, p.labelB, d.task, d.n, d.observed, d.expected, d.kappa, d.convention ?? null],
      );
    }
  }
  return {
    name: "decision-agreement",
    title: "Agreement of binarized decisions (Cohen's kappa)",
    columns:
      style === "text"
        ? ["run a", "run b", "task", "cells", "agreement", "kappa"]
        : ["run a", "run b", "task", "cells", "agreement", "expected agreement", "kappa", "convention"],
    rows,
  };
}

function flipText(a: AnswerAgreement): string {
  const left = a.flips.excluded > 0 ? `; ${a.flips.excluded} without an answer left out` : "";
  return a.flips.share === null
    ? a.flips.excluded > 0
      ? `${MISSING} (${a.flips.excluded} without an answer)`
      : MISSING
    : `${num(a.flips.share, 3)} (${a.flips.flips}/${a.flips.n}${left})`;
}

export function answerAgreementTable(r: CompareResult, style: TableStyle): Table {
  const rows: Cell[][] = [];
  for (const p of r.pairs) {
    for (const a of p.answers) {
      rows.push(
        style === "text"
          ? [p.labelA, p.labelB, a.task, a.records, flipText(a), small(a.meanAbsDiff), small(a.jsd)]
          : [
              p.labelA,
              p.labelB,
              a.task,
              a.records,
              a.flips.n,
              a.flips.flips,
              a.flips.share,
              a.probabilityRecords,
              a.meanAbsDiff,
              a.jsd,
            ],
      );
    }
  }
  return {
    name: "answer-agreement",
    title: "Answer agreement (top-answer flips, probability differences)",
    columns:
      style === "text"
        ? ["run a", "run b", "task", "records", "top answer flips", "mean abs. diff.", "JSD (bits)"]
        : [
            "run a",
            "run b",
            "task",
            "records",
            "compared",
            "flips",
            "flip share",
            "probability records",
            "mean abs diff",
            "jsd bits",
          ],
    rows,
  };
}

export function alignmentDistanceTable(r: CompareResult, style: TableStyle): Table {
  const countries = r.countries;
  if (style === "text") {
    return {
      name: "alignment-distance-by-country",
      title: `Mean alignment distance by country (${levelText(r)} bootstrap interval)`,
      columns: ["model", ...countries.map(abbrev), "overall"],
      rows: r.alignmentDistance.map((d) => [
        d.label,
        ...countries.map((c) => intervalText(d.byCountry[c], 3)),
        intervalText(d.overall, 3),
      ]),
    };
  }
  return {
    name: "alignment-distance-by-country",
    title: "Mean alignment distance by country with bootstrap intervals",
    columns: ["model", ...[...countries.map(abbrev), "overall"].flatMap((c) => [c, `${c} low`, `${c} high`])],
    rows: r.alignmentDistance.map((d) => [
      d.label,
      ...countries.flatMap((c) => intervalCells(d.byCountry[c])),
      ...intervalCells(d.overall),
    ]),
  };
}

export function runsTable(r: CompareResult, style: TableStyle): Table {
  return {
    name: "runs",
    title: "Runs",
    columns: ["model", "run directory", "model sha256", "status", "protocol", "repeats", "seed", "records", "compared"],
    rows: r.runs.map((x) => [
      x.label,
      x.dir,
      style === "text" ? (x.modelSha256 ?? "").slice(0, 16) || MISSING : x.modelSha256,
      x.status,
      x.protocol,
      x.repeats,
      x.seed,
      x.records,
      x.compared,
    ]),
  };
}

/** Every table of a comparison, in the order compare.md shows them. */
export function compareTables(r: CompareResult, style: TableStyle = "data"): Table[] {
  return [
    alignmentRateTable(r, style),
    rateDifferenceTable(r, style),
    decisionAgreementTable(r, style),
    answerAgreementTable(r, style),
    alignmentDistanceTable(r, style),
    runsTable(r, style),
  ];
}

/** compare.md */
export function renderCompareMarkdown(r: CompareResult): string {
  const [rate, diff, decisions, answers, distance, runs] = compareTables(r, "text") as [
    Table,
    Table,
    Table,
    Table,
    Table,
    Table,
  ];
  const md = (t: Table) => renderTable(t, "md").trimEnd();
  const out: string[] = [];
  out.push(`# valuelens compare: ${r.runs.map((x) => x.label).join(" vs ")}`, "");

  out.push(`## ${rate.title}`, "");
  const scope = r.questions.partial
    ? `**Partial comparison (--allow-partial):** only the ${r.questions.shared} questions that every run holds are compared, and every figure below uses only those. `
    : `All runs asked the same ${r.questions.shared} questions. `;
  out.push(
    scope +
      "F1 between the binarized stated-value and action matrices per (country, topic), averaged over a country's topics and over all scenarios, as in the paper's table. " +
      (r.bootstrap.samples > 0
        ? `Brackets: ${levelText(r)} percentile bootstrap interval (${r.bootstrap.samples} resamples, seed ${r.bootstrap.seed}; a country resamples its values, overall resamples scenarios).`
        : "No intervals (--bootstrap 0)."),
    "",
  );
  out.push(md(rate), "");

  out.push("## Differences in alignment rate", "");
  out.push(
    "Alignment rate of run b minus run a. The interval is a paired bootstrap: every draw resamples the same values (per country) or scenarios (overall) for both runs, so what the runs share cancels.",
    "",
  );
  out.push(md(diff), "");

  out.push("## Agreement of binarized decisions (Cohen's kappa)", "");
  out.push(
    "Per task, the (country, topic, value) cells of each run's matrix binarized at 0.5 (below 0.5 = agree = 0), and Cohen's kappa between the two runs over the cells both hold. " +
      "Both runs constant and equal: kappa 1 by convention.",
    "",
  );
  out.push(md(decisions), "");

  out.push("## Answer agreement", "");
  out.push(
    r.protocol === "letters"
      ? "Records paired by question id (repeat included). Top answer flips: share of records whose most probable option differs. " +
          "Mean abs. diff.: mean over options of |p - q|, averaged over records. JSD: Jensen-Shannon divergence of the option probabilities in bits (0 to 1), averaged over records."
      : "Records paired by question id. Top answer flips: share of answers whose parsed choice (Task 2) or parsed ratings (Task 1) differ; unparseable answers are left out. " +
          "The paper protocol records no option probabilities: no MAD or JSD.",
    "",
  );
  out.push(md(answers), "");

  out.push(`## ${distance.title}`, "");
  out.push(
    "Per value, |mean stated score - mean action score| over the country's topics, then the mean over values (scores in [0,1]); overall: the mean over every (country, value). " +
      (r.bootstrap.samples > 0 ? "Brackets: bootstrap interval resampling values." : ""),
    "",
  );
  out.push(md(distance), "");

  out.push("## Runs", "");
  out.push(md(runs), "");

  out.push(...notesSection(r.notes));
  return out.join("\n");
}
