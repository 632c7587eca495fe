/**
 * The run config fields every suite sets from the common `run` flags (`--tasks`, `--repeats`,
 * `--seed`, `--countries`, `--topics`, `--values`, `--limit`, `--shard`, `--persona`,
 * `--min-letter-mass`); each suite's `configFrom` adds its own fields and puts them in the
 * order configs have always been stored in.
 */
import { personaEntries } from "../personas/runPersonas.js";
import { resolveCountries, resolveTopics, resolveValues } from "../protocol/values.js";
import type { Task } from "../questions/question.js";
import { parseShard } from "../questions/shard.js";
import type { RunConfig } from "../records/manifest.js";
import { UserError } from "../util/errors.js";
import type { ConfigInput, Elicitation } from "./suite.js";

/** The common `run` flags (commander attribute names). */
interface CommonFlags {
  tasks: string[];
  repeats?: number;
  seed: number;
  countries?: string[];
  topics?: string[];
  values?: string[];
  limit?: number;
  shard?: string;
  persona?: string[];
  minLetterMass?: number;
}

export type CommonConfig = Pick<
  RunConfig,
  "tasks" | "repeats" | "seed" | "countries" | "topics" | "values" | "limit" | "shard" | "personas" | "minLetterMass"
>;

/**
 * The common fields of a run config. Generated answers are greedy, so their repeats are always
 * 1; letters take `--repeats`, else the suite's default. `personas` is null for no persona
 * (`--persona none` alone is the same run as no --persona: the same config digest).
 */
export function commonConfig(
  input: ConfigInput,
  suite: { readonly tasks: readonly Task[]; readonly defaultRepeats: number },
  elicitation: Elicitation,
): CommonConfig {
  const flags = input.flags as unknown as CommonFlags;
  const tasks = flags.tasks.map((t) => {
    if (!suite.tasks.includes(t as Task))
      throw new UserError(`--tasks: unknown task "${t}" (use ${suite.tasks.join(", ")})`);
    return t as Task;
  });
  const shard = flags.shard === undefined ? null : parseShard(flags.shard);
  const personas = flags.persona ? personaEntries(flags.persona) : null;
  return {
    tasks,
    repeats: elicitation === "generate" ? 1 : (flags.repeats ?? suite.defaultRepeats),
    seed: flags.seed,
    countries: flags.countries ? resolveCountries(flags.countries) : null,
    topics: flags.topics ? resolveTopics(flags.topics) : null,
    values: flags.values ? resolveValues(flags.values) : null,
    limit: flags.limit ?? null,
    shard,
    personas: personas && !(personas.length === 1 && personas[0] === "none") ? personas : null,
    // Report-only: never part of the config digest.
    minLetterMass: flags.minLetterMass,
  };
}
