/**
 * The prediction suite (the paper's last experiment): can a model's action choices be
 * predicted from the action text, and better with the action's feature attributions and
 * natural-language explanation? A predictor model sees a few-shot conversation of labeled VIA
 * actions (the labels: another VIA run's choices, `--labels DIR`) in four modes and predicts
 * the label of each test row: letters (P(True) after `Label: `) or a generated answer parsed as
 * the paper does. Everything that is this suite's lives in this folder; this file is what the
 * engine sees.
 */
import { predictBrowse } from "./browse.js";
import { renderTable } from "../../report/table.js";
import type { Suite } from "../suite.js";
import type { ViaDataset } from "../via/dataset.js";
import { viaSuite } from "../via/index.js";
import {
  addPredictRunOptions,
  checkPredictFlags,
  PREDICT_DEFAULT_REPEATS,
  predictConfigFrom,
  predictOptionsOf,
} from "./options.js";
import { addPredictPromptOptions, predictPrompts } from "./prompts.js";
import { buildPredictQuestions } from "./questions.js";
import { PREDICT_PROTOCOLS, type PredictRecord, PredictRecordSchema } from "./record.js";
import { parseLabelAnswer } from "./released.js";
import {
  comparePredictRuns,
  modesTable,
  type PredictRunMetrics,
  predictRunMetrics,
  predictTables,
  renderPredictReport,
} from "./report.js";
import { predictFigures } from "./figures.js";

export const predictSuite: Suite<ViaDataset, PredictRunMetrics, PredictRecord> = {
  name: "predict",
  description:
    "the paper's prediction experiment: predict a VIA run's action choices from few-shot examples (--labels DIR)",
  protocols: PREDICT_PROTOCOLS,
  defaultElicitation: "letters",
  defaultRepeats: PREDICT_DEFAULT_REPEATS,
  tasks: ["action"],
  // The VIA dataset, as the VIA suite reads it (the labels' rows are its rows).
  dataset: viaSuite.dataset,
  impliedBy: ["labels"],
  loadDataset: viaSuite.loadDataset,
  datasetEntry: viaSuite.datasetEntry,

  addRunOptions: addPredictRunOptions,
  checkFlags: checkPredictFlags,
  configFrom: (input) => predictConfigFrom(input, predictSuite, PREDICT_PROTOCOLS),
  // The labels, sizes, pools and modes (suiteOptions), and the seed that draws the rows.
  questionFields: () => ["repeats", "seed", "suiteOptions"],
  suiteOptionFlags: {
    labels: ["labels"],
    train: ["train"],
    test: ["test"],
    trainPoolEnd: ["trainPoolEnd"],
    modes: ["modes"],
    temperature: ["temperature"],
  },
  answerOptions: ["temperature"],

  questions: (config, dataset) => buildPredictQuestions(config, dataset, PREDICT_PROTOCOLS),
  // One mode and repeat share the system message and the training turns.
  prefixKey: (q) => [q.protocol, String(q.recordFields?.mode ?? ""), String(q.repeat)].join("\u0000"),
  addPromptOptions: addPredictPromptOptions,
  prompts: predictPrompts,

  /** P(True) against False. */
  letterScore: (_q, optionProbs, mass) => (mass > 0 ? (optionProbs.True ?? 0) : null),
  /** The answer's second space-separated field, as the paper reads it (`result.split(' ')[1]` of `Label: True ...`); 1 for True. */
  parseAnswer: (_q, text) => {
    const r = parseLabelAnswer(text);
    if (!r.ok) return { parsed: { ok: false, reason: r.reason }, score: null };
    return { parsed: { ok: true, chosen: r.predicted ? "True" : "False" }, score: r.predicted ? 1 : 0 };
  },

  notes: (config) => {
    const opts = predictOptionsOf(config);
    const how =
      config.protocol === PREDICT_PROTOCOLS.letters
        ? `Letters: the probability of True against False as the first token of the answer after the assistant prefix "Label: " (every single-token spelling counted), from one forward pass; ${config.repeats} repeats alternate which label the training examples start with, and a test row is predicted True when its mean P(True) is above 0.5.`
        : `Paper protocol: the answer is generated (${opts.temperature > 0 ? `temperature ${opts.temperature}, seed ${config.seed}` : "greedily"}, at most ${opts.maxTokens} tokens) and its second space-separated field read, as the paper's analysis does (split(' ')[1]); unparseable answers are kept with a reason and left out of the metrics.`;
    return [
      "Prediction experiment: the few-shot conversation of the paper's code (system message, a user turn `Predict the Action: '<action>'` and an assistant turn per training example, the test row as the last user turn), rendered with the predictor's own chat template.",
      how,
      `Labels: the choices of the VIA run in ${opts.labels?.dir ?? "(none)"} (${opts.labels?.method ?? "-"}); ${opts.train} training examples and ${opts.test} test rows per label, drawn with seed ${config.seed}.`,
    ];
  },
  recordSchema: PredictRecordSchema,
  metrics: (records, config, opts) => predictRunMetrics(records, config, opts.bootstrap),
  report: renderPredictReport,
  tables: predictTables,
  figures: predictFigures,
  browse: predictBrowse,
  compare: comparePredictRuns,
  runNoun: "prediction",
  headline: (_modelName, metrics) => renderTable(modesTable(metrics, "text"), "md"),
};
