/**
 * compare.md and the comparison tables (--format csv|json) of dilemma-suite runs: alignment
 * rate and distance per run and persona kind, then each run's paired difference from the
 * first run. Two styles as in src/report/compare.ts: "text" (estimate and interval in one cell)
 * and "data" (one numeric column per figure, intervals as low / high columns).
 */
import type { DilemmaCompareResult, KindOrAll } from "./compare.js";
import { fmtInterval, MISSING } from "../../report/report.js";
import { fmtSigned, kindLabel } from "./report.js";
import { renderTable, type Table } from "../../report/table.js";
import { intervalCells, levelText, notesSection, type TableStyle } from "../../report/compare.js";

function kindText(kind: KindOrAll): string {
  return kind === "all" ? "all" : kindLabel(kind);
}

export function dilemmaAlignmentTable(r: DilemmaCompareResult, style: TableStyle): Table {
  if (style === "text") {
    return {
      name: "alignment-by-run-and-kind",
      title: `Alignment by run and persona kind (${levelText(r)} bootstrap interval)`,
      columns: ["model", "persona kind", "units", "alignment rate", "alignment distance"],
      rows: r.alignment.map((x) => [
        x.label,
        kindText(x.kind),
        x.figure.units,
        fmtInterval(x.figure.alignmentRate.estimate, x.figure.alignmentRate),
        fmtInterval(x.figure.alignmentDistance.estimate, x.figure.alignmentDistance, 3),
      ]),
    };
  }
  return {
    name: "alignment-by-run-and-kind",
    title: "Alignment by run and persona kind with bootstrap intervals",
    columns: [
      "model",
      "persona kind",
      "units",
      "dilemmas",
      "alignment rate",
      "rate low",
      "rate high",
      "alignment distance",
      "distance low",
      "distance high",
    ],
    rows: r.alignment.map((x) => [
      x.label,
      x.kind,
      x.figure.units,
      x.figure.dilemmas,
      ...intervalCells(x.figure.alignmentRate),
      ...intervalCells(x.figure.alignmentDistance),
    ]),
  };
}

export function dilemmaDifferenceTable(r: DilemmaCompareResult, style: TableStyle): Table {
  if (style === "text") {
    return {
      name: "alignment-differences",
      title: `Differences from the first run (b − a, paired ${levelText(r)} bootstrap interval)`,
      columns: ["b − a", "persona kind", "paired units", "Δ alignment rate", "Δ alignment distance"],
      rows: r.differences.map((d) => [
        `${d.labelB} − ${d.labelA}`,
        kindText(d.kind),
        d.units,
        d.units === 0 ? MISSING : fmtSigned(d.alignmentRate),
        d.units === 0 ? MISSING : fmtSigned(d.alignmentDistance, 3),
      ]),
    };
  }
  return {
    name: "alignment-differences",
    title: "Differences from the first run (b - a) with paired bootstrap intervals",
    columns: [
      "run a",
      "run b",
      "persona kind",
      "paired units",
      "dilemmas",
      "rate difference",
      "rate low",
      "rate high",
      "distance difference",
      "distance low",
      "distance high",
    ],
    rows: r.differences.map((d) => [
      d.labelA,
      d.labelB,
      d.kind,
      d.units,
      d.dilemmas,
      ...intervalCells(d.alignmentRate),
      ...intervalCells(d.alignmentDistance),
    ]),
  };
}

export function dilemmaRunsTable(r: DilemmaCompareResult, style: TableStyle): Table {
  return {
    name: "runs",
    title: "Runs",
    columns: ["model", "run directory", "model sha256", "status", "repeats", "seed", "records", "compared", "units"],
    rows: r.runs.map((x) => [
      x.label,
      x.dir,
      style === "text" ? (x.modelSha256 ?? "").slice(0, 16) || MISSING : x.modelSha256,
      x.status,
      x.repeats,
      x.seed,
      x.records,
      x.compared,
      x.units,
    ]),
  };
}

/** Every table of the comparison, in the order compare.md shows them. */
export function dilemmaCompareTables(r: DilemmaCompareResult, style: TableStyle = "data"): Table[] {
  return [dilemmaAlignmentTable(r, style), dilemmaDifferenceTable(r, style), dilemmaRunsTable(r, style)];
}

/** compare.md of dilemma-suite runs. */
export function renderDilemmaCompareMarkdown(r: DilemmaCompareResult): string {
  const [alignment, diff, runs] = dilemmaCompareTables(r, "text") as [Table, Table, Table];
  const md = (t: Table) => renderTable(t, "md").trimEnd();
  const out: string[] = [`# valuelens compare (dilemma suite): ${r.runs.map((x) => x.label).join(" vs ")}`, ""];
  out.push(`## ${alignment.title}`, "");
  out.push(
    (r.questions.partial
      ? `**Partial comparison (--allow-partial):** only the ${r.questions.shared} questions that every run holds are compared, and every figure below uses only those. `
      : `All runs asked the same ${r.questions.shared} questions. `) +
      "Per (persona, dilemma) unit, the alignment rate (stated value and action on the same side of their 6-point scales) and the alignment distance (E|v - a| / 5), " +
      "averaged over the units of a persona kind (all: every unit). " +
      (r.bootstrap.samples > 0
        ? `Brackets: ${levelText(r)} percentile bootstrap interval (${r.bootstrap.samples} resamples, seed ${r.bootstrap.seed}; dilemmas resampled).`
        : "No intervals (--bootstrap 0)."),
    "",
  );
  out.push(md(alignment), "");
  out.push("## Differences from the first run", "");
  out.push(
    "Each run minus the first, over the (persona, dilemma) units both scored: the mean of the per-unit differences. " +
      "The interval is a paired bootstrap: every draw resamples the same dilemmas for both runs, so what the runs share cancels.",
    "",
  );
  out.push(md(diff), "");
  out.push("## Runs", "");
  out.push(md(runs), "");
  out.push(...notesSection(r.notes));
  return out.join("\n");
}
