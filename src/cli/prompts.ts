import { Command, Option } from "commander";
import { resolveValue } from "../protocol/values.js";
import { SUITE_NAMES, SUITES } from "../suites/registry.js";
import type { PromptLine } from "../suites/suite.js";
import { UserError } from "../util/errors.js";
import { datasetFlag, intOption, loadSuiteDataset, MAX_REPEATS, suiteOfFlags } from "./common.js";

/** The flags every suite's prompts take; each suite adds its own (`Suite.addPromptOptions`). */
interface PromptsFlags extends Record<string, unknown> {
  task: string;
  value?: string;
  suite?: string;
}

/** Print the exact user prompts a run would send (before the model's chat template). */
export function promptsCommand(): Command {
  const command = new Command("prompts")
    .description("print the exact prompts that would be sent, one JSON object per line (id, prompt, option order)")
    .addOption(
      new Option(
        "--suite <name>",
        `${SUITE_NAMES.join(" or ")}; default ${SUITE_NAMES[0]}, unless a suite's option implies another (e.g. ${SUITES.flatMap((s) => (s.impliedBy ?? []).map((a) => `--${a}`)).join(" / ")})`,
      ).choices(SUITE_NAMES),
    )
    .requiredOption("--task <task>", "stated (the value question) or action")
    .option("--country <name>", "VIA: the scenario's country (required); dilemmas: the country of --persona country")
    .option("--topic <name>", "VIA: the scenario's topic (required); dilemmas: only dilemmas of this topic")
    .option("--value <name>", "one value (default: all)")
    .option(
      "--persona <kind|file>",
      "a persona as the system message: none, moderate, max, incongruous, country or a JSON persona file",
    )
    .option("--repeats <n>", "letters protocol repeats", intOption("--repeats", 1, MAX_REPEATS), 1)
    .option("--seed <n>", "seed of the option orders", intOption("--seed"), 0);
  for (const suite of SUITES)
    if (!command.options.some((o) => o.long === suite.dataset.option))
      command.option(`${suite.dataset.option} <file>`, `${suite.dataset.what} (default: the shipped sample)`);
  for (const suite of SUITES) suite.addPromptOptions(command);
  return command
    .addHelpText(
      "after",
      `\nExamples:\n  valuelens prompts --protocol paper --task action --country Nigeria --topic Politics --value Equality --variant 5\n  valuelens prompts --suite dilemmas --task action --dilemma freedom-politics-1 --persona max --quadrant secular-self-expression --repeats 6`,
    )
    .action((flags: PromptsFlags) => {
      if (flags.task !== "stated" && flags.task !== "action")
        throw new UserError(`--task: unknown task "${flags.task}" (use stated or action)`);
      const value = flags.value ? resolveValue(flags.value) : undefined;
      const suite = suiteOfFlags(flags);
      const lines = suite.prompts(
        { flags, task: flags.task, value },
        () => loadSuiteDataset(suite, datasetFlag(suite, flags)).dataset,
      );
      printLines(lines);
    });
}

/** One JSON line per prompt: id, system message (if any), the user prompt, the option order and letters. */
function printLines(lines: readonly PromptLine[]): void {
  for (const l of lines) process.stdout.write(JSON.stringify(l) + "\n");
}
