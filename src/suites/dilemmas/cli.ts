/**
 * The dilemma suite on the command line: its `run` and `prompts` options, the flags it refuses,
 * the run config of its flags and the prompts `valuelens prompts` prints.
 */
import type { Command } from "commander";
import { resolveQuadrant } from "../../personas/personas.js";
import { dilemmaPersonas, personaEntries } from "../../personas/runPersonas.js";
import { resolveCountry, resolveTopic } from "../../protocol/values.js";
import type { RunConfig } from "../../records/manifest.js";
import { UserError } from "../../util/errors.js";
import { listOption } from "../../util/options.js";
import { commonConfig } from "../config.js";
import { promptLineOf } from "../promptLine.js";
import type { ConfigInput, PromptLine, PromptsInput } from "../suite.js";
import type { LoadedDilemmas } from "./dataset.js";
import { buildDilemmaQuestions } from "./questions.js";

/** The `run` flags the dilemma suite reads or refuses (commander attribute names). */
interface DilemmaRunFlags {
  quadrants?: string[];
  via?: string;
  protocol?: string;
  countries?: string[];
  persona?: string[];
  // Set by the VIA suite's options; stored in dilemma configs as they always were (see below).
  variants?: number[];
  statedVariants?: number[];
  actionVariants?: number[];
  statedMaxTokens?: number;
  actionMaxTokens?: number;
}

export function addDilemmaRunOptions(command: Command): void {
  command.option(
    "--quadrants <list>",
    "dilemma suite: map quadrants of the moderate/max/incongruous personas (default all four)",
    listOption,
  );
}

/** Options of the VIA suite are errors on a dilemma run, not silently ignored. */
export function checkDilemmaFlags(all: Record<string, unknown>): void {
  const flags = all as unknown as DilemmaRunFlags;
  if (flags.via !== undefined)
    throw new UserError("--via belongs to the VIA suite; the dilemma suite reads --dilemmas FILE");
  if (flags.protocol === "paper")
    throw new UserError(
      "--protocol paper belongs to the VIA suite; the dilemma suite uses the 6-point letters protocol",
    );
  if (flags.countries && !flags.persona?.some((p) => p.trim().toLowerCase() === "country")) {
    throw new UserError(
      "--countries: dilemmas have no country; in the dilemma suite it picks the countries of --persona country (add it, or drop --countries)",
    );
  }
}

export function dilemmaConfigFrom(input: ConfigInput, suite: Parameters<typeof commonConfig>[1]): RunConfig {
  const flags = input.flags as unknown as DilemmaRunFlags;
  const c = commonConfig(input, suite, "letters");
  return {
    model: input.model,
    protocol: "sixpoint",
    tasks: c.tasks,
    repeats: c.repeats,
    seed: c.seed,
    countries: c.countries,
    topics: c.topics,
    values: c.values,
    limit: c.limit,
    // The paper protocol's fields ask nothing here; dilemma configs have always stored them as
    // `run` set them (the VIA options' values, else their defaults), and their digests depend on it.
    statedVariants: flags.statedVariants ?? flags.variants ?? [0, 1, 2, 3, 4, 5, 6, 7],
    actionVariants: flags.actionVariants ?? flags.variants ?? [5],
    statedMaxTokens: flags.statedMaxTokens ?? 1024,
    actionMaxTokens: flags.actionMaxTokens ?? 256,
    via: "none",
    shard: c.shard,
    dilemmas: input.dataset,
    ...(c.personas ? { personas: c.personas } : {}),
    ...(flags.quadrants ? { quadrants: flags.quadrants.map(resolveQuadrant) } : {}),
    minLetterMass: c.minLetterMass,
  };
}

// `valuelens prompts`

interface DilemmaPromptsFlags {
  country?: string;
  topic?: string;
  dilemma?: string;
  persona?: string;
  quadrant?: string;
  repeats: number;
  seed: number;
}

export function addDilemmaPromptOptions(command: Command): void {
  command
    .option("--dilemma <id>", "dilemma suite: one dilemma (default: all)")
    .option(
      "--quadrant <name>",
      "dilemma suite: the map quadrant of a moderate/max/incongruous persona (default traditional-survival)",
    );
}

export function dilemmaPrompts(input: PromptsInput, load: () => LoadedDilemmas): PromptLine[] {
  const flags = input.flags as unknown as DilemmaPromptsFlags;
  const dataset = load();
  const dilemmas =
    flags.dilemma === undefined ? dataset.dilemmas : dataset.dilemmas.filter((d) => d.id === flags.dilemma);
  if (dilemmas.length === 0)
    throw new UserError(`${dataset.path} has no dilemma with id ${JSON.stringify(flags.dilemma)}`);
  const entries = personaEntries([flags.persona ?? "none"]);
  const personas = dilemmaPersonas({
    personas: entries,
    quadrants: [flags.quadrant ?? "traditional-survival"],
    countries: flags.country ? [resolveCountry(flags.country)] : null,
  });
  const questions = buildDilemmaQuestions(dilemmas, {
    tasks: [input.task],
    repeats: flags.repeats,
    seed: flags.seed,
    personas,
    topics: flags.topic ? [resolveTopic(flags.topic)] : undefined,
    values: input.value ? [input.value] : undefined,
  });
  if (questions.length === 0) throw new UserError(`no dilemma in ${dataset.path} matches the given --topic/--value`);
  return questions.map(promptLineOf);
}
