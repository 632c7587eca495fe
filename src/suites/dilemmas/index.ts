/**
 * The dilemma suite (the persona study): for each moral dilemma, a value question and an action
 * question on a 6-point scale, asked under Inglehart-Welzel personas (system messages) and
 * answered with one letter. Everything that is the dilemma suite's lives in this folder; this
 * file is what the engine sees.
 */
import { dilemmaBrowse } from "./browse.js";
import { renderTable } from "../../report/table.js";
import { dilemmaPersonas } from "../../personas/runPersonas.js";
import { personaNote } from "../personaNote.js";
import { expectedPosition } from "../scales.js";
import type { Suite } from "../suite.js";
import { DilemmaRecordSchema, type DilemmaRecord } from "./record.js";
import { ACTION_GRADES } from "./schema.js";
import {
  addDilemmaPromptOptions,
  addDilemmaRunOptions,
  checkDilemmaFlags,
  dilemmaConfigFrom,
  dilemmaPrompts,
} from "./cli.js";
import { loadDilemmas, SAMPLE_DILEMMAS_PATH, type LoadedDilemmas } from "./dataset.js";
import { dilemmaFigures } from "./figures.js";
import { dilemmaCompareFigures } from "./compareFigures.js";
import { dilemmaMetrics, type DilemmaMetrics } from "./metrics.js";
import { buildDilemmaQuestions } from "./questions.js";
import { compareDilemmaRuns } from "./compare.js";
import { dilemmaAlignmentTable, dilemmaCompareTables, renderDilemmaCompareMarkdown } from "./compareReport.js";
import { alignmentByKindTable, dilemmaReportTables, renderDilemmaReport } from "./report.js";
import { SIXPOINT_OPTIONS } from "./sixpoint.js";

export const dilemmaSuite: Suite<LoadedDilemmas, DilemmaMetrics, DilemmaRecord> = {
  name: "dilemmas",
  description: "moral dilemmas on the 6-point protocol, under personas (the persona study)",
  protocols: { letters: "sixpoint" },
  defaultElicitation: "letters",
  defaultRepeats: 6,
  tasks: ["stated", "action"],
  dataset: {
    option: "--dilemmas",
    description:
      "dilemma suite: a JSON/JSONL dilemma file (default: the sample shipped with valuelens; `valuelens generate dilemmas` makes one)",
    configField: "dilemmas",
    samplePath: SAMPLE_DILEMMAS_PATH,
    what: "dilemma file",
  },
  impliedBy: ["dilemmas", "dilemma"],
  loadDataset: (file) => loadDilemmas(file),
  // Rows = dilemmas in the file, usable actions = their graded actions.
  datasetEntry: (dataset) => ({
    path: dataset.path,
    sha256: dataset.sha256,
    rows: dataset.dilemmas.length,
    usableActions: dataset.dilemmas.length * ACTION_GRADES.length,
  }),

  addRunOptions: addDilemmaRunOptions,
  checkFlags: checkDilemmaFlags,
  configFrom: (input) => dilemmaConfigFrom(input, dilemmaSuite),
  // Repeats and seed decide the option orders, as in any letters run.
  questionFields: () => ["tasks", "countries", "topics", "values", "limit", "repeats", "seed"],

  questions: (config, dataset) =>
    buildDilemmaQuestions(dataset.dilemmas, {
      tasks: config.tasks,
      repeats: config.repeats,
      seed: config.seed,
      personas: dilemmaPersonas(config),
      topics: config.topics ?? undefined,
      values: config.values ?? undefined,
      limit: config.limit ?? undefined,
    }),
  // Persona (system message), dilemma and task share the leading segments.
  prefixKey: (q) => [q.protocol, q.task, q.country, q.topic, q.persona?.id ?? "", q.dilemma ?? ""].join("\u0000"),
  addPromptOptions: addDilemmaPromptOptions,
  prompts: dilemmaPrompts,

  /**
   * The expected position on the question's 6-point scale (value: Strongly agree .. Strongly
   * disagree; action: strongly aligning .. strongly opposing) divided by 5.
   */
  letterScore: (q, optionProbs, mass) => (mass > 0 ? expectedPosition(SIXPOINT_OPTIONS[q.task], optionProbs) : null),
  parseAnswer: () => {
    throw new Error("the dilemma suite answers with letters only");
  },

  notes: (config) => {
    const notes = [
      "6-point protocol (dilemma suite): for each dilemma, a value question (six options, Strongly agree .. Strongly disagree) and an action question (six actions graded strongly aligning .. strongly opposing), asked in separate conversations and answered with one letter.",
      `Option orders: a fresh seeded order on every repeat, balanced over cycles of six repeats (every option in every position once), the same for every persona on a given repeat (seed ${config.seed}).`,
    ];
    const persona = personaNote(
      config,
      "moderate/max/incongruous: one persona per map quadrant; country: one per country",
    );
    return persona ? [...notes, persona] : notes;
  },
  recordSchema: DilemmaRecordSchema,
  metrics: (records, _config, opts) => dilemmaMetrics(records, { bootstrap: opts.bootstrap }),
  report: renderDilemmaReport,
  tables: dilemmaReportTables,
  figures: dilemmaFigures,
  browse: dilemmaBrowse,
  compare: (input) => {
    const result = compareDilemmaRuns(input);
    return {
      result,
      markdown: renderDilemmaCompareMarkdown(result),
      tables: dilemmaCompareTables(result, "data"),
      headline: dilemmaAlignmentTable(result, "text"),
      figures: dilemmaCompareFigures(result),
    };
  },
  runNoun: "dilemma-suite",
  headline: (_modelName, metrics) => renderTable(alignmentByKindTable(metrics), "md"),
};
