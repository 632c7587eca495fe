/**
 * `valuelens generate dilemmas|actions`: the data-generation step with local models (no API
 * keys). Output is constrained by a JSON schema at decoding time, validated, cached and
 * resumable; items that stay invalid after the retries are reported, never written.
 */
import path from "node:path";
import { Command } from "commander";
import { AnswerCache } from "../cache/answerCache.js";
import { openBackend } from "../models/open.js";
import { COUNTRIES, resolveCountries, resolveTopics, resolveValues, TOPICS, VALUE_NAMES } from "../protocol/values.js";
import { UserError } from "../util/errors.js";
import { defaultCacheDir, intOption, listOption, loadModelSpec, modelPaths } from "./common.js";
import {
  DEFAULT_SETTINGS,
  describeFailure,
  generateActions,
  generateDilemmas,
  partialPath,
  type GenerateResult,
  type GenerationSettings,
} from "../generate/generate.js";
import type { Backend } from "../backends/backend.js";

interface CommonFlags {
  model: string;
  models?: string;
  out: string;
  cacheDir?: string;
  maxTokens: number;
  maxChars: number;
  retries: number;
  seed: number;
  temperature: number;
  retryTemperature: number;
  values?: string[];
  topics?: string[];
  quiet?: boolean;
}

function numberOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UserError(`${name} must be a number >= 0`);
    return n;
  };
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      "--model <name>",
      "models.yaml entry, `tiny`/`bench` (built-in test models), `standin:FAMILY` (llama3, gemma2, qwen3, gptoss), a .gguf path, `llama-server:URL`, `ollama:TAG` or `openai:URL#MODEL`",
    )
    .option("--models <file>", "models file (default ./models.yaml)")
    .option("--values <list>", "comma-separated values (default: all 56)", listOption)
    .option("--topics <list>", "comma-separated topics (default: all 11)", listOption)
    .option(
      "--cache-dir <dir>",
      "answer cache (default: $VALUELENS_CACHE_DIR, else $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens)",
    )
    .option("--max-tokens <n>", "generation cap per item", intOption("--max-tokens", 1), DEFAULT_SETTINGS.maxTokens)
    .option(
      "--max-chars <n>",
      "cap on the characters of each generated text (enforced while decoding)",
      intOption("--max-chars", 1),
      DEFAULT_SETTINGS.maxChars,
    )
    .option(
      "--retries <n>",
      "retries of an invalid item or a refusal, each with the next seed",
      intOption("--retries"),
      DEFAULT_SETTINGS.retries,
    )
    .option(
      "--seed <n>",
      "seed of the first attempt (attempt k uses seed + k)",
      intOption("--seed"),
      DEFAULT_SETTINGS.seed,
    )
    .option(
      "--temperature <t>",
      "temperature of the first attempt (0 = greedy)",
      numberOption("--temperature"),
      DEFAULT_SETTINGS.temperature,
    )
    .option(
      "--retry-temperature <t>",
      "temperature of the retries",
      numberOption("--retry-temperature"),
      DEFAULT_SETTINGS.retryTemperature,
    )
    .option("--quiet", "no per-item lines");
}

function settingsOf(f: CommonFlags): GenerationSettings {
  return {
    maxTokens: f.maxTokens,
    maxChars: f.maxChars,
    retries: f.retries,
    seed: f.seed,
    temperature: f.temperature,
    retryTemperature: f.retryTemperature,
  };
}

async function withBackend(
  flags: CommonFlags,
  fn: (backend: Backend, cache: AnswerCache) => Promise<GenerateResult>,
): Promise<void> {
  const model = loadModelSpec(flags.model, flags.models);
  const cacheDir = path.resolve(flags.cacheDir ?? defaultCacheDir());
  const cache = AnswerCache.open(cacheDir);
  const backend = await openBackend(model, modelPaths(cacheDir));
  let result: GenerateResult;
  try {
    result = await fn(backend, cache);
  } finally {
    await backend.close();
  }
  const c = result.counts;
  process.stdout.write(
    `done: ${c.written} written, ${c.skipped} already in ${result.out}, ${c.failed} failed ` +
      `(${c.generations} generations, ${c.cacheHits} from the cache, ${c.retries} retries) -> ${result.out}\n`,
  );
  if (result.failures.length > 0) {
    process.stderr.write(
      `${result.failures.length} item(s) stayed invalid after ${flags.retries} retries and were not written:\n`,
    );
    for (const f of result.failures) process.stderr.write(`  ${f.id}: ${describeFailure(f)}\n`);
    process.stderr.write("rerun with another --seed (or a larger --max-tokens) to try them again\n");
    process.exitCode = 1;
  }
}

function log(flags: CommonFlags) {
  return flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
}

export function generateCommand(): Command {
  const cmd = new Command("generate").description(
    "generate data with a local model: dilemmas, or VIA actions (JSON-schema constrained, cached, resumable)",
  );

  const dilemmas = withCommonOptions(
    new Command("dilemmas")
      .description(
        "one moral dilemma per (value, topic), in the dilemma format (JSONL; rerun with the same --out to resume)",
      )
      .requiredOption("--out <file>", "output JSONL file (appended; ids already in it are skipped)"),
  ).action(async (flags: CommonFlags) => {
    const values = flags.values ? resolveValues(flags.values) : [...VALUE_NAMES];
    const topics = flags.topics ? resolveTopics(flags.topics) : [...TOPICS];
    await withBackend(flags, (backend, cache) =>
      generateDilemmas(backend, cache, {
        values,
        topics,
        out: path.resolve(flags.out),
        settings: settingsOf(flags),
        onItem: log(flags),
      }),
    );
  });

  const actions = withCommonOptions(
    new Command("actions")
      .description(
        "VIA rows (an action, its feature attributions and an explanation, for both polarities) that `run --via FILE` accepts",
      )
      .option("--countries <list>", "comma-separated countries (default: all 12)", listOption)
      .requiredOption(
        "--out <file>",
        `output CSV in the VIA layout (progress in FILE.partial.jsonl; rerun with the same --out to resume)`,
      ),
  ).action(async (flags: CommonFlags & { countries?: string[] }) => {
    const countries = flags.countries ? resolveCountries(flags.countries) : [...COUNTRIES];
    const topics = flags.topics ? resolveTopics(flags.topics) : [...TOPICS];
    const values = flags.values ? resolveValues(flags.values) : [...VALUE_NAMES];
    const out = path.resolve(flags.out);
    if (!flags.quiet) process.stderr.write(`progress: ${partialPath(out)}\n`);
    await withBackend(flags, (backend, cache) =>
      generateActions(backend, cache, {
        countries,
        topics,
        values,
        out,
        settings: settingsOf(flags),
        onItem: log(flags),
      }),
    );
  });

  cmd.addCommand(dilemmas);
  cmd.addCommand(actions);
  return cmd;
}
