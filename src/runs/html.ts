/**
 * report.html of a run directory (src/report/html/): written beside report.md by the same
 * code (./outputs.ts), from the same tables, figures and notes, with the suite's question
 * browser. The browser's prompts come from the run's questions, rebuilt from its config and
 * dataset as the loader rebuilds them (records hold no prompt text); when they cannot be (an
 * imported run, a dataset not on this machine or changed), the page says so and shows the rest.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { Question } from "../questions/question.js";
import type { Manifest } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import type { Figure } from "../report/figure.js";
import type { BrowserData } from "../report/html/browser.js";
import { runPageHtml } from "../report/html/report.js";
import { suiteOf } from "../suites/registry.js";
import { buildRunQuestions } from "../suites/runQuestions.js";
import type { SuiteDataset, SuiteMetrics } from "../suites/suite.js";
import { writeFileAtomic } from "../util/durableFiles.js";

export const REPORT_HTML = "report.html";

/** The run's dataset when it is on this machine and is the file the run was made on. */
export function runDatasetOf(manifest: Manifest): SuiteDataset | undefined {
  if (manifest.imported) return undefined;
  const suite = suiteOf(manifest.config);
  const label = manifest.config[suite.dataset.configField] ?? "sample";
  if (label === "none") return undefined;
  const file = label === "sample" ? suite.dataset.samplePath : path.resolve(label);
  if (!existsSync(file)) return undefined;
  try {
    const dataset: SuiteDataset = suite.loadDataset(file);
    return dataset.sha256 === manifest.dataset.sha256 ? dataset : undefined;
  } catch {
    return undefined;
  }
}

function questionsOf(manifest: Manifest, dataset: SuiteDataset | undefined): Map<string, Question> | undefined {
  if (!dataset) return undefined;
  try {
    return new Map(buildRunQuestions(manifest.config, dataset).map((q) => [q.id, q]));
  } catch {
    return undefined; // e.g. a prediction run whose labels run is not on this machine
  }
}

/** Which chat template wrapped the prompts the browser shows (the manifest keeps its digest). */
function templateNote(manifest: Manifest): string | undefined {
  const t = manifest.backend.outputOptions?.template as { source?: unknown; sha256?: unknown } | undefined;
  if (!t || typeof t.sha256 !== "string") return undefined;
  const from = t.source === "gguf" ? "the model file's own, " : typeof t.source === "string" ? `${t.source}, ` : "";
  return `Prompts are shown as the run sent them, before the chat template (${from}sha256 ${t.sha256.slice(0, 12)}) wrapped them in the model's turns.`;
}

export interface RunHtmlInput {
  /** the manifest with the report's notes */
  manifest: Manifest;
  metrics: SuiteMetrics;
  records: readonly RunRecord[];
  figures: readonly Figure[];
  /** report.md as written */
  markdown: string;
}

/** Writes `<out>/report.html`; returns its path. */
export async function writeRunHtml(out: string, input: RunHtmlInput): Promise<string> {
  const { manifest, metrics, records } = input;
  const suite = suiteOf(manifest.config);
  let browser: BrowserData | undefined;
  if (suite.browse) {
    // The page is a view of outputs already written: a browser that cannot be built says why
    // on the page instead of failing the run's outputs.
    try {
      const dataset = runDatasetOf(manifest);
      const questions = questionsOf(manifest, dataset);
      browser = suite.browse({
        manifest,
        metrics,
        records,
        ...(questions ? { questions } : {}),
        ...(dataset ? { dataset } : {}),
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      browser = { facets: [], items: [], note: `The question browser could not be built: ${why}` };
    }
    const template = templateNote(manifest);
    if (template && browser.items.some((i) => i.prompt)) {
      browser = { ...browser, note: browser.note ? `${browser.note} ${template}` : template };
    }
  }
  const html = await runPageHtml({
    manifest,
    suite: suite.name,
    tables: suite.tables(manifest, metrics, records),
    figures: input.figures,
    notes: manifest.notes,
    markdown: input.markdown,
    recorded: records.length,
    ...(browser ? { browser } : {}),
  });
  const file = path.join(out, REPORT_HTML);
  writeFileAtomic(file, html);
  return file;
}

/** Whether `<dir>/report.html` is missing or older than the run's metrics.json or report.md. */
export function reportHtmlStale(dir: string): boolean {
  const html = path.join(dir, REPORT_HTML);
  if (!existsSync(html)) return true;
  const t = statSync(html).mtimeMs;
  return ["metrics.json", "report.md"].some((f) => {
    const p = path.join(dir, f);
    return existsSync(p) && statSync(p).mtimeMs > t;
  });
}
