import { existsSync, readdirSync, rmdirSync } from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";
import { openBackend } from "../models/open.js";
import {
  configDigest,
  EXIT_UNAVAILABLE,
  runBenchmark,
  RunUnavailableError,
  unavailableMessage,
} from "../runner/run.js";
import { writeRunOutputs } from "../runs/outputs.js";
import { elicitationOf, SUITE_NAMES, SUITES, suiteOf } from "../suites/registry.js";
import type { AnySuite } from "../suites/suite.js";
import type { Manifest } from "../records/manifest.js";
import type { RunConfig } from "../records/manifest.js";
import { inspectRunDirectory } from "../runs/load.js";
import { checkSameDataset, contradictionError, contradictions, storedDatasetPath } from "./resumeConfig.js";
import { shellQuote } from "../util/shell.js";
import { isUserError, UserError } from "../util/errors.js";
import { FileWriteError } from "../util/durableFiles.js";
import {
  attributeOf,
  datasetFlag,
  defaultCacheDir,
  bootstrapOption,
  intOption,
  MAX_REPEATS,
  listOption,
  shareOption,
  loadModelSpec,
  loadSuiteDataset,
  modelPaths,
  suiteOfFlags,
} from "./common.js";
import { DEFAULT_MIN_LETTER_MASS } from "../report/letterChecks.js";

/** The flags every run has; each suite adds its own (`Suite.addRunOptions`) and reads them itself. */
interface RunFlags extends Record<string, unknown> {
  /** Required, except with `--out DIR --resume` (the run's own model). */
  model?: string;
  models?: string;
  tasks: string[];
  repeats?: number;
  seed: number;
  countries?: string[];
  topics?: string[];
  values?: string[];
  limit?: number;
  out?: string;
  resume?: boolean;
  retryFailed?: boolean;
  cacheDir?: string;
  progress: "auto" | "bars" | "lines" | "quiet";
  bootstrap: number;
  bootstrapSeed?: number;
  shard?: string;
  suite?: string;
  persona?: string[];
  minLetterMass: number;
}

/** `--suite`'s help: each suite, the default first, and the dataset option that implies one. */
function suiteHelp(): string {
  return SUITES.map((s, i) => {
    const implied = s.impliedBy?.includes(attributeOf(s.dataset.option)) ? ` (implied by ${s.dataset.option})` : "";
    return `${s.name}: ${s.description}${i === 0 ? " (default)" : ""}${implied}`;
  }).join("; ");
}

