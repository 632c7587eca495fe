/**
 * A suite is one benchmark, whole: its dataset, the questions it asks, how an answer becomes a
 * score, its metrics, its report and figures, its comparison, and its notes. In the manner of
 * Inspect AI's Task(dataset, solver, scorer) and lm-eval's task registry, the engine (runner,
 * lanes, cache, resume, shards, merge, progress) and the CLI only ever hold a `Suite` from the
 * registry (./registry.ts); they never name one.
 *
 * How a question is answered is the elicitation (src/elicitation/): `letters` (the probability
 * of each option letter from one forward pass) or `generate` (a generated answer, parsed). A
 * suite says which elicitations it supports; the pair (suite, elicitation) is stored in configs
 * and records as one `protocol` tag (see `protocols`), the name those files have always used,
 * so run directories, config digests and cache keys made before suites existed stay valid.
 *
 * To add a suite: docs/ARCHITECTURE.md, "How to add a suite".
 */
import type { Command } from "commander";
import type { z } from "zod";
import type { BackendInfo } from "../backends/backend.js";
import type { ChatTurn, Question, Task } from "../questions/question.js";
import type { Figure } from "../report/figure.js";
import type { BrowserData } from "../report/html/browser.js";
import type { BrowseInput } from "./browse.js";
import type { CompareInput, Comparison } from "./compare.js";
import type { Table } from "../report/table.js";
import type { Manifest, RunConfig } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";

/** How a question is answered: letters from one forward pass, or a generated answer parsed. */
export type Elicitation = "letters" | "generate";

/** What every suite's dataset has: where it was read from and the sha256 of its bytes. */
export interface SuiteDataset {
  path: string;
  sha256: string;
}

/** The parse of a generated answer: what was read, or why nothing could be. */
export type ParsedAnswer = NonNullable<RunRecord["parsed"]>;

/** Bootstrap settings of a run's intervals (they change no answer). */
export interface MetricsOptions {
  bootstrap: { samples: number; seed: number };
}

/**
 * What `run` passes to a suite to make its config: the parsed flags and the dataset label. The
 * suite reads how its questions are answered from its own flags (VIA: `--protocol letters|paper`).
 */
export interface ConfigInput {
  /** All parsed `run` flags (commander's camelCase names); each suite reads its own. */
  flags: Record<string, unknown>;
  /** The model name as given. */
  model: string;
  /** The dataset label stored in the config: "sample" or an absolute path. */
  dataset: string;
}

/** What `prompts` prints for one question: the exact prompt a run sends (before the chat template). */
export interface PromptLine {
  id: string;
  system?: string;
  /** Earlier turns of a conversation (the predict suite's few-shot examples). */
  history?: readonly ChatTurn[];
  prompt: string;
  /** Text the assistant's answer starts with (predict letters: `Label: `). */
  answerPrefix?: string;
  order: readonly string[];
  letters?: readonly string[];
}

/** What `prompts` passes to a suite: the parsed flags, the task and the value (resolved). */
export interface PromptsInput {
  /** All parsed `prompts` flags (commander's camelCase names); each suite reads its own. */
  flags: Record<string, unknown>;
  task: Task;
  value: string | undefined;
}

/** The metrics object a suite writes to metrics.json (its own shape). */
export type SuiteMetrics = object;

export interface Suite<
  D extends SuiteDataset = SuiteDataset,
  M extends SuiteMetrics = SuiteMetrics,
  R extends RunRecord = RunRecord,
