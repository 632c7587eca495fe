/**
 * valuelens: measure the value-action gap of open-weight language models on your own hardware.
 * One file per command; errors meant for the user print as one line and exit non-zero.
 */
import { Command } from "commander";
import { isUserError } from "../util/errors.js";
import { TOOL_VERSION } from "../util/version.js";
import { cacheCommand } from "./cache.js";
import { checkCommand } from "./check.js";
import { compareCommand } from "./compare.js";
import { datasetsCommand } from "./datasets.js";
import { generateCommand } from "./generate.js";
import { importCommand } from "./import.js";
import { mergeCommand } from "./merge.js";
import { modelsCommand } from "./models.js";
import { personasCommand } from "./personas.js";
import { promptsCommand } from "./prompts.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { viewCommand } from "./view.js";

export function program(): Command {
  const program = new Command("valuelens")
    .description("the value-action gap of open-weight language models (ValueActionLens, VIA), run locally")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)");
  program.addCommand(runCommand());
  program.addCommand(checkCommand());
  program.addCommand(reportCommand());
  program.addCommand(compareCommand());
  program.addCommand(viewCommand());
  program.addCommand(mergeCommand());
  program.addCommand(importCommand());
  program.addCommand(promptsCommand());
  program.addCommand(datasetsCommand());
  program.addCommand(modelsCommand());
  program.addCommand(generateCommand());
  program.addCommand(personasCommand());
  program.addCommand(cacheCommand());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (isUserError(err)) {
      process.stderr.write(`valuelens: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(
      `valuelens: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 2;
  }
}

await main(process.argv);
