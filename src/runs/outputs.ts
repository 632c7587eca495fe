/**
 * A run directory's outputs: metrics.json, report.md and the figures under charts/, made from
 * its records by the run's suite. `valuelens run` calls this after the runner has finished (or
 * stopped), and `valuelens report`, `merge` and `import` call the same code.
 */
import path from "node:path";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../metrics/uncertainty.js";
import type { Manifest } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import { suiteOf } from "../suites/registry.js";
import type { SuiteMetrics } from "../suites/suite.js";
import { withStagedWrites, writeFileAtomic } from "../util/durableFiles.js";
import { writeRunHtml } from "./html.js";
import { type Figure, type FigureFormat, figuresSection, writeChartFiles, writeFigureFiles } from "../report/figure.js";

export interface RunOutputOptions {
  /** bootstrap resamples per interval (--bootstrap N; default 1000; 0 disables) */
  bootstrap?: number;
  /** bootstrap seed (--bootstrap-seed; default: the run's seed) */
  bootstrapSeed?: number;
  /** Notes on how the records were read (duplicates dropped, ...): shown in report.md, not stored in the manifest. */
  notes?: string[];
  /** Also write every figure under `<dir>/figures/` in these formats (`report --figures svg,pdf`); default none. */
  figures?: readonly FigureFormat[];
}

/**
 * metrics.json and report.md of a run directory, from its records. The bootstrap settings
 * change no answer, so they live in metrics.json (intervals.bootstrap), not in the run config.
 */
export async function writeRunOutputs(
  out: string,
  manifest: Manifest,
  records: readonly RunRecord[],
  opts: RunOutputOptions = {},
): Promise<SuiteMetrics> {
  const config = manifest.config;
  const suite = suiteOf(config);
  const bootstrap = { samples: opts.bootstrap ?? DEFAULT_BOOTSTRAP_SAMPLES, seed: opts.bootstrapSeed ?? config.seed };
  const shown = opts.notes?.length ? { ...manifest, notes: [...manifest.notes, ...opts.notes] } : manifest;
  const metrics = suite.metrics(records, config, { bootstrap });
  const report = suite.report(shown, metrics, records);
  const figures: Figure[] = suite.figures(metrics, records, manifest);
  // All of them, or none (a full disk half way leaves the old ones): withStagedWrites.
  await withStagedWrites(async () => {
    writeFileAtomic(path.join(out, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
    await writeChartFiles(out, figures);
    if (opts.figures?.length) await writeFigureFiles(out, figures, opts.figures);
    const markdown = partialTitle(report, manifest, records.length) + figuresSection(figures);
    writeFileAtomic(path.join(out, "report.md"), markdown);
    await writeRunHtml(out, { manifest: shown, metrics, records, figures, markdown });
  });
  return metrics;
}

/** A report of an unfinished run says so in its first line: status and how many questions it holds. */
export function partialTitle(report: string, manifest: Manifest, recorded: number): string {
  if (manifest.status === "complete" && recorded >= manifest.questions.total) return report;
  const status =
    manifest.status === "running"
      ? "did not finish (status running)"
      : manifest.status === "complete"
        ? "is missing records"
        : `was ${manifest.status}`;
  const end = report.indexOf("\n");
  const first = end === -1 ? report : report.slice(0, end);
  return `${first} (PARTIAL: ${recorded} of ${manifest.questions.total} questions recorded; the run ${status})${end === -1 ? "" : report.slice(end)}`;
}
