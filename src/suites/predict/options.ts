/**
 * The prediction suite on the command line: its `run` options, the flags it refuses, and its
 * run config. What decides its questions is stored in the config's `suiteOptions` (the engine
 * stores, digests and compares it without reading it): the labels run's directory and the
 * digest of its labels, the sizes, the pools, the modes, and how answers are decoded.
 */
import path from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { z } from "zod";
import type { RunConfig } from "../../records/manifest.js";
import { UserError } from "../../util/errors.js";
import { intOption, listOption } from "../../util/options.js";
import { commonConfig } from "../config.js";
import type { ConfigInput } from "../suite.js";
import { loadViaSync, SAMPLE_VIA_PATH } from "../via/dataset.js";
import { PREDICT_MODES, PredictModeSchema, type PredictMode } from "./conversation.js";
import { labelsFromRun } from "./labels.js";
import { DEFAULT_TEST_PER_LABEL, DEFAULT_TRAIN_PER_LABEL, TRAIN_POOL_END } from "./sampling.js";

/** Rows of the full VIA (the paper's training pool is its first 7,000). */
export const FULL_VIA_ROWS = 14784;

/** The generation cap of the paper protocol's answers (`Label: True ...`; only the second space-separated field is read). */
export const PREDICT_MAX_TOKENS = 64;

/** Repeats of a letters run: the two label orders of the training examples. */
export const PREDICT_DEFAULT_REPEATS = 2;

export const PredictOptionsSchema = z.object({
  /** The VIA run whose action choices are the labels; null only in a config made for a resume. */
  labels: z
    .object({
      /** The run directory, absolute. */
      dir: z.string(),
      /** sha256 of its labels (./labels.ts labelsDigest): the questions change when they do. */
      digest: z.string(),
      method: z.enum(["letters", "paper"]),
    })
    .nullable(),
  /** Training examples and test rows per label. */
  train: z.number().int().positive(),
  test: z.number().int().positive(),
  /** First VIA row of the test pool; null: proportional to the full VIA's 7,000 of 14,784 (`trainPoolEndOf`). */
  trainPoolEnd: z.number().int().positive().nullable(),
  modes: z.array(PredictModeSchema).min(1),
  /** Paper protocol: sampling temperature (0: greedy) and the generation cap. */
  temperature: z.number().min(0),
  maxTokens: z.number().int().positive(),
});
export type PredictOptions = z.infer<typeof PredictOptionsSchema>;

/** The suite's options of a config (a one-line UserError when they are missing or malformed). */
export function predictOptionsOf(config: RunConfig): PredictOptions {
  const parsed = PredictOptionsSchema.safeParse(config.suiteOptions);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(
      `the run config's suiteOptions are not the prediction suite's (field ${issue?.path.join(".") || "(root)"}: ${issue?.message}); the run was made by another version of valuelens`,
    );
  }
  return parsed.data;
}

/**
 * The first row of the test pool: --train-pool-end, else 7,000 on the full VIA and the same
 * share of the rows (7,000 / 14,784, rounded) on a smaller file such as the sample.
 */
export function trainPoolEndOf(opts: PredictOptions, datasetRows: number): number {
  if (opts.trainPoolEnd !== null) return opts.trainPoolEnd;
  return datasetRows >= FULL_VIA_ROWS ? TRAIN_POOL_END : Math.round((datasetRows * TRAIN_POOL_END) / FULL_VIA_ROWS);
}

/** The prediction suite's own `run` flags (commander attribute names), and those it refuses. */
interface PredictRunFlags {
  labels?: string;
  train: number;
  test: number;
  trainPoolEnd?: number;
  modes: string[];
  temperature: number;
  protocol?: string;
  resume?: boolean;
  dilemmas?: string;
  quadrants?: string[];
  countries?: string[];
  topics?: string[];
  values?: string[];
  limit?: number;
  persona?: string[];
  variants?: number[];
  statedVariants?: number[];
  actionVariants?: number[];
}

function temperatureOption(value: string): number {
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x) || x < 0 || x > 2)
    throw new InvalidArgumentError(`--temperature must be a number in [0, 2], got "${value}"`);
  return x;
}

export function addPredictRunOptions(command: Command): void {
  command
    .option(
      "--labels <dir>",
      "predict suite: a finished VIA run directory whose action choices are the labels (implies --suite predict)",
    )
    .option(
      "--train <n>",
      "predict suite: training examples per label",
      intOption("--train", 1),
      DEFAULT_TRAIN_PER_LABEL,
    )
    .option("--test <n>", "predict suite: test rows per label", intOption("--test", 1), DEFAULT_TEST_PER_LABEL)
    .option(
      "--train-pool-end <n>",
      "predict suite: first VIA row of the test pool (default 7000 on the full VIA, the same share of a smaller file)",
      intOption("--train-pool-end", 1),
    )
    .option(`--modes <list>`, `predict suite: ${PREDICT_MODES.join(", ")} (default all four)`, listOption, [
      ...PREDICT_MODES,
    ])
    .option(
      "--temperature <x>",
      "predict suite, --protocol paper: sampling temperature, seeded by --seed (default 0: greedy; the paper used 0.2)",
      temperatureOption,
      0,
    );
}

