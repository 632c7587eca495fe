/**
 * report.md of a run directory: the paper's tables (country table first), then how the
 * numbers were obtained (dropped answers, letter mass, notes from the manifest).
 */
import type { RunMetrics } from "../metrics/fromRecords.js";
import type { Manifest } from "../runs/manifest.js";
import type { RunRecord } from "../runs/records.js";
import { renderReport } from "./report.js";

export function renderRunReport(manifest: Manifest, metrics: RunMetrics, records: readonly RunRecord[]): string {
  const c = manifest.config;
  const model = (manifest.backend.model as { name?: string } | undefined)?.name ?? c.model;
  const letterMass = records.filter((r) => r.letters).map((r) => r.letters!.mass);
  const meanMass = letterMass.length ? letterMass.reduce((a, b) => a + b, 0) / letterMass.length : undefined;
  const summary: Record<string, string | number> = {
    model,
    status: manifest.status,
    protocol: c.protocol,
    tasks: c.tasks.join(", "),
    repeats: c.protocol === "letters" ? c.repeats : 1,
    seed: c.seed,
    records: records.length,
    "questions in run": manifest.questions.total,
    "model sha256": String(manifest.backend.modelSha256 ?? "").slice(0, 16),
    dataset: `${manifest.dataset.path} (sha256 ${manifest.dataset.sha256.slice(0, 16)})`,
    engine: String(manifest.backend.engineVersion ?? manifest.backend.engine ?? ""),
  };
  if (meanMass !== undefined) summary["mean letter mass"] = meanMass.toFixed(3);
  const notes = [...manifest.notes];
  for (const task of ["stated", "action"] as const) {
    const i = metrics.inputs[task];
    if (i.records === 0) continue;
    const reasons = Object.entries(i.droppedByReason)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r}: ${n}`)
      .join(", ");
    notes.push(`${task}: ${i.records} answers recorded, ${i.used} used${reasons ? ` (${reasons})` : ""}.`);
  }
  const unparsed = records.filter((r) => r.parsed && !r.parsed.ok).length;
  if (unparsed > 0) notes.push(`${unparsed} generated answers could not be parsed; records.jsonl keeps each raw answer with the reason.`);
  return renderReport({ title: `valuelens report: ${model}`, manifestSummary: summary, metrics, notes, label: model });
}
