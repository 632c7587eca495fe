import path from "node:path";
import { Command } from "commander";
import { formatExplanationsSummary, importExplanations } from "../import/explanations.js";
import { formatImportSummary, importOfficial } from "../import/official.js";
import { renderCountryTable } from "../report/report.js";
import { suiteOf } from "../suites/registry.js";

interface ImportOfficialFlags {
  t1?: string;
  t2?: string;
  via?: string;
  modelName: string;
  out: string;
}

/**
 * `valuelens import official`: the paper's released model outputs as a VIA run directory;
 * `valuelens import explanations`: its released predictions as a prediction-suite run directory.
 */
export function importCommand(): Command {
  const cmd = new Command("import").description("turn model outputs made elsewhere into a valuelens run directory");
  cmd
    .command("official")
    .description(
      "import the paper's released outputs (Task-1 CSV, Task-2 eval log or CSV) as a run directory with metrics.json and report.md",
    )
    .option("--t1 <file>", "Task-1 answers (*_t1.csv: country, topic, response, prompt_index)")
    .option(
      "--t2 <file>",
      "Task-2 answers: an eval log (*_t2_eval_log*.jsonl), a CSV in the VIA layout plus model_choice, or the wide layout (evaluation_0..7)",
    )
    .option(
      "--via <path>",
      "the VIA CSV: needed for an eval log (its rows are VIA row numbers); checks the CSV layouts against it",
    )
    .requiredOption("--model-name <name>", "the model the outputs came from")
    .requiredOption("--out <dir>", "run directory to write")
    .addHelpText(
      "after",
      `
Examples:
  valuelens import official --t1 gemma-2-9b-it_t1.csv --model-name gemma-2-9b-it --out runs/gemma-paper
  valuelens import official --t1 claude_t1.csv --t2 claude_t2_eval_log.jsonl \\
      --via datasets/cache/value_action_gap_full_data_generation.csv --model-name claude-sonnet-4 --out runs/claude-paper`,
    )
    .action(async (flags: ImportOfficialFlags) => {
      const result = await importOfficial({
        t1: flags.t1,
        t2: flags.t2,
        via: flags.via,
        modelName: flags.modelName,
        out: flags.out,
      });
      process.stdout.write(formatImportSummary(result));
      const rate = result.metrics.alignmentRate;
      if (rate.overall !== null) {
        process.stdout.write(
          "\n" +
            renderCountryTable([
              { label: result.manifest.config.model, byCountry: rate.byCountry, overall: rate.overall },
            ]) +
            "\n",
        );
      }
      process.stdout.write(
        `\n${result.records.length} records -> ${path.relative(process.cwd(), result.out) || "."}; report: ${path.join(path.relative(process.cwd(), result.out) || ".", "report.md")}\n`,
      );
    });
  cmd
    .command("explanations")
    .description(
      "import the paper's released predictions (<predicted>_explanation_outputs_<mode>.csv, one per mode) as a predict-suite run directory with metrics.json (byMode), intervals and paired differences",
    )
    .argument(
      "<files...>",
      "the released files, one per mode (default, attribution, explanation, attribution_explanation)",
    )
    .option("--model-name <name>", "the predictor that wrote the answers (default: the paper's, gpt-4o-mini)")
    .requiredOption("--out <dir>", "run directory to write")
    .addHelpText(
      "after",
      `
Example:
  valuelens import explanations released/explanations/chatgpt_explanation_outputs_*.csv --out runs/chatgpt-predictions`,
    )
    .action(async (files: string[], flags: { modelName?: string; out: string }) => {
      const result = await importExplanations({ files, modelName: flags.modelName, out: flags.out });
      process.stdout.write(formatExplanationsSummary(result));
      const suite = suiteOf(result.manifest.config);
      process.stdout.write(`\n${suite.headline(result.manifest.config.model, result.metrics)}\n`);
      const shown = path.relative(process.cwd(), result.out) || ".";
      process.stdout.write(
        `\n${result.records.length} records -> ${shown}; report: ${path.join(shown, "report.md")}\n`,
      );
    });
  return cmd;
}
