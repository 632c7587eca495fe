/**
 * `valuelens prompts --suite predict --labels DIR`: the few-shot conversations a predict run
 * would send, one JSON line per test row (the system message, the training turns as `history`,
 * the test row's user turn, and the answer prefix of letters), before the model's chat template.
 */
import type { Command } from "commander";
import { UserError } from "../../util/errors.js";
import { intOption } from "../../util/options.js";
import type { PromptLine, PromptsInput } from "../suite.js";
import type { ViaDataset } from "../via/dataset.js";
import { PREDICT_MODES, PredictModeSchema } from "./conversation.js";
import { PREDICT_MAX_TOKENS, type PredictOptions, predictRunConfig } from "./options.js";
import { buildPredictQuestions } from "./questions.js";
import { PREDICT_PROTOCOLS } from "./record.js";
import { labelsFromRun } from "./labels.js";
import { DEFAULT_TEST_PER_LABEL, DEFAULT_TRAIN_PER_LABEL } from "./sampling.js";

interface PredictPromptFlags {
  labels?: string;
  mode?: string;
  train?: number;
  test?: number;
  trainPoolEnd?: number;
  repeats: number;
  seed: number;
  protocol?: string;
}

export function addPredictPromptOptions(command: Command): void {
  if (!command.options.some((o) => o.long === "--labels"))
    command.option(
      "--labels <dir>",
      "predict suite: the VIA run whose choices are the labels (implies --suite predict)",
    );
  command
    .option("--mode <mode>", `predict suite: ${PREDICT_MODES.join(", ")} (default: default)`)
    .option("--train <n>", "predict suite: training examples per label", intOption("--train", 1))
    .option("--test <n>", "predict suite: test rows per label", intOption("--test", 1))
    .option("--train-pool-end <n>", "predict suite: first VIA row of the test pool", intOption("--train-pool-end", 1));
}

export function predictPrompts(input: PromptsInput, load: () => ViaDataset): PromptLine[] {
  const flags = input.flags as unknown as PredictPromptFlags;
  if (flags.labels === undefined)
    throw new UserError("--suite predict needs --labels DIR: the finished VIA run whose choices are the labels");
  if (input.task !== "action") throw new UserError("the predict suite asks action questions only: use --task action");
  const mode = PredictModeSchema.safeParse(flags.mode ?? "default");
  if (!mode.success) throw new UserError(`--mode: unknown mode "${flags.mode}" (use ${PREDICT_MODES.join(", ")})`);
  const labels = labelsFromRun(flags.labels);
  const options: PredictOptions = {
    labels: { dir: labels.dir, digest: labels.digest, method: labels.method },
    train: flags.train ?? DEFAULT_TRAIN_PER_LABEL,
    test: flags.test ?? DEFAULT_TEST_PER_LABEL,
    trainPoolEnd: flags.trainPoolEnd ?? null,
    modes: [mode.data],
    temperature: 0,
    maxTokens: PREDICT_MAX_TOKENS,
  };
  const letters = flags.protocol !== "paper";
  const config = predictRunConfig({
    model: "(prompts)",
    protocol: letters ? PREDICT_PROTOCOLS.letters : PREDICT_PROTOCOLS.generate,
    repeats: flags.repeats,
    seed: flags.seed,
    via: "sample",
    options,
  });
  return buildPredictQuestions(config, load(), PREDICT_PROTOCOLS).map((q) => ({
    id: q.id,
    ...(q.system !== undefined ? { system: q.system } : {}),
    ...(q.history ? { history: q.history } : {}),
    prompt: q.segments.join(""),
    ...(q.answerPrefix !== undefined ? { answerPrefix: q.answerPrefix } : {}),
    order: q.order,
    ...(q.letters ? { letters: q.letters } : {}),
  }));
}
