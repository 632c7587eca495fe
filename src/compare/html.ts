/**
 * compare.html: a comparison (`Suite.compare`) as one self-contained page, from the same
 * tables and figures as compare.md (src/report/html/report.ts).
 */
import type { Comparison } from "../suites/compare.js";
import { comparePageHtml } from "../report/html/report.js";
import { writeFileAtomic } from "../util/durableFiles.js";
import { type LoadedRun, runLabels } from "./load.js";

/** Writes the comparison's page to `file`. */
export async function writeCompareHtml(file: string, runs: readonly LoadedRun[], c: Comparison): Promise<void> {
  const labels = runLabels(runs);
  const html = await comparePageHtml({
    runs: runs.map((r, i) => ({ label: labels[i]!, dir: r.dir, protocol: r.manifest.config.protocol })),
    headline: c.headline,
    tables: c.tables,
    figures: c.figures ?? [],
    markdown: c.markdown,
    partial: c.result.questions.partial,
    shared: c.result.questions.shared,
  });
  writeFileAtomic(file, html);
}