/** Options of the other suites are errors on a predict run, not silently ignored. */
export function checkPredictFlags(all: Record<string, unknown>): void {
  const flags = all as unknown as PredictRunFlags;
  if (flags.labels === undefined && !flags.resume)
    throw new UserError(
      "--suite predict needs --labels DIR: a finished VIA run directory whose action choices the predictor learns",
    );
  if (flags.dilemmas !== undefined || flags.quadrants)
    throw new UserError("--dilemmas and --quadrants belong to the dilemma suite; the predict suite reads --via");
  for (const [name, value] of [
    ["--countries", flags.countries],
    ["--topics", flags.topics],
    ["--values", flags.values],
    ["--limit", flags.limit],
    ["--persona", flags.persona],
    ["--variants", flags.variants],
    ["--stated-variants", flags.statedVariants],
    ["--action-variants", flags.actionVariants],
  ] as const) {
    if (value !== undefined)
      throw new UserError(
        `${name} does not apply to the predict suite: its rows are drawn from the labels (--train, --test, --train-pool-end)`,
      );
  }
  if (flags.temperature > 0 && flags.protocol !== "paper")
    throw new UserError(
      "--temperature applies to generated answers (--protocol paper); letters are read from one forward pass",
    );
}

function resolveModes(modes: readonly string[]): PredictMode[] {
  const out: PredictMode[] = [];
  for (const m of modes) {
    const parsed = PredictModeSchema.safeParse(m.trim());
    if (!parsed.success) throw new UserError(`--modes: unknown mode "${m}" (use ${PREDICT_MODES.join(", ")})`);
    if (!out.includes(parsed.data)) out.push(parsed.data);
  }
  // The canonical order, whatever order they were given in.
  return PREDICT_MODES.filter((m) => out.includes(m));
}

export function predictConfigFrom(
  input: ConfigInput,
  suite: Parameters<typeof commonConfig>[1],
  protocols: { letters: string; generate: string },
): RunConfig {
  const flags = input.flags as unknown as PredictRunFlags;
  const elicitation = flags.protocol === "paper" ? "generate" : "letters";
  const c = commonConfig({ ...input, flags: { ...input.flags, tasks: ["action"] } }, suite, elicitation);
  let labels: PredictOptions["labels"] = null;
  if (flags.labels !== undefined) {
    const read = labelsFromRun(flags.labels);
    const file = input.dataset === "sample" ? SAMPLE_VIA_PATH : input.dataset;
    const via = loadViaSync(file);
    if (via.sha256 !== read.manifest.dataset.sha256)
      throw new UserError(
        `--via ${input.dataset === "sample" ? "(the sample)" : file} is not the dataset of the labels run ${flags.labels} (sha256 ${via.sha256.slice(0, 12)}…, the run's ${read.manifest.dataset.sha256.slice(0, 12)}…); pass --via with the file the run was made on`,
      );
    labels = { dir: read.dir, digest: read.digest, method: read.method };
  }
  const options: PredictOptions = {
    labels,
    train: flags.train,
    test: flags.test,
    trainPoolEnd: flags.trainPoolEnd ?? null,
    modes: resolveModes(flags.modes),
    temperature: elicitation === "generate" ? flags.temperature : 0,
    maxTokens: PREDICT_MAX_TOKENS,
  };
  return predictRunConfig({
    model: input.model,
    protocol: elicitation === "generate" ? protocols.generate : protocols.letters,
    repeats: c.repeats,
    seed: c.seed,
    via: input.dataset,
    options,
    shard: c.shard,
    minLetterMass: c.minLetterMass,
  });
}

/**
 * A predict run's config: the suite's options in `suiteOptions`, action questions only, and the
 * VIA fields that ask nothing here at their empty values (the generation cap is the answer's).
 */
export function predictRunConfig(p: {
  model: string;
  protocol: string;
  repeats: number;
  seed: number;
  via: string;
  options: PredictOptions;
  shard?: RunConfig["shard"];
  minLetterMass?: RunConfig["minLetterMass"];
}): RunConfig {
  return {
    model: p.model,
    protocol: p.protocol,
    tasks: ["action"],
    repeats: p.repeats,
    seed: p.seed,
    countries: null,
    topics: null,
    values: null,
    limit: null,
    statedVariants: [],
    actionVariants: [],
    statedMaxTokens: PREDICT_MAX_TOKENS,
    actionMaxTokens: PREDICT_MAX_TOKENS,
    via: p.via,
    ...("shard" in p ? { shard: p.shard } : {}),
    suiteOptions: p.options,
    ...("minLetterMass" in p ? { minLetterMass: p.minLetterMass } : {}),
  };
}

/** A labels directory as messages show it. */
export function shownDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel && !rel.startsWith("..") ? rel : dir;
}
