/** Shared option parsing for the commands. */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { VIA_CSV_NAME } from "../datasets/fetch.js";
import { loadVia, SAMPLE_VIA_PATH, type ViaDataset } from "../suites/via/dataset.js";
import { loadDilemmas, SAMPLE_DILEMMAS_PATH, type LoadedDilemmas } from "../suites/dilemmas/dataset.js";
import type { ModelPaths } from "../models/open.js";
import { defaultModelsFile, readModels, resolveModel, type ResolvedModel } from "../models/registry.js";
import { UserError } from "../util/errors.js";

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

/** Where `valuelens datasets fetch via` puts the released CSV. */
export function fetchedViaPath(cwd = process.cwd()): string {
  return path.join(cwd, "datasets", "cache", VIA_CSV_NAME);
}

/**
 * The dataset of a command: `--via PATH` (or `sample`); without it $VALUELENS_VIA, then the
 * full VIA fetched by `valuelens datasets fetch via`, then the small sample shipped with
 * valuelens (with a note, so nobody runs the sample overnight by mistake).
 */
export async function loadDataset(
  via: string | undefined,
  opts: { quiet?: boolean } = {},
): Promise<{ dataset: ViaDataset; label: string }> {
  const chosen = via ?? process.env.VALUELENS_VIA ?? (existsSync(fetchedViaPath()) ? fetchedViaPath() : undefined);
  if (!chosen || chosen === "sample") {
    if (!chosen && !opts.quiet) {
      process.stderr.write(
        "note: using the small sample dataset shipped with valuelens; `valuelens datasets fetch via` gets the full VIA (or pass --via PATH)\n",
      );
    }
    return { dataset: await loadVia(SAMPLE_VIA_PATH), label: "sample" };
  }
  return { dataset: await loadVia(path.resolve(chosen)), label: path.resolve(chosen) };
}

/** The dilemma suite's dataset: `--dilemmas FILE`, or the sample shipped with valuelens ("sample"). */
export function loadDilemmaDataset(file: string | undefined): { dataset: LoadedDilemmas; label: string } {
  if (file === undefined || file === "sample") return { dataset: loadDilemmas(SAMPLE_DILEMMAS_PATH), label: "sample" };
  return { dataset: loadDilemmas(path.resolve(file)), label: path.resolve(file) };
}

export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}, got ${value}`);
    return n;
  };
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

export function listOption(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** "0-7", "5", "0,2,4" -> numbers in 0..7 */
export function variantsOption(value: string): number[] {
  const out = new Set<number>();
  for (const part of listOption(value)) {
    const m = /^(\d)(?:-(\d))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`variants must be numbers 0-7 or ranges like 0-7, got "${part}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 7 || to > 7 || to < from) throw new InvalidArgumentError(`variants must lie in 0-7, got "${part}"`);
    for (let v = from; v <= to; v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}
