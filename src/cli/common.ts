/** Shared option parsing for the commands. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { InvalidArgumentError, Option } from "commander";
import type { ModelPaths } from "../models/open.js";
import { defaultModelsFile, readModels, resolveModel, type ResolvedModel } from "../models/registry.js";
import { SUITES, suiteNamed } from "../suites/registry.js";
import type { AnySuite, Suite, SuiteDataset } from "../suites/suite.js";
import { UserError } from "../util/errors.js";

export { bootstrapOption, intOption, listOption } from "../util/options.js";

/**
 * The per-user cache root, never relative to the working directory: $VALUELENS_CACHE_DIR, else
 * $XDG_CACHE_HOME/valuelens (only an absolute XDG_CACHE_HOME counts, as the XDG spec says),
 * else ~/.cache/valuelens. It holds the answer cache (`answers/`, `model-digests.json`; moved
 * by --cache-dir), `models/` (built-in test models, stand-ins, `models pull`) and `llama.cpp/`
 * (the llama.cpp files stand-ins are built from); these two move only with the root.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VALUELENS_CACHE_DIR) return path.resolve(env.VALUELENS_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "valuelens");
  return path.join(env.HOME || homedir(), ".cache", "valuelens");
}

/** The answer cache without --cache-dir: the cache root itself (`<root>/answers/`). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return cacheRoot(env);
}

/** Where models live: `<cache root>/models`. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRoot(env), "models");
}

/** Models under the cache root; model digests are remembered in the answer cache `cacheDir`. */
export function modelPaths(cacheDir: string, env: NodeJS.ProcessEnv = process.env): ModelPaths {
  return { modelsDir: defaultModelsDir(env), cacheDir, llamaCppDir: path.join(cacheRoot(env), "llama.cpp") };
}

/** `--models FILE` (must exist when given) or ./models.yaml (may be absent). */
export function modelsFileOption(modelsFile: string | undefined): string {
  if (modelsFile === undefined) return defaultModelsFile();
  if (!existsSync(modelsFile))
    throw new UserError(
      `--models ${modelsFile}: file not found; check the path (without --models, valuelens reads ./models.yaml)`,
    );
  return modelsFile;
}

export function loadModelSpec(spec: string, modelsFile?: string): ResolvedModel {
  const file = modelsFileOption(modelsFile);
  return resolveModel(spec, readModels(file), modelsFile ?? "models.yaml");
}

/** The commander attribute name of an option: `--via` -> `via`, `--stated-max-tokens` -> `statedMaxTokens`. */
export function attributeOf(option: string): string {
  return new Option(option).attributeName();
}

/** The flag naming a suite's dataset file (`--via FILE`), as parsed. */
export function datasetFlag(suite: AnySuite, flags: Record<string, unknown>): string | undefined {
  return flags[attributeOf(suite.dataset.option)] as string | undefined;
}

/** `--suite`, else the suite a flag implies (`--dilemmas`), else the registry's first. */
export function suiteOfFlags(flags: Record<string, unknown>): AnySuite {
  if (typeof flags.suite === "string") return suiteNamed(flags.suite);
  return SUITES.find((s) => s.impliedBy?.some((attribute) => flags[attribute] !== undefined)) ?? SUITES[0]!;
}

/**
 * A suite's dataset: the file named (or `sample`); without one the suite's default (VIA:
 * $VALUELENS_VIA, then the full VIA fetched by `valuelens datasets fetch via`), else the small
 * sample shipped with valuelens, with the suite's note (so nobody runs the sample overnight by
 * mistake). The label is what the config stores: "sample" or the absolute path.
 */
export function loadSuiteDataset<D extends SuiteDataset>(
  suite: Pick<Suite<D>, "dataset" | "loadDataset">,
  file: string | undefined,
  opts: { quiet?: boolean } = {},
): { dataset: D; label: string } {
  const chosen = file ?? suite.dataset.defaultFile?.();
  if (!chosen || chosen === "sample") {
    if (!chosen && !opts.quiet && suite.dataset.sampleNote) process.stderr.write(`note: ${suite.dataset.sampleNote}\n`);
    return { dataset: suite.loadDataset(suite.dataset.samplePath), label: "sample" };
  }
  return { dataset: suite.loadDataset(path.resolve(chosen)), label: path.resolve(chosen) };
}

/** The most repeats a question may have (each is a model evaluation; 1,000 is already far past any balanced cycle). */
export const MAX_REPEATS = 1000;

/** A number in [0, 1] (a share or probability). */
export function shareOption(name: string) {
  return (value: string): number => {
    const n = value.trim() === "" ? NaN : Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1)
      throw new InvalidArgumentError(`${name} must be a number in [0,1], got "${value}"`);
    return n;
  };
}