export function runCommand(): Command {
  const command = new Command("run")
    .description("ask a model the stated-value and action questions and write a run directory")
    .option(
      "--model <name>",
      "models.yaml entry, `tiny`/`bench` (built-in test models), `standin:FAMILY` (llama3, gemma2, qwen3, gptoss), a .gguf path, `llama-server:URL`, `ollama:TAG` or `openai:URL#MODEL`",
    )
    .option("--models <file>", "models file (default ./models.yaml)")
    .option("--tasks <list>", "stated,action", listOption, ["stated", "action"])
    .option(
      "--repeats <n>",
      `repeats per question, each with a fresh balanced option order (default: ${SUITES.map((s) => `${s.name} ${s.defaultRepeats}`).join(", ")}; generated answers: 1)`,
      intOption("--repeats", 1, MAX_REPEATS),
    )
    .option("--seed <n>", "seed of the option orders", intOption("--seed"), 0)
    .option(
      "--countries <list>",
      "comma-separated countries (default: all in the dataset; dilemmas: those of --persona country)",
      listOption,
    )
    .option("--topics <list>", "comma-separated topics", listOption)
    .option("--values <list>", "comma-separated values, names as in PROTOCOL.md", listOption)
    .option(
      "--limit <n>",
      "only the first N questions of each task (before repeats); dilemmas: the first N dilemmas",
      intOption("--limit", 1),
    )
    .addOption(new Option("--suite <name>", suiteHelp()).choices(SUITE_NAMES));
  // Each suite's dataset option and its own options (read by its configFrom, refused by the others' checkFlags).
  // Suites may share a dataset option (a suite built on VIA reads --via too): it is added once.
  for (const suite of SUITES)
    if (!command.options.some((o) => o.long === suite.dataset.option))
      command.option(`${suite.dataset.option} <file>`, suite.dataset.description);
  for (const suite of SUITES) suite.addRunOptions(command);
  return command
    .option(
      "--persona <list>",
      "system-message personas: none, moderate, max, incongruous, country or a JSON persona file; dilemmas take a list (e.g. none,moderate,max,incongruous), VIA one",
      listOption,
    )
    .option("--out <dir>", "run directory (default runs/<model>-<date>-<config hash>)")
    .option(
      "--resume",
      "continue the run in --out with its own config (no other flag needed; flags that contradict it are refused)",
    )
    .option(
      "--retry-failed",
      "with --resume: ask again the questions recorded as failed (the backend rejected them); without it a resume keeps them",
    )
    .option(
      "--cache-dir <dir>",
      "answer cache (default: $VALUELENS_CACHE_DIR, else $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens)",
    )
    .option(
      "--shard <i/n>",
      "run only shard I of N (1-based; a fixed split of the questions; join the shards with `valuelens merge`)",
    )
    .addOption(
      new Option("--progress <mode>", "progress display").choices(["auto", "bars", "lines", "quiet"]).default("auto"),
    )
    .option(
      "--min-letter-mass <x>",
      "letters protocol: warn (progress output, once, over the first 20 answers) and open report.md with a warning when the mean letter mass is below X, in [0,1]",
      shareOption("--min-letter-mass"),
      DEFAULT_MIN_LETTER_MASS,
    )
    .option(
      "--bootstrap <n>",
      "bootstrap resamples for the 95% intervals in metrics.json and report.md (0 disables)",
      bootstrapOption,
      1000,
    )
    .option("--bootstrap-seed <n>", "seed of the bootstrap (default: --seed)", intOption("--bootstrap-seed"))
    .addHelpText(
      "after",
      `
Examples:
  valuelens run --model tiny --countries Nigeria --repeats 2           # the demo model on the sample data
  valuelens run --model gemma-2-9b-q8 --via datasets/cache/via.csv --repeats 5 --out runs/gemma-q8
  valuelens run --out runs/gemma-q8 --resume                           # continue after a crash (the run's own config)
  valuelens run --out runs/gemma-q8 --resume --retry-failed            # ask the failed questions again
  valuelens run --model qwen3-8b-q8 --protocol paper --tasks action --action-variants 5
  valuelens run --model ./my-model.Q4_K_M.gguf --countries "United States,India" --topics Politics
  valuelens run --model llama-3.3-70b-q4 --via VIA.csv --shard 2/4 --out runs/llama70-2of4   # one machine's quarter
  valuelens run --model tiny --suite dilemmas --persona none,moderate,max,incongruous          # the persona study on the sample dilemmas
  valuelens run --model qwen3-8b-q8 --dilemmas my-dilemmas.jsonl --persona none,country --countries Nigeria,Germany
  valuelens run --model gemma-2-9b-q8 --via VIA.csv --persona country --out runs/gemma-country   # VIA with each country's persona`,
    )
    .action(async (flags: RunFlags, cmd: Command) => {
      if (flags.retryFailed && !flags.resume)
        throw new UserError(
          "--retry-failed asks the failed questions of an existing run again: add --resume (with that run's --out)",
        );
      const given = (attribute: string) => cmd.getOptionValueSource(attribute) === "cli";
      // `--out DIR --resume`: the directory's own config; the flags given must agree with it.
      const stored = flags.resume && flags.out !== undefined ? storedRun(flags.out) : undefined;
      if (flags.model === undefined && !stored) {
        throw new UserError(
          flags.resume && flags.out !== undefined
            ? existsSync(flags.out)
              ? `--resume: ${flags.out} holds no manifest.json to take the run's config from; pass --model and the run's other flags`
              : `--resume: ${path.resolve(flags.out)} does not exist, so there is no run to resume; check --out, or drop --resume to start a new run`
            : "required option '--model <name>' not specified (or resume a run with `--out DIR --resume`)",
        );
      }
      // Without --suite or a dataset option, a resume continues the run's own suite.
      const suite =
        stored && !given("suite") && !SUITES.some((s) => given(attributeOf(s.dataset.option)))
          ? suiteOf(stored.config)
          : runSuite(flags);
      if (stored && suite !== suiteOf(stored.config))
        throw contradictionError(flags.out!, [`--suite ${suite.name} (the run has ${suiteOf(stored.config).name})`]);
      const datasetOption = suite.dataset.option;
      const datasetGiven = datasetFlag(suite, flags);
      const datasetPath = stored && datasetGiven === undefined ? storedDatasetPath(stored) : datasetGiven;
      const { dataset, label } = loadSuiteDataset(suite, datasetPath);
      if (stored)
        checkSameDataset(
          flags.out!,
          stored,
          dataset.sha256,
          datasetGiven === undefined ? datasetPath! : `${datasetOption} ${datasetGiven}`,
          datasetGiven === undefined ? null : datasetOption,
        );
      const fresh = suite.configFrom({ flags, model: flags.model ?? stored!.config.model, dataset: label });
      let config = fresh;
      if (stored) {
        const wrong = contradictions(stored.config, fresh, given);
        if (wrong.length > 0) throw contradictionError(flags.out!, wrong);
        // The run's own config (its dataset label too, so its digest is unchanged); only the
        // report-only threshold may be set anew.
        config = {
          ...stored.config,
          ...(given("minLetterMass") || stored.config.minLetterMass === undefined
            ? { minLetterMass: flags.minLetterMass }
            : {}),
        };
      }
      if (elicitationOf(config) === "generate" && flags.repeats && flags.repeats > 1) {
        process.stderr.write(
          "note: the paper protocol decodes greedily, so repeats would be identical; each prompt is asked once\n",
        );
      }
      const model = loadModelSpec(config.model, flags.models);
      const out = flags.out ?? defaultOutDir(model.name, config);
      const cacheDir = path.resolve(flags.cacheDir ?? defaultCacheDir());
      const controller = new AbortController();
      // Ctrl-C, SIGTERM (a scheduler ending the job) and SIGHUP (the terminal or ssh session
      // closed) stop after the current question, with the records intact and the run
      // directory's lock released; a second one quits at once.
      let stoppedBy: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signal === "SIGHUP") quietClosedTerminal();
        if (controller.signal.aborted) process.exit(signalExitCode(signal));
        stoppedBy = signal;
        const again = signal === "SIGINT" ? "Ctrl-C" : signal;
        process.stderr.write(
          `\ninterrupting${signal === "SIGINT" ? "" : ` (${signal})`}: finishing the current question (${again} again to quit at once)\n`,
        );
        controller.abort();
      };
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      const outAbs = path.resolve(out);
      const outExisted = existsSync(outAbs);
      try {
        let result: Awaited<ReturnType<typeof runBenchmark>>;
        let metrics: object | undefined;
        try {
          result = await runBenchmark({
            config,
            dataset,
            out,
            resume: flags.resume === true,
            retryFailed: flags.retryFailed === true,
            cacheDir,
            progress: flags.progress,
            openBackend: () => openBackend(model, modelPaths(cacheDir)),
            signal: controller.signal,
            // The report is a separate step, written while the run directory is still locked.
            whenDone: async (r) => {
              metrics = await writeRunOutputs(r.out, r.manifest, r.records, {
                bootstrap: flags.bootstrap,
                bootstrapSeed: flags.bootstrapSeed,
              });
            },
          });
        } catch (err) {
          // A run that failed before writing anything (e.g. the model would not load) leaves no
          // empty run directory behind.
          if (!outExisted) removeIfEmpty(outAbs);
          if (err instanceof RunUnavailableError) {
            // The server was down from the start: nothing was asked in this invocation.
            const again =
              err.recorded > 0 ? `resume with: ${resumeCommand(displayPath(outAbs))}` : "run it again when it is back";
            throw new UserError(`${err.message}; ${again}`, err.exitCode);
          }
          throw runDirError(err, outAbs, () => resumeCommand(displayPath(outAbs)));
        }
        const rel = displayPath(result.out);
        if (result.stopped) {
          // A server went away after its retries: the run stopped with its records intact.
          const { endpoint, reason } = result.stopped;
          throw new UserError(
            `${unavailableMessage(endpoint, reason, result.recorded, result.total)}; resume with: ${resumeCommand(rel)}`,
            EXIT_UNAVAILABLE,
          );
        }
        process.stdout.write(
          `${result.interrupted ? "interrupted" : "done"}: ${result.answered} answered (${result.cacheHits} from the cache, ${result.evaluations} model evaluations) -> ${rel}\n`,
        );
        if (result.interrupted) {
          process.stdout.write(`resume with: ${resumeCommand(rel)}\n`);
          process.exitCode = signalExitCode(stoppedBy ?? "SIGINT");
          return;
        }
        if (result.failed > 0) {
          // The run is complete; its metrics leave these out (report.md says so and lists the reasons).
          const retry = resumeCommand(rel) + (flags.retryFailed ? "" : " --retry-failed");
          process.stderr.write(
            `valuelens: ${result.failed} of ${result.total} questions failed (the backend gave no answer; reasons in ${path.join(rel, "report.md")}) and are excluded from the metrics; ask them again with: ${retry}\n`,
          );
        }
        if (metrics) process.stdout.write("\n" + suite.headline(model.name, metrics) + "\n");
        process.stdout.write(`\nreport: ${path.join(rel, "report.md")}\n`);
      } finally {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
      }
    });
}

