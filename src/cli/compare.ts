import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { compareRuns, DEFAULT_BOOTSTRAP_SAMPLES } from "../compare/compare.js";
import { alignmentRateTable, compareTables, renderCompareMarkdown } from "../report/compareReport.js";
import { renderTable, type TableFormat } from "../report/table.js";
import { UserError } from "../util/errors.js";
import { intOption } from "./common.js";

interface CompareFlags {
  out?: string;
  allowPartial?: boolean;
  bootstrap: number;
  seed?: number;
  format: TableFormat;
}

export function compareCommand(): Command {
  return new Command("compare")
    .description("compare runs side by side (one model at several quantizations, or several models): alignment rates with intervals, paired differences, agreement")
    .argument("<runs...>", "two or more run directories")
    .option("--out <dir>", "write compare.md and compare.json here (default: print compare.md)")
    .option("--allow-partial", "compare runs that asked different questions on the questions they all share")
    .option("--bootstrap <n>", `bootstrap resamples per interval (0: no intervals; default ${DEFAULT_BOOTSTRAP_SAMPLES})`, intOption("--bootstrap"), DEFAULT_BOOTSTRAP_SAMPLES)
    .option("--seed <n>", "seed of the bootstrap (default: the first run's --seed, as valuelens report uses)", intOption("--seed"))
    .addOption(new Option("--format <fmt>", "md: compare.md only; csv / json: also each table in <out>/tables/").choices(["md", "csv", "json"]).default("md"))
    .addHelpText(
      "after",
      `
Examples:
  valuelens compare runs/gemma-q8 runs/gemma-q4                      # print compare.md
  valuelens compare runs/gemma-q8 runs/gemma-q4 runs/llama --out runs/cmp --format csv
  valuelens compare runs/all-countries runs/nigeria --allow-partial  # only the shared questions`,
    )
    .action((dirs: string[], flags: CompareFlags) => {
      if (dirs.length < 2) throw new UserError("compare needs at least two run directories, e.g. valuelens compare runs/a runs/b");
      if (flags.format !== "md" && flags.out === undefined) {
        throw new UserError(`--format ${flags.format} writes one file per table: pass --out DIR`);
      }
      const result = compareRuns(dirs, { allowPartial: flags.allowPartial === true, bootstrap: flags.bootstrap, seed: flags.seed });
      const markdown = renderCompareMarkdown(result);
      if (flags.out === undefined) {
        process.stdout.write(markdown);
        return;
      }
      const out = path.resolve(flags.out);
      mkdirSync(out, { recursive: true });
      writeFileSync(path.join(out, "compare.md"), markdown);
      writeFileSync(path.join(out, "compare.json"), JSON.stringify(result, null, 2) + "\n");
      const written = [path.join(out, "compare.md"), path.join(out, "compare.json")];
      if (flags.format !== "md") {
        const dir = path.join(out, "tables");
        mkdirSync(dir, { recursive: true });
        for (const t of compareTables(result, "data")) {
          const file = path.join(dir, `${t.name}.${flags.format}`);
          writeFileSync(file, renderTable(t, flags.format));
          written.push(file);
        }
      }
      if (result.questions.partial) process.stdout.write(`partial comparison: ${result.questions.shared} shared questions (--allow-partial)\n\n`);
      process.stdout.write(renderTable(alignmentRateTable(result, "text"), "md"));
      process.stdout.write(`\nwrote ${written.map((f) => path.relative(process.cwd(), f) || f).join(", ")}\n`);
    });
}
