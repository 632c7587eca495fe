/**
 * report.md of a run directory: the paper's tables (country table first), then how the
 * numbers were obtained (dropped answers, letter mass, notes from the manifest); and the same
 * tables as CSV / JSON files under `tables/`.
 */
import type { RunMetrics } from "./metrics/fromRecords.js";
import type { Manifest } from "../../records/manifest.js";
import type { ViaRecord } from "./record.js";
import { failedQuestionsBlock } from "../../report/failedQuestions.js";
import { lowLetterMassBlock, minLetterMassOf, unseenLettersSection } from "../../report/letterChecks.js";
import {
  backendSummary,
  bootstrapSummary,
  droppedReasonsText,
  meanLetterMass,
  modelNameOf,
} from "../../report/report.js";
import type { Table } from "../../report/table.js";
import { renderReport, reportTables, type ReportInput } from "./reportSections.js";

/** What the report of a run shows: title, run summary, metrics and notes. */
export function runReportInput(manifest: Manifest, metrics: RunMetrics, records: readonly ViaRecord[]): ReportInput {
  const c = manifest.config;
  const model = modelNameOf(manifest);
  const { "model sha256": modelSha256, engine } = backendSummary(manifest);
  const meanMass = meanLetterMass(records);
  const summary: Record<string, string | number> = {
    model,
    status: manifest.status,
    protocol: c.protocol,
    tasks: c.tasks.join(", "),
    repeats: c.protocol === "letters" ? c.repeats : 1,
    seed: c.seed,
    records: records.length,
    "questions in run": manifest.questions.total,
    ...(metrics.failedQuestions > 0 ? { "failed questions (excluded)": metrics.failedQuestions } : {}),
    "model sha256": modelSha256,
    dataset: `${manifest.dataset.path} (sha256 ${manifest.dataset.sha256.slice(0, 16)})`,
    engine,
  };
  if (c.personas?.length)
    summary.persona = c.personas.map((p) => (typeof p === "string" ? p : `file ${p.file}`)).join(", ");
  if (meanMass !== undefined) summary["mean letter mass"] = meanMass;
  if (metrics.scoreAverage) summary["repeat average"] = metrics.scoreAverage.method;
  const b = metrics.intervals?.bootstrap;
  if (b) summary.bootstrap = bootstrapSummary(b);
  const notes = [...manifest.notes];
  const failed = failedQuestionsBlock(records);
  if (failed) notes.push(failed.note);
  for (const task of ["stated", "action"] as const) {
    const i = metrics.inputs[task];
    if (i.records === 0) continue;
    const reasons = droppedReasonsText(i.droppedByReason);
    notes.push(`${task}: ${i.records} answers recorded, ${i.used} used${reasons ? ` (${reasons})` : ""}.`);
  }
  const unparsed = records.filter((r) => r.parsed && !r.parsed.ok).length;
  if (unparsed > 0)
    notes.push(
      `${unparsed} generated answers could not be parsed; records.jsonl keeps each raw answer with the reason.`,
    );
  const lowMass = lowLetterMassBlock(records, minLetterMassOf(c));
  const unseen = unseenLettersSection(records);
  return {
    title: `valuelens report: ${model}`,
    manifestSummary: summary,
    metrics,
    notes,
    label: model,
    ...(lowMass || failed ? { preface: [...(failed ? [failed.preface] : []), ...(lowMass ? [lowMass] : [])] } : {}),
    ...(unseen ? { extraSections: [unseen] } : {}),
  };
}

export function renderRunReport(manifest: Manifest, metrics: RunMetrics, records: readonly ViaRecord[]): string {
  return renderReport(runReportInput(manifest, metrics, records));
}

/** The report's tables as data (for --format csv|json). */
export function runReportTables(manifest: Manifest, metrics: RunMetrics, records: readonly ViaRecord[]): Table[] {
  return reportTables(runReportInput(manifest, metrics, records));
}