/** The signals that stop a run like Ctrl-C. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** 128 + the signal's number, as a shell reports a process the signal ended. */
function signalExitCode(signal: NodeJS.Signals): number {
  return signal === "SIGTERM" ? 143 : signal === "SIGHUP" ? 129 : 130;
}

/** After SIGHUP the terminal may be gone: writing to it fails (EIO), which must not end the run. */
function quietClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr])
    if (stream.listenerCount("error") === 0) stream.on("error", () => {});
}

/** The manifest of the run in `out`, when it holds one (a resume takes its config from it). */
function storedRun(out: string): Manifest | undefined {
  const state = inspectRunDirectory(out);
  if (state.kind === "run" && state.manifest?.imported)
    throw new UserError(
      `--resume: ${out} holds outputs imported by \`valuelens import\`, not a run to continue; choose another --out`,
    );
  return state.kind === "run" ? state.manifest : undefined;
}

/** `--suite`, implied by a suite's flag (`--dilemmas`); options of another suite are errors, not silently ignored. */
function runSuite(flags: RunFlags): AnySuite {
  const suite = suiteOfFlags(flags);
  suite.checkFlags(flags);
  return suite;
}

function removeIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // leave it: an empty directory never blocks a later run
  }
}

/** The run directory's own files (manifest.json, records.jsonl) report damage with their path: that is the user's to fix. */
function runDirError(err: unknown, out: string, resume: () => string): unknown {
  // A full, read-only or misplaced disk: continue the run once fixed, where there is a run to continue.
  if (err instanceof FileWriteError)
    return err.withNext(
      existsSync(path.join(out, "manifest.json")) ? `resume with: ${resume()}` : "run the command again",
      displayPath,
    );
  if (err instanceof Error && !isUserError(err) && err.message.startsWith(out + path.sep))
    return new UserError(err.message.split("\n")[0]!);
  return err;
}

