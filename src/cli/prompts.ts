import { Command, Option } from "commander";
import { resolveCountry, resolveTopic, resolveValue } from "../protocol/values.js";
import { renderStatedPrompt } from "../suites/via/paper.js";
import { dilemmaPersonas, personaEntries, viaPersonaFor } from "../personas/runPersonas.js";
import { buildDilemmaQuestions } from "../suites/dilemmas/questions.js";
import { baseId, buildQuestions, DEFAULT_ACTION_VARIANTS, DEFAULT_STATED_VARIANTS } from "../suites/via/questions.js";
import type { Question, Task } from "../questions/question.js";
import { UserError } from "../util/errors.js";
import { intOption, MAX_REPEATS, loadDataset, loadDilemmaDataset, variantsOption } from "./common.js";

interface PromptsFlags {
  protocol: "letters" | "paper";
  task: string;
  country?: string;
  topic?: string;
  value?: string;
  variant?: number[];
  repeats: number;
  seed: number;
  via?: string;
  suite?: "via" | "dilemmas";
  dilemmas?: string;
  dilemma?: string;
  persona?: string;
  quadrant?: string;
}

/** Print the exact user prompts a run would send (before the model's chat template). */
export function promptsCommand(): Command {
  return new Command("prompts")
    .description("print the exact prompts that would be sent, one JSON object per line (id, prompt, option order)")
    .addOption(
      new Option("--suite <name>", "via (default) or dilemmas (implied by --dilemmas / --dilemma)").choices([
        "via",
        "dilemmas",
      ]),
    )
    .addOption(new Option("--protocol <name>").choices(["letters", "paper"]).default("letters"))
    .requiredOption("--task <task>", "stated (the value question) or action")
    .option("--country <name>", "VIA: the scenario's country (required); dilemmas: the country of --persona country")
    .option("--topic <name>", "VIA: the scenario's topic (required); dilemmas: only dilemmas of this topic")
    .option("--value <name>", "one value (default: all)")
    .option("--dilemmas <file>", "dilemma suite: the dilemma file (default: the shipped sample)")
    .option("--dilemma <id>", "dilemma suite: one dilemma (default: all)")
    .option(
      "--persona <kind|file>",
      "a persona as the system message: none, moderate, max, incongruous, country or a JSON persona file",
    )
    .option(
      "--quadrant <name>",
      "dilemma suite: the map quadrant of a moderate/max/incongruous persona (default traditional-survival)",
    )
    .option("--variant <list>", "paper protocol variants (default: 0-7 stated, 5 action)", variantsOption)
    .option("--repeats <n>", "letters protocol repeats", intOption("--repeats", 1, MAX_REPEATS), 1)
    .option("--seed <n>", "seed of the option orders", intOption("--seed"), 0)
    .option("--via <path>", "VIA CSV (default: the shipped sample)")
    .addHelpText(
      "after",
      `\nExamples:\n  valuelens prompts --protocol paper --task action --country Nigeria --topic Politics --value Equality --variant 5\n  valuelens prompts --suite dilemmas --task action --dilemma freedom-politics-1 --persona max --quadrant secular-self-expression --repeats 6`,
    )
    .action(async (flags: PromptsFlags) => {
      if (flags.task !== "stated" && flags.task !== "action")
        throw new UserError(`--task: unknown task "${flags.task}" (use stated or action)`);
      const value = flags.value ? resolveValue(flags.value) : undefined;
      if ((flags.suite ?? ((flags.dilemmas ?? flags.dilemma) ? "dilemmas" : "via")) === "dilemmas") {
        printDilemmaPrompts(flags, flags.task, value);
        return;
      }
      if (flags.country === undefined || flags.topic === undefined)
        throw new UserError("--country and --topic are required for VIA prompts (or pass --suite dilemmas)");
      const country = resolveCountry(flags.country);
      const topic = resolveTopic(flags.topic);
      const personaFor = viaPersonaFor({ personas: flags.persona ? personaEntries([flags.persona]) : null });
      const { dataset } = await loadDataset(flags.via);
      if (flags.protocol === "paper" && flags.task === "stated") {
        // The paper's Task-1 prompt rates all 56 values for a scenario: it does not depend on the dataset.
        for (const variant of flags.variant ?? DEFAULT_STATED_VARIANTS) {
          const id = `${baseId({ protocol: "paper", task: "stated", country, topic, value: null, variant })}/r0`;
          const system = personaFor(country)?.system;
          process.stdout.write(
            JSON.stringify({
              id,
              ...(system !== undefined ? { system } : {}),
              prompt: renderStatedPrompt(country, topic, variant),
              order: [],
            }) + "\n",
          );
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
        personaFor,
      });
      if (questions.length === 0) {
        throw new UserError(
          `the dataset has no ${flags.task} questions for ${country} / ${topic}${value ? ` / ${value}` : ""}; pass --via with a VIA CSV that covers them (\`valuelens datasets fetch via\` gets the full one)`,
        );
      }
      printQuestions(questions);
    });
}

/** One JSON line per question: id, system message (if any), the user prompt, the option order and letters. */
function printQuestions(questions: readonly Question[]): void {
  for (const q of questions) {
    const line: Record<string, unknown> = { id: q.id };
    if (q.system !== undefined) line.system = q.system;
    line.prompt = q.segments.join("");
    line.order = q.order;
    if (q.letters) line.letters = q.letters;
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}

function printDilemmaPrompts(flags: PromptsFlags, task: Task, value: string | undefined): void {
  const { dataset } = loadDilemmaDataset(flags.dilemmas);
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
    tasks: [task],
    repeats: flags.repeats,
    seed: flags.seed,
    personas,
    topics: flags.topic ? [resolveTopic(flags.topic)] : undefined,
    values: value ? [value] : undefined,
  });
  if (questions.length === 0) throw new UserError(`no dilemma in ${dataset.path} matches the given --topic/--value`);
  printQuestions(questions);
}
