import path from "node:path";
import { Command, Option } from "commander";
import { compareRuns } from "../compare/compare.js";
import { writeCompareHtml } from "../compare/html.js";
import { loadRun } from "../compare/load.js";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../metrics/uncertainty.js";
import { type FigureFormat, figuresOption, writeFigureFiles } from "../report/figure.js";
import { renderTable, type TableFormat } from "../report/table.js";
import { ensureDir, writeFileAtomic } from "../util/durableFiles.js";
import { UserError } from "../util/errors.js";
import { bootstrapOption, intOption } from "./common.js";

interface CompareFlags {
  out?: string;
  html?: string;
  allowPartial?: boolean;
  bootstrap: number;
  seed?: number;
  format: TableFormat;
  figures?: FigureFormat[];
}

export function compareCommand(): Command {
  return new Command("compare")
    .description(
      "compare runs side by side (one model at several quantizations, or several models): alignment rates with intervals, paired differences, agreement",
    )
    .argument("<runs...>", "two or more run directories")
    .option("--out <dir>", "write compare.md, compare.json and compare.html here (default: print compare.md)")
    .option("--html <file>", "also write the comparison as one self-contained HTML page to this file")
    .option("--allow-partial", "compare runs that asked different questions on the questions they all share")
    .option(
      "--bootstrap <n>",
      `bootstrap resamples per interval (0: no intervals; default ${DEFAULT_BOOTSTRAP_SAMPLES})`,
      bootstrapOption,
      DEFAULT_BOOTSTRAP_SAMPLES,
    )
    .option(
      "--seed <n>",
      "seed of the bootstrap (default: the first run's --seed, as valuelens report uses)",
      intOption("--seed"),
    )
    .addOption(
      new Option("--format <fmt>", "md: compare.md only; csv / json: also each table in <out>/tables/")
        .choices(["md", "csv", "json"])
        .default("md"),
    )
    .option(
      "--figures <formats>",
      "also write every figure of the comparison to <out>/figures/<name>.svg|pdf (svg, pdf or svg,pdf; sized for a paper)",
      figuresOption,
    )
    .addHelpText(
      "after",
      `
Examples:
  valuelens compare runs/gemma-q8 runs/gemma-q4                      # print compare.md
  valuelens compare runs/gemma-q8 runs/gemma-q4 runs/llama --out runs/cmp --format csv
  valuelens compare runs/all-countries runs/nigeria --allow-partial  # only the shared questions
  valuelens compare runs/gemma-dilemmas runs/llama-dilemmas          # dilemma suite: per persona kind, differences from the first run`,
    )
    .action(async (dirs: string[], flags: CompareFlags) => {
      if (dirs.length < 2)
        throw new UserError("compare needs at least two run directories, e.g. valuelens compare runs/a runs/b");
      if (flags.format !== "md" && flags.out === undefined) {
        throw new UserError(`--format ${flags.format} writes one file per table: pass --out DIR`);
      }
      if (flags.figures !== undefined && flags.out === undefined)
        throw new UserError("--figures writes one file per figure: pass --out DIR");
      const opts = { allowPartial: flags.allowPartial === true, bootstrap: flags.bootstrap, seed: flags.seed };
      const runs = dirs.map((d) => loadRun(d));
      const c = compareRuns(runs, opts);
      const html = flags.html === undefined ? undefined : path.resolve(flags.html);
      if (flags.out === undefined) {
        process.stdout.write(c.markdown);
        if (html !== undefined) {
          await writeCompareHtml(html, runs, c);
          process.stderr.write(`wrote ${path.relative(process.cwd(), html) || html}\n`);
        }
        return;
      }
      const out = path.resolve(flags.out);
      ensureDir(out);
      writeFileAtomic(path.join(out, "compare.md"), c.markdown);
      writeFileAtomic(path.join(out, "compare.json"), JSON.stringify(c.result, null, 2) + "\n");
      const page = html ?? path.join(out, "compare.html");
      await writeCompareHtml(page, runs, c);
      const written = [path.join(out, "compare.md"), path.join(out, "compare.json"), page];
      if (flags.format !== "md") {
        const dir = path.join(out, "tables");
        ensureDir(dir);
        for (const t of c.tables) {
          const file = path.join(dir, `${t.name}.${flags.format}`);
          writeFileAtomic(file, renderTable(t, flags.format));
          written.push(file);
        }
      }
      if (flags.figures !== undefined) written.push(...(await writeFigureFiles(out, c.figures ?? [], flags.figures)));
      if (c.result.questions.partial)
        process.stdout.write(`partial comparison: ${c.result.questions.shared} shared questions (--allow-partial)\n\n`);
      process.stdout.write(renderTable(c.headline, "md"));
      process.stdout.write(`\nwrote ${written.map((f) => path.relative(process.cwd(), f) || f).join(", ")}\n`);
    });
}
