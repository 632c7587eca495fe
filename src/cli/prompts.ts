import { Command, Option } from "commander";
import { resolveCountry, resolveTopic, resolveValue } from "../protocol/values.js";
import { renderStatedPrompt } from "../protocol/paper.js";
import { baseId, buildQuestions, DEFAULT_ACTION_VARIANTS, DEFAULT_STATED_VARIANTS, type Task } from "../questions/questions.js";
import { UserError } from "../util/errors.js";
import { intOption, loadDataset, variantsOption } from "./common.js";

interface PromptsFlags {
  protocol: "letters" | "paper";
  task: string;
  country: string;
  topic: string;
  value?: string;
  variant?: number[];
  repeats: number;
  seed: number;
  via?: string;
}

/** Print the exact user prompts a run would send (before the model's chat template). */
export function promptsCommand(): Command {
  return new Command("prompts")
    .description("print the exact prompts that would be sent, one JSON object per line (id, prompt, option order)")
    .addOption(new Option("--protocol <name>").choices(["letters", "paper"]).default("letters"))
    .requiredOption("--task <task>", "stated or action")
    .requiredOption("--country <name>")
    .requiredOption("--topic <name>")
    .option("--value <name>", "one value (default: all)")
    .option("--variant <list>", "paper protocol variants (default: 0-7 stated, 5 action)", variantsOption)
    .option("--repeats <n>", "letters protocol repeats", intOption("--repeats", 1), 1)
    .option("--seed <n>", "seed of the option orders", intOption("--seed"), 0)
    .option("--via <path>", "VIA CSV (default: the shipped sample)")
    .addHelpText("after", `\nExample:\n  valuelens prompts --protocol paper --task action --country Nigeria --topic Politics --value Equality --variant 5`)
    .action(async (flags: PromptsFlags) => {
      if (flags.task !== "stated" && flags.task !== "action") throw new UserError(`--task: unknown task "${flags.task}" (use stated or action)`);
      const country = resolveCountry(flags.country);
      const topic = resolveTopic(flags.topic);
      const value = flags.value ? resolveValue(flags.value) : undefined;
      const { dataset } = await loadDataset(flags.via);
      if (flags.protocol === "paper" && flags.task === "stated") {
        // The paper's Task-1 prompt rates all 56 values for a scenario: it does not depend on the dataset.
        for (const variant of flags.variant ?? DEFAULT_STATED_VARIANTS) {
          const id = `${baseId({ protocol: "paper", task: "stated", country, topic, value: null, variant })}/r0`;
          process.stdout.write(JSON.stringify({ id, prompt: renderStatedPrompt(country, topic, variant), order: [] }) + "\n");
        }
        return;
      }
      const questions = buildQuestions(dataset, {
        protocol: flags.protocol,
        tasks: [flags.task as Task],
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
      });
      if (questions.length === 0) {
        throw new UserError(
          `the dataset has no ${flags.task} questions for ${country} / ${topic}${value ? ` / ${value}` : ""}; pass --via with a VIA CSV that covers them (\`valuelens datasets fetch via\` gets the full one)`,
        );
      }
      for (const q of questions) {
        const line: Record<string, unknown> = { id: q.id, prompt: q.segments.join(""), order: q.order };
        if (q.letters) line.letters = q.letters;
        process.stdout.write(JSON.stringify(line) + "\n");
      }
    });
}
