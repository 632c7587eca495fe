import path from "node:path";
import { Command } from "commander";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../metrics/uncertainty.js";
import { mergeRuns } from "../runs/merge.js";
import { shellQuote } from "../util/shell.js";
import { UserError } from "../util/errors.js";
import { bootstrapOption, intOption } from "./common.js";

interface MergeFlags {
  out: string;
  via?: string;
  dilemmas?: string;
  bootstrap: number;
  bootstrapSeed?: number;
}

export function mergeCommand(): Command {
  return new Command("merge")
    .description("join the shards of a run (valuelens run --shard I/N) into one run directory")
    .argument("<dirs...>", "run directories of the shards")
    .requiredOption("--out <dir>", "the merged run directory (new)")
    .option("--via <path>", "the VIA CSV the shards ran on, when the path in their config is not on this machine")
    .option(
      "--dilemmas <path>",
      "dilemma runs: the dilemma file the shards ran on, when the path in their config is not on this machine",
    )
    .option(
      "--bootstrap <n>",
      `bootstrap resamples for the 95% intervals (0 disables; default ${DEFAULT_BOOTSTRAP_SAMPLES})`,
      bootstrapOption,
      DEFAULT_BOOTSTRAP_SAMPLES,
    )
    .option("--bootstrap-seed <n>", "seed of the bootstrap (default: the run's --seed)", intOption("--bootstrap-seed"))
    .addHelpText(
      "after",
      `
The shards must share their config (except --shard), model file and dataset. Questions held by
two shards are kept once when their answers are identical, and refused when they differ.
Questions that no shard holds (a gap) are counted: the merged run is then written with status
"interrupted" and the command exits 1; run the missing shard and merge again, or resume the
merged directory with \`valuelens run --out DIR --resume\` (it takes the merged, unsharded config).

Examples:
  valuelens merge runs/llama70-1of4 runs/llama70-2of4 runs/llama70-3of4 runs/llama70-4of4 --out runs/llama70
  valuelens merge runs/shard-* --out runs/merged --via datasets/cache/value_action_gap_full_data_generation.csv`,
    )
    .action(async (dirs: string[], flags: MergeFlags) => {
      const result = await mergeRuns({
        dirs,
        out: flags.out,
        via: flags.via,
        dilemmas: flags.dilemmas,
        outputs: { bootstrap: flags.bootstrap, bootstrapSeed: flags.bootstrapSeed },
      });
      const relative = path.relative(process.cwd(), result.out) || ".";
      const rel = relative.startsWith("..") ? result.out : relative;
      const dup = result.duplicates > 0 ? `, ${result.duplicates} identical duplicates kept once` : "";
      process.stdout.write(
        `merged ${dirs.length} run directories: ${result.recorded} of ${result.total} questions${dup} -> ${rel}\n`,
      );
      if (result.missing.length > 0) {
        const which = result.missingShards.length > 0 ? ` (shard ${result.missingShards.join(", ")})` : "";
        throw new UserError(
          `${result.missing.length} of ${result.total} questions are missing from every shard${which}, e.g. ${result.missing[0]}; ${rel} is written as "interrupted": run the missing shard and merge again, or ask them with: valuelens run --out ${shellQuote(rel)} --resume`,
        );
      }
      process.stdout.write(`report: ${path.join(rel, "report.md")}\n`);
    });
}
