import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { writeRunOutputs } from "../runner/run.js";
import { readManifest } from "../runs/manifest.js";
import { readRecords } from "../runs/records.js";
import { UserError } from "../util/errors.js";

export function reportCommand(): Command {
  return new Command("report")
    .description("recompute metrics.json and report.md of a run directory from its records, and print the report")
    .argument("<dir>", "run directory")
    .option("--quiet", "write the files without printing the report")
    .action((dir: string, flags: { quiet?: boolean }) => {
      const out = path.resolve(dir);
      const manifest = runFile(() => readManifest(out));
      if (!manifest) throw new UserError(`${out} is not a run directory (no manifest.json); pass the --out of a run`);
      const { records, tornLines } = runFile(() => readRecords(path.join(out, "records.jsonl")));
      if (tornLines > 0) process.stderr.write("note: records.jsonl ends in a torn line (an interrupted run); it was skipped\n");
      if (records.length === 0) throw new UserError(`${out}/records.jsonl holds no records yet`);
      writeRunOutputs(out, manifest, records);
      if (!flags.quiet) process.stdout.write(readFileSync(path.join(out, "report.md"), "utf8"));
    });
}

/** manifest.json / records.jsonl damage is reported with the file's path and what to do: a user error, not a crash. */
function runFile<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof Error && !(err instanceof UserError)) throw new UserError(err.message.split("\n")[0]!);
    throw err;
  }
}
