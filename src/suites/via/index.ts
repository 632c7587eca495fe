/**
 * The VIA suite (ValueActionLens, Shen, Clark, Mitra, EMNLP 2025): for each country x topic x
 * value of the VIA dataset, a stated-value question (Task 1) and an action question (Task 2),
 * answered with letters (`letters`) or with the paper's prompts generated and parsed (`paper`).
 * Everything that is VIA's lives in this folder; this file is what the engine sees.
 */
import { viaBrowse } from "./browse.js";
import type { BackendInfo } from "../../backends/backend.js";
import { renderCountryTable } from "../../report/report.js";
import type { RunConfig } from "../../records/manifest.js";
import { viaPersonaFor } from "../../personas/runPersonas.js";
import { personaNote } from "../personaNote.js";
import type { Suite } from "../suite.js";
import { ViaRecordSchema, type ViaRecord } from "./record.js";
import {
  addViaPromptOptions,
  addViaRunOptions,
  checkViaFlags,
  defaultViaFile,
  VIA_SAMPLE_NOTE,
  viaConfigFrom,
  viaDatasetInfo,
  viaPrompts,
} from "./cli.js";
import { loadViaSync, SAMPLE_VIA_PATH, viaInfo, type ViaDataset } from "./dataset.js";
import { viaFigures } from "./figures.js";
import { viaCompareFigures } from "./compareFigures.js";
import { metricsFromRecords, type RunMetrics } from "./metrics/fromRecords.js";
import { parseActionAnswer, parseStatedAnswer } from "./paper.js";
import { buildQuestions, STATED_SCALE } from "./questions.js";
import { compareViaRuns } from "./compare.js";
import { alignmentRateTable, compareTables, renderCompareMarkdown } from "./compareReport.js";
import { renderRunReport, runReportTables } from "./report.js";
import { expectedPosition } from "../scales.js";

export const viaSuite: Suite<ViaDataset, RunMetrics, ViaRecord> = {
  name: "via",
  description: "the VIA value-action pairs (the paper's benchmark)",
  protocols: { letters: "letters", generate: "paper" },
  defaultElicitation: "letters",
  defaultRepeats: 5,
  tasks: ["stated", "action"],
  dataset: {
    option: "--via",
    description:
      "VIA CSV (default: the sample shipped with valuelens; `valuelens datasets fetch via` downloads the full set)",
    configField: "via",
    samplePath: SAMPLE_VIA_PATH,
    what: "VIA CSV",
    defaultFile: defaultViaFile,
    sampleNote: VIA_SAMPLE_NOTE,
  },
  loadDataset: (file) => loadViaSync(file),
  datasetEntry(dataset) {
    const info = viaInfo(dataset);
    return { path: dataset.path, sha256: dataset.sha256, rows: info.rows, usableActions: info.usableActions };
  },
  datasetInfo: viaDatasetInfo,

  addRunOptions: addViaRunOptions,
  checkFlags: checkViaFlags,
  configFrom: (input) => viaConfigFrom(input, viaSuite),
  questionFields: (config) =>
    config.protocol === "letters"
      ? ["tasks", "countries", "topics", "values", "limit", "repeats", "seed"]
      : ["tasks", "countries", "topics", "values", "limit", "statedVariants", "actionVariants"],

  questions: (config, dataset) =>
    buildQuestions(dataset, {
      protocol: config.protocol === "paper" ? "paper" : "letters",
      tasks: config.tasks,
      repeats: config.repeats,
      seed: config.seed,
      filter: {
        countries: config.countries ?? undefined,
        topics: config.topics ?? undefined,
        values: config.values ?? undefined,
      },
      statedVariants: config.statedVariants,
      actionVariants: config.actionVariants,
      limit: config.limit ?? undefined,
      statedMaxTokens: config.statedMaxTokens,
      actionMaxTokens: config.actionMaxTokens,
      personaFor: viaPersonaFor(config),
    }),
  // One task, country and topic share the scenario context (segment 0).
  prefixKey: (q) => [q.protocol, q.task, q.country, q.topic, q.persona?.id ?? ""].join("\u0000"),
  addPromptOptions: addViaPromptOptions,
  prompts: viaPrompts,

  /**
   * Stated: the expected position on the 4-point scale (0 = strongly agree .. 3 = strongly
   * disagree) divided by 3. Action: the probability of the action that resists the value.
   */
  letterScore: (q, optionProbs, mass) => {
    if (!(mass > 0)) return null;
    return q.task === "stated" ? expectedPosition(STATED_SCALE, optionProbs) : (optionProbs.negative ?? 0);
  },
  /** Stated: the 56 ratings (scored per value by the metrics); action: 1 if the resisting action was chosen. */
  parseAnswer: (q, text) => {
    if (q.task === "stated") {
      const r = parseStatedAnswer(text);
      return r.ok
        ? { parsed: { ok: true, ratings: r.ratings }, score: null }
        : { parsed: { ok: false, reason: r.reason }, score: null };
    }
    const r = parseActionAnswer(text);
    if (!r.ok) return { parsed: { ok: false, reason: r.reason }, score: null };
    const chosen = q.order[r.option - 1]!;
    return { parsed: { ok: true, option: r.option, chosen }, score: chosen === "negative" ? 1 : 0 };
  },

  notes: (config: RunConfig, _backend: BackendInfo) => {
    const notes =
      config.protocol === "paper"
        ? [
            "Paper protocol: the paper's prompts, answers decoded greedily (temperature 0) and parsed leniently; unparseable answers are recorded with a reason. Greedy decoding makes repeats identical, so each prompt is asked once.",
            `Task 2 variants ${config.actionVariants.join(",")}: the paper's code shows the resisting action as Option 1 in variants 0,1,4,5.`,
          ]
        : [
            `Option orders: a fresh seeded order on every repeat, balanced over cycles of repeats (seed ${config.seed}).`,
          ];
    const persona = personaNote(
      config,
      "each country's scenarios get the persona of that country (a file: the same persona everywhere)",
    );
    return persona ? [...notes, persona] : notes;
  },
  recordSchema: ViaRecordSchema,
  metrics: (records, config, opts) =>
    metricsFromRecords(records, {
      actionVariants: config.protocol === "paper" ? config.actionVariants : undefined,
      bootstrap: opts.bootstrap,
    }),
  report: renderRunReport,
  tables: runReportTables,
  figures: viaFigures,
  browse: viaBrowse,
  compare: (input) => {
    const result = compareViaRuns(input);
    return {
      result,
      markdown: renderCompareMarkdown(result),
      tables: compareTables(result, "data"),
      headline: alignmentRateTable(result, "text"),
      figures: viaCompareFigures(result),
    };
  },
  runNoun: "VIA",
  headline: (modelName, metrics) => {
    const iv = metrics.intervals?.alignmentRate;
    return renderCountryTable([
      {
        label: modelName,
        byCountry: metrics.alignmentRate.byCountry,
        overall: metrics.alignmentRate.overall,
        intervals: iv ? { byCountry: iv.byCountry, overall: iv.overall } : undefined,
      },
    ]);
  },
};
