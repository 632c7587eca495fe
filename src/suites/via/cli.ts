/**
 * The VIA suite on the command line: its `run` and `prompts` options, the flags it refuses, the
 * run config of its flags, the prompts `valuelens prompts` prints, and `datasets info`.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { personaEntries, viaPersonaFor } from "../../personas/runPersonas.js";
import { resolveCountry, resolveTopic } from "../../protocol/values.js";
import type { RunConfig } from "../../records/manifest.js";
import { UserError } from "../../util/errors.js";
import { intOption, listOption } from "../../util/options.js";
import { commonConfig } from "../config.js";
import { promptLineOf } from "../promptLine.js";
import type { ConfigInput, PromptLine, PromptsInput } from "../suite.js";
import { VIA_CSV_NAME, type ViaDataset, viaInfo } from "./dataset.js";
import { renderStatedPrompt } from "./paper.js";
import { baseId, buildQuestions, DEFAULT_ACTION_VARIANTS, DEFAULT_STATED_VARIANTS } from "./questions.js";

/** "0-7", "5", "0,2,4" -> numbers in 0..7 */
export function variantsOption(value: string): number[] {
  const out = new Set<number>();
  for (const part of listOption(value)) {
    const m = /^(\d)(?:-(\d))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`variants must be numbers 0-7 or ranges like 0-7, got "${part}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 7 || to > 7 || to < from) throw new InvalidArgumentError(`variants must lie in 0-7, got "${part}"`);
    for (let v = from; v <= to; v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** VIA's own `run` flags (commander attribute names). */
interface ViaRunFlags {
  protocol: "letters" | "paper";
  variants?: number[];
  statedVariants?: number[];
  actionVariants?: number[];
  statedMaxTokens: number;
  actionMaxTokens: number;
  dilemmas?: string;
  quadrants?: string[];
}

function protocolOption(): Option {
  return new Option(
    "--protocol <name>",
    "letters: letter probabilities from one forward pass; paper: the paper's prompts, generated and parsed",
  )
    .choices(["letters", "paper"])
    .default("letters");
}

export function addViaRunOptions(command: Command): void {
  command
    .addOption(protocolOption())
    .option("--variants <list>", "paper protocol: prompt variants for both tasks, e.g. 0-7 or 5", variantsOption)
    .option("--stated-variants <list>", "paper protocol: Task-1 variants (default 0-7)", variantsOption)
    .option("--action-variants <list>", "paper protocol: Task-2 variants (default 5, as released)", variantsOption)
    .option(
      "--stated-max-tokens <n>",
      "paper protocol: generation cap for Task 1",
      intOption("--stated-max-tokens", 1),
      1024,
    )
    .option(
      "--action-max-tokens <n>",
      "paper protocol: generation cap for Task 2",
      intOption("--action-max-tokens", 1),
      256,
    );
}

/** Options of the dilemma suite are errors on a VIA run, not silently ignored. */
export function checkViaFlags(all: Record<string, unknown>): void {
  const flags = all as unknown as ViaRunFlags;
  if (flags.dilemmas !== undefined)
    throw new UserError("--dilemmas belongs to the dilemma suite; drop --suite via (or --dilemmas)");
  if (flags.quadrants)
    throw new UserError(
      "--quadrants belongs to the dilemma suite (--suite dilemmas); a VIA run takes each country's quadrant",
    );
}

export function viaConfigFrom(input: ConfigInput, suite: Parameters<typeof commonConfig>[1]): RunConfig {
  const flags = input.flags as unknown as ViaRunFlags;
  const elicitation = flags.protocol === "paper" ? "generate" : "letters";
  const c = commonConfig(input, suite, elicitation);
  return {
    model: input.model,
    protocol: flags.protocol === "paper" ? "paper" : "letters",
    tasks: c.tasks,
    repeats: c.repeats,
    seed: c.seed,
    countries: c.countries,
    topics: c.topics,
    values: c.values,
    limit: c.limit,
    statedVariants: flags.statedVariants ?? flags.variants ?? DEFAULT_STATED_VARIANTS,
    actionVariants: flags.actionVariants ?? flags.variants ?? DEFAULT_ACTION_VARIANTS,
    statedMaxTokens: flags.statedMaxTokens,
    actionMaxTokens: flags.actionMaxTokens,
    via: input.dataset,
    shard: c.shard,
    ...(c.personas ? { personas: c.personas } : {}),
    minLetterMass: c.minLetterMass,
  };
}

/**
 * Without --via: $VALUELENS_VIA, then the full VIA fetched by `valuelens datasets fetch via`
 * (datasets/cache/ under the working directory), else the sample.
 */
export function defaultViaFile(): string | undefined {
  const fetched = path.join(process.cwd(), "datasets", "cache", VIA_CSV_NAME);
  return process.env.VALUELENS_VIA ?? (existsSync(fetched) ? fetched : undefined);
}

export const VIA_SAMPLE_NOTE =
  "using the small sample dataset shipped with valuelens; `valuelens datasets fetch via` gets the full VIA (or pass --via PATH)";

export function viaDatasetInfo(dataset: ViaDataset): { json: object; lines: string[] } {
  const info = viaInfo(dataset);
  return {
    json: info,
    lines: [
      `rows             ${info.rows}`,
      `usable actions   ${info.usableActions}`,
      `complete pairs   ${info.completePairs}`,
      ...Object.entries(info.excluded).map(([reason, n]) => `excluded: ${reason.padEnd(12)} ${n}`),
    ],
  };
}

// `valuelens prompts`

interface ViaPromptsFlags {
  protocol: "letters" | "paper";
  country?: string;
  topic?: string;
  variant?: number[];
  repeats: number;
  seed: number;
  persona?: string;
}

export function addViaPromptOptions(command: Command): void {
  command
    .addOption(new Option("--protocol <name>").choices(["letters", "paper"]).default("letters"))
    .option("--variant <list>", "paper protocol variants (default: 0-7 stated, 5 action)", variantsOption);
}

export function viaPrompts(input: PromptsInput, load: () => ViaDataset): PromptLine[] {
  const flags = input.flags as unknown as ViaPromptsFlags;
  const { task, value } = input;
  if (flags.country === undefined || flags.topic === undefined)
    throw new UserError("--country and --topic are required for VIA prompts (or pass --suite dilemmas)");
  const country = resolveCountry(flags.country);
  const topic = resolveTopic(flags.topic);
  const personaFor = viaPersonaFor({ personas: flags.persona ? personaEntries([flags.persona]) : null });
  const dataset = load();
  if (flags.protocol === "paper" && task === "stated") {
    // The paper's Task-1 prompt rates all 56 values for a scenario: it does not depend on the dataset.
    return (flags.variant ?? DEFAULT_STATED_VARIANTS).map((variant) => {
      const system = personaFor(country)?.system;
      return {
        id: `${baseId({ protocol: "paper", task: "stated", country, topic, value: null, variant })}/r0`,
        ...(system !== undefined ? { system } : {}),
        prompt: renderStatedPrompt(country, topic, variant),
        order: [],
      };
    });
  }
  const questions = buildQuestions(dataset, {
    protocol: flags.protocol,
    tasks: [task],
    repeats: flags.protocol === "paper" ? 1 : flags.repeats,
    seed: flags.seed,
    filter: {
      countries: [country],
      topics: [topic],
      values: value ? [value] : undefined,
    },
    statedVariants: flags.variant ?? DEFAULT_STATED_VARIANTS,
    actionVariants: flags.variant ?? DEFAULT_ACTION_VARIANTS,
    statedMaxTokens: 1024,
    actionMaxTokens: 256,
    personaFor,
  });
  if (questions.length === 0) {
    throw new UserError(
      `the dataset has no ${task} questions for ${country} / ${topic}${value ? ` / ${value}` : ""}; pass --via with a VIA CSV that covers them (\`valuelens datasets fetch via\` gets the full one)`,
    );
  }
  return questions.map(promptLineOf);
}
