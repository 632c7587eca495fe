import { Command } from "commander";
import { formatPreflight, preflight } from "../check/preflight.js";
import { openBackend } from "../models/open.js";
import { UserError } from "../util/errors.js";
import { suiteNamed } from "../suites/registry.js";
import { defaultCacheDir, intOption, loadModelSpec, loadSuiteDataset, modelPaths, shareOption } from "./common.js";

interface CheckFlags {
  model: string;
  models?: string;
  via?: string;
  samples: number;
  persona: string;
  minLetterMass: number;
  cacheDir?: string;
  json?: boolean;
}

/** `valuelens check --model M`: the preflight before a night run. Exits 1 when the letters get too little probability. */
export function checkCommand(): Command {
  return new Command("check")
    .description(
      "preflight a model before a run: its prompt format and pinned template variables, exact prompts, letter tokens, and the letter mass of sample questions",
    )
    .requiredOption(
      "--model <name>",
      "a models.yaml entry, tiny, standin:FAMILY, a .gguf path, ollama:TAG, openai:URL#MODEL or llama-server:URL",
    )
    .option("--models <file>", "models file (default ./models.yaml)")
    .option("--via <path>", "VIA CSV the sample questions come from (default: the shipped sample)")
    .option("--samples <n>", "sample questions to score", intOption("--samples", 1), 20)
    .option("--persona <kind>", "persona shown on the persona prompts (moderate, max, incongruous, country)", "country")
    .option(
      "--min-letter-mass <x>",
      "the mean letter mass below which the check fails (exit 1)",
      shareOption("--min-letter-mass"),
      0.5,
    )
    .option(
      "--cache-dir <dir>",
      "where model digests are remembered (default: the answer cache, $VALUELENS_CACHE_DIR, else $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens)",
    )
    .option("--json", "print the result as JSON")
    .action(async (flags: CheckFlags) => {
      if (flags.persona === "none")
        throw new UserError("--persona: give a persona kind to show (moderate, max, incongruous or country)");
      const model = loadModelSpec(flags.model, flags.models);
      // The preflight asks sample questions of the VIA suite.
      const { dataset } = loadSuiteDataset(suiteNamed("via"), flags.via, { quiet: true });
      const backend = await openBackend(model, modelPaths(flags.cacheDir ?? defaultCacheDir()));
      try {
        const result = await preflight(backend, dataset, {
          samples: flags.samples,
          persona: flags.persona,
          minLetterMass: flags.minLetterMass,
        });
        process.stdout.write(flags.json ? JSON.stringify(result, null, 2) + "\n" : formatPreflight(result));
        if (!result.ok) process.exitCode = 1;
      } finally {
        await backend.close();
      }
    });
}
