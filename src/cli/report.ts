import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../metrics/uncertainty.js";
import { type FigureFormat, figuresOption } from "../report/figure.js";
import { writeReportTables } from "../report/table.js";
import { writeRunOutputs } from "../runs/outputs.js";
import { suiteOf } from "../suites/registry.js";
import { loadRunDirectory, requireRunDirectory } from "../runs/load.js";
import { withRunLock } from "../runs/lock.js";
import { UserError } from "../util/errors.js";
import { bootstrapOption, intOption } from "./common.js";

interface ReportFlags {
  quiet?: boolean;
  format: "md" | "csv" | "json";
  bootstrap?: number;
  bootstrapSeed?: number;
  figures?: FigureFormat[];
}

export function reportCommand(): Command {
  return new Command("report")
    .description(
      "recompute metrics.json and report.md of a run directory from its records, and print the report (or write its tables as CSV/JSON)",
    )
    .argument("<dir>", "run directory")
    .option("--quiet", "write the files without printing the report")
    .addOption(
      new Option(
        "--format <format>",
        "md: print report.md; csv / json: write every table of the report to <dir>/tables/<name>.csv|json",
      )
        .choices(["md", "csv", "json"])
        .default("md"),
    )
    .option(
      "--bootstrap <n>",
      `bootstrap resamples for the 95% intervals (0 disables; default: as recorded in metrics.json, else ${DEFAULT_BOOTSTRAP_SAMPLES})`,
      bootstrapOption,
    )
    .option(
      "--bootstrap-seed <n>",
      "seed of the bootstrap (default: as recorded in metrics.json, else the run's --seed)",
      intOption("--bootstrap-seed"),
    )
    .option(
      "--figures <formats>",
      "also write every figure of the run to <dir>/figures/<name>.svg|pdf (svg, pdf or svg,pdf; sized for a paper column, heatmaps for a page)",
      figuresOption,
    )
    .addHelpText(
      "after",
      `
Examples:
  valuelens report runs/gemma-q8                      # recompute and print report.md
  valuelens report runs/gemma-q8 --figures svg,pdf    # runs/gemma-q8/figures/*.svg and *.pdf for LaTeX
  valuelens report runs/gemma-q8 --bootstrap 5000     # tighter interval ends (more resamples)
  valuelens report runs/gemma-q8 --format csv         # runs/gemma-q8/tables/*.csv for pandas or R`,
    )
    .action(async (dir: string, flags: ReportFlags) => {
      const out = path.resolve(dir);
      requireRunDirectory(out); // before the lock: never creates or locks a directory that is not a run
      // The report writes into the run directory (metrics.json, report.md, charts, tables): it
      // holds the directory's lock, so it never writes while a run or another report does.
      await withRunLock(out, { advice: "wait for it to finish, then run valuelens report again" }, async () => {
        const run = loadRunDirectory(out);
        const { manifest, records } = run;
        for (const note of run.notes) process.stderr.write(`note: ${note}\n`);
        if (records.length === 0) throw new UserError(`${out}/records.jsonl holds no records yet`);
        const previous = recordedBootstrap(out);
        const metrics = await writeRunOutputs(out, manifest, records, {
          bootstrap: flags.bootstrap ?? previous.samples,
          bootstrapSeed: flags.bootstrapSeed ?? previous.seed,
          notes: [...run.notes.map((n) => `${n}.`), ...(run.unchecked ? [run.unchecked] : [])],
          ...(flags.figures ? { figures: flags.figures } : {}),
        });
        if (flags.figures && !flags.quiet)
          process.stderr.write(`wrote the figures (${flags.figures.join(", ")}) to ${path.join(out, "figures")}\n`);
        if (flags.format === "md") {
          if (!flags.quiet) process.stdout.write(readFileSync(path.join(out, "report.md"), "utf8"));
          return;
        }
        const tables = suiteOf(manifest.config).tables(manifest, metrics, records);
        const files = writeReportTables(out, tables, flags.format);
        if (!flags.quiet) {
          const rel = (f: string) => path.relative(process.cwd(), f) || f;
          process.stdout.write(
            `wrote ${files.length} tables (${flags.format}):\n${files.map((f) => `  ${rel(f)}\n`).join("")}`,
          );
        }
      });
    });
}

/**
 * The bootstrap settings the run's metrics.json was written with, so that `valuelens report`
 * reproduces the intervals `valuelens run --bootstrap N` printed unless told otherwise.
 */
function recordedBootstrap(dir: string): { samples?: number; seed?: number } {
  const file = path.join(dir, "metrics.json");
  if (!existsSync(file)) return {};
  try {
    const b = (
      JSON.parse(readFileSync(file, "utf8")) as { intervals?: { bootstrap?: { samples?: unknown; seed?: unknown } } }
    ).intervals?.bootstrap;
    const int = (x: unknown) => (typeof x === "number" && Number.isInteger(x) && x >= 0 ? x : undefined);
    return { samples: int(b?.samples), seed: int(b?.seed) };
  } catch {
    return {}; // a damaged metrics.json is simply rewritten
  }
}