/** A path as the user would type it: relative to the working directory unless outside it. */
function displayPath(abs: string): string {
  const relative = path.relative(process.cwd(), abs) || ".";
  return relative.startsWith("..") ? abs : relative;
}

/**
 * The command that continues this run, shell-safe: `--out DIR --resume` (the run directory
 * holds its config), plus the options that say where the model and the cache are.
 */
export function resumeCommand(out: string, argv: readonly string[] = process.argv): string {
  return ["valuelens", "run", "--out", out, "--resume", ...locationFlags(argv)].map(shellQuote).join(" ");
}

function defaultOutDir(modelName: string, config: RunConfig): string {
  const date = new Date().toISOString().slice(0, 10);
  const safe = modelName.replace(/[^A-Za-z0-9._-]+/g, "-");
  return path.join("runs", `${safe}-${date}-${configDigest(config).slice(0, 8)}`);
}

/** --models FILE and --cache-dir DIR as the user gave them (a resume needs them to find the model and the cache). */
function locationFlags(argv: readonly string[]): string[] {
  const args = argv.slice(argv.indexOf("run") + 1);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === "--models" || a === "--cache-dir") && i + 1 < args.length) kept.push(a, args[++i]!);
    else if (a.startsWith("--models=") || a.startsWith("--cache-dir=")) kept.push(a);
  }
  return kept;
}
