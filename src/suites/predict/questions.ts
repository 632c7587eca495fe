/**
 * The prediction suite's questions: one per (mode, repeat, test row), in that order, so that
 * consecutive questions share the few-shot conversation (the system message and the training
 * turns of one mode and repeat) and a lane's KV cache keeps it.
 *
 * How the conversation reaches the model: the system message is the question's `system`, the
 * training turns its `history`, and the query its user message (`segments`: the fixed start
 * `Predict the Action: '` and the action). Backends that render the model's own chat template
 * (embedded llama.cpp, llama-server) turn them into the same tokens; chat APIs (OpenAI,
 * Ollama) refuse them. Letters: the assistant's answer is prefilled with `Label: ` and the next
 * token is scored for `True` against `False` (every single-token spelling). Paper protocol: the
 * answer is generated from the assistant turn's start and its second space-separated field read.
 */
import type { Question } from "../../questions/question.js";
import type { RunConfig } from "../../records/manifest.js";
import { UserError } from "../../util/errors.js";
import type { ViaDataset } from "../via/dataset.js";
import { buildConversation, LABEL_PREFIX, PREDICT_SYSTEM_PROMPT, type PredictMode } from "./conversation.js";
import { labelsFromRun, type PredictLabels } from "./labels.js";
import { predictOptionsOf, shownDir, trainPoolEndOf } from "./options.js";
import { drawSample, trainOrder } from "./sampling.js";
import { fieldsOf, readViaFields } from "./viaFields.js";

/** The option keys (and letters) of every question: the predicted label. */
export const PREDICT_ORDER = ["True", "False"] as const;

/** The start of every query turn (`Predict the Action: '<action>'`), its own segment. */
export const QUERY_START = "Predict the Action: '";

export function predictQuestionId(mode: PredictMode, row: number, repeat: number): string {
  return `predict/${mode}/row${row}/r${repeat}`;
}

/** The labels a config names, checked against its digest and the dataset (one-line UserErrors). */
export function configLabels(config: RunConfig, dataset: ViaDataset): PredictLabels {
  const opts = predictOptionsOf(config);
  if (!opts.labels)
    throw new UserError(
      "--suite predict needs --labels DIR: a finished VIA run directory whose action choices the predictor learns",
    );
  const labels = labelsFromRun(opts.labels.dir);
  if (labels.digest !== opts.labels.digest)
    throw new UserError(
      `--labels ${shownDir(opts.labels.dir)}: its labels changed since this run was configured (digest ${labels.digest.slice(0, 12)}…, the run's ${opts.labels.digest.slice(0, 12)}…); restore that run, or start a new predict run`,
    );
  if (labels.manifest.dataset.sha256 !== dataset.sha256)
    throw new UserError(
      `${dataset.path} is not the dataset of the labels run ${shownDir(opts.labels.dir)} (sha256 ${dataset.sha256.slice(0, 12)}…, the run's ${labels.manifest.dataset.sha256.slice(0, 12)}…); pass --via with the file the run was made on`,
    );
  return labels;
}

export function buildPredictQuestions(
  config: RunConfig,
  dataset: ViaDataset,
  protocols: { letters: string; generate: string },
): Question[] {
  const opts = predictOptionsOf(config);
  const labels = configLabels(config, dataset);
  const fields = readViaFields(dataset);
  const actions = new Map(dataset.actions.map((a) => [a.row, a]));
  // Only rows the dataset has a usable action for can be asked.
  const usable = new Map([...labels.labels].filter(([row]) => actions.has(row)));
  const sample = drawSample(usable, {
    seed: config.seed,
    trainPerLabel: opts.train,
    testPerLabel: opts.test,
    trainPoolEnd: trainPoolEndOf(opts, dataset.rows),
    trainEligible: (row) => fields.get(row)?.ok === true,
    source: `--labels ${shownDir(labels.dir)}`,
  });
  const letters = config.protocol === protocols.letters;
  const out: Question[] = [];
  for (const mode of opts.modes) {
    for (let repeat = 0; repeat < config.repeats; repeat++) {
      const examples = trainOrder(sample, repeat).map(({ row, label }) => ({
        fields: fieldsOf(dataset, fields, row),
        label,
      }));
      // The conversation without its query turn: the system message, then the training turns.
      const conversation = buildConversation(mode, examples, "");
      const history = conversation
        .slice(1, -1)
        .map((m) => ({ role: m.role as "user" | "assistant", content: m.content }));
      for (const { row, label } of sample.test) {
        const action = actions.get(row)!;
        out.push({
          id: predictQuestionId(mode, row, repeat),
          protocol: config.protocol,
          task: "action",
          country: action.country,
          topic: action.topic,
          value: action.value,
          variant: null,
          repeat,
          segments: [QUERY_START, `${action.action}'`],
          order: [...PREDICT_ORDER],
          ...(letters ? { letters: [...PREDICT_ORDER], answerPrefix: LABEL_PREFIX } : {}),
          ...(letters
            ? {}
            : {
                maxTokens: opts.maxTokens,
                ...(opts.temperature > 0 ? { sampling: { temperature: opts.temperature, seed: config.seed } } : {}),
              }),
          system: PREDICT_SYSTEM_PROMPT,
          history,
          recordFields: { mode, row, label },
        });
      }
    }
  }
  return out;
}