> {
  /** The name on the command line (`run --suite <name>`) and in docs. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** The `protocol` tag stored in configs and records for each elicitation this suite answers with. */
  readonly protocols: { readonly [E in Elicitation]?: string };
  /** The elicitation a run uses when none is asked for. */
  readonly defaultElicitation: Elicitation;
  /** Repeats per question when none are given (generated answers are greedy: always 1). */
  readonly defaultRepeats: number;

  // Dataset
  readonly dataset: {
    /** The command-line option naming the dataset file (e.g. "--via"), and its description. */
    option: string;
    description: string;
    /** The config field that stores the dataset label ("sample" or an absolute path). */
    configField: "via" | "dilemmas";
    /** The dataset shipped with valuelens ("sample"). */
    samplePath: string;
    /** What the file is, in messages ("VIA CSV"). */
    what: string;
    /** The file read when the option is not given (e.g. from the environment); undefined: the sample. */
    defaultFile?(): string | undefined;
    /** Printed (after "note: ") when the sample is read because no file was given or found. */
    sampleNote?: string;
  };
  /**
   * Flags (commander attribute names) that choose this suite when `--suite` is not given
   * (e.g. its dataset option); without any, the registry's first suite runs.
   */
  readonly impliedBy?: readonly string[];
  /** Reads and validates the dataset file (one-line UserError naming the file, row and field). */
  loadDataset(file: string): D;
  /** The manifest's dataset entry: rows read and usable items. */
  datasetEntry(dataset: D): Manifest["dataset"];
  /** `datasets info`: the dataset's counts as JSON and as lines of text. */
  datasetInfo?(dataset: D): { json: object; lines: string[] };

  // Config
  /**
   * The suite's own `run` options (added to the command; `configFrom` reads them). The command
   * adds every suite's dataset option itself.
   */
  addRunOptions(command: Command): void;
  /** Refuses flags that belong to another suite or contradict this one (one-line UserError). */
  checkFlags(flags: Record<string, unknown>): void;
  /** The run config of these flags (one-line UserError for a bad value). */
  configFrom(input: ConfigInput): RunConfig;
  /**
   * Config fields that decide which questions a run asks (and in which option order): runs are
   * compared only when these agree. The suite's protocol is always compared.
   */
  questionFields(config: RunConfig): (keyof RunConfig)[];
  /**
   * The keys of `config.suiteOptions` and the `run` flags (commander attribute names) that set
   * them: a resume refuses a flag that contradicts the stored value (src/cli/resumeConfig.ts).
   */
  readonly suiteOptionFlags?: Readonly<Record<string, readonly string[]>>;
  /**
   * Keys of `config.suiteOptions` that change how answers are decoded but not which questions
   * are asked (a sampling temperature): `compare` notes a difference in them instead of refusing.
   */
  readonly answerOptions?: readonly string[];

  // Questions
  /** Every question of a config (all shards), in the canonical order an unsharded run records them. */
  questions(config: RunConfig, dataset: D): Question[];
  /**
   * Consecutive questions with the same key share their leading prompt segments; the runner gives
   * a group to one lane so its KV cache keeps them (src/runner/groups.ts).
   */
  prefixKey(q: Question): string;
  /** The suite's own `prompts` options (added to the command; `prompts` reads them). */
  addPromptOptions(command: Command): void;
  /**
   * `valuelens prompts`: the exact prompts a run would send for these flags; `load` reads the
   * dataset (the dataset option's file, or the sample). One-line UserError when none match.
   */
  prompts(input: PromptsInput, load: () => D): PromptLine[];

  // Scoring
  /** Letters: the question's score in [0,1] from the renormalized option probabilities (null: no mass). */
  letterScore(q: Question, optionProbs: Record<string, number>, mass: number): number | null;
  /** Generate: the parse of a generated answer and its score (null when it has none). */
  parseAnswer(q: Question, text: string): { parsed: ParsedAnswer; score: number | null };

  // Outputs
  /** Notes on how answers were obtained, stored in the manifest (the engine adds its own). */
  notes(config: RunConfig, backend: BackendInfo): string[];
  /**
   * The suite's records: the envelope (src/records/records.ts suiteRecordSchema) around its own
   * fields. The run-directory loader checks every record against it, so the hooks below get R.
   */
  readonly recordSchema: z.ZodType<R>;
  metrics(records: readonly R[], config: RunConfig, opts: MetricsOptions): M;
  report(manifest: Manifest, metrics: M, records: readonly R[]): string;
  /** The report's tables for `report --format csv|json`. */
  tables(manifest: Manifest, metrics: M, records: readonly R[]): Table[];
  /**
   * The run's figures (src/report/figure.ts): those marked `markdown` are report.md's
   * "## Figures" and `charts/<name>.svg`; `report --figures svg,pdf` writes all under figures/.
   */
  figures(metrics: M, records: readonly R[], manifest: Manifest): Figure[];
  /**
   * report.html's question browser: the suite's filters and each question (repeats, prompt,
   * verdict, texts side by side); src/report/html/browser.ts. Absent: the page has no browser.
   */
  browse?(input: BrowseInput<D, M, R>): BrowserData;
  /** `valuelens compare`: two or more runs of this suite side by side (./compare.ts). */
  compare(input: CompareInput<R>): Comparison;
  /** How messages name a run of this suite: "a <runNoun> run" ("VIA", "dilemma-suite"). */
  readonly runNoun: string;
  /** What a finished `run` prints (markdown): the suite's headline table. */
  headline(modelName: string, metrics: M): string;
  /** Tasks in the order the progress display shows them. */
  readonly tasks: readonly Task[];
}

/** A suite of unknown dataset and metrics types, as the engine holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds suites of every dataset and metrics type
export type AnySuite = Suite<any, any, any>;
