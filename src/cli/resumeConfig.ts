/**
 * `valuelens run --out DIR --resume`: the run directory's own config, with the user's flags
 * checked against it.
 *
 * A resume needs no flag but --out: the model, suite, dataset and every option that decides
 * the questions come from DIR/manifest.json. A flag the user does give must say what the run
 * already says; one that contradicts it is refused, naming the flag and the run's value (a
 * resume never quietly becomes another run). The dataset may live at another path on this
 * machine: --via / --dilemmas naming a file with the run's sha256 is the same dataset.
 * Options that change no answer (--progress, --bootstrap, --min-letter-mass, --cache-dir,
 * --models) are free.
 */
import { existsSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import type { Manifest, RunConfig } from "../records/manifest.js";
import { suiteOf } from "../suites/registry.js";
import { UserError } from "../util/errors.js";

/** The config fields a flag sets, with the flags (commander attribute names) that set them. */
const FIELD_FLAGS: ReadonlyArray<readonly [keyof RunConfig, readonly string[]]> = [
  ["model", ["model"]],
  ["protocol", ["protocol"]],
  ["tasks", ["tasks"]],
  ["repeats", ["repeats"]],
  ["seed", ["seed"]],
  ["countries", ["countries"]],
  ["topics", ["topics"]],
  ["values", ["values"]],
  ["limit", ["limit"]],
  ["statedVariants", ["statedVariants", "variants"]],
  ["actionVariants", ["actionVariants", "variants"]],
  ["statedMaxTokens", ["statedMaxTokens"]],
  ["actionMaxTokens", ["actionMaxTokens"]],
  ["shard", ["shard"]],
  ["personas", ["persona"]],
  ["quadrants", ["quadrants"]],
];

/** `statedMaxTokens` -> `--stated-max-tokens` */
export function flagName(attribute: string): string {
  return "--" + attribute.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (Array.isArray(value))
    return value.length === 0
      ? "none"
      : value
          .map((v) => (typeof v === "object" && v && "file" in v ? (v as { file: string }).file : String(v)))
          .join(",");
  if (typeof value === "object" && value && "index" in value && "count" in value)
    return `${(value as { index: number }).index}/${(value as { count: number }).count}`;
  if (typeof value === "object" && value && "dir" in value) return String((value as { dir: unknown }).dir);
  return String(value);
}

/** The refusal for flags that contradict the run being resumed. */
export function contradictionError(dir: string, items: readonly string[]): UserError {
  return new UserError(
    `--resume: ${items.join("; ")}: ${dir} holds a run made otherwise; drop ${items.length === 1 ? "that flag" : "those flags"} to resume it as it was started (\`valuelens run --out ${dir} --resume\` needs no other flag), or choose another --out for a new run`,
  );
}

/**
 * The flags given that disagree with the stored config: `fresh` is the config the flags build
 * (with the stored values where a flag was not given), `given(attr)` whether the user typed it.
 */
export function contradictions(stored: RunConfig, fresh: RunConfig, given: (attribute: string) => boolean): string[] {
  const out: string[] = [];
  for (const [field, flags] of FIELD_FLAGS) {
    const typed = flags.filter(given);
    if (typed.length === 0) continue;
    const a = stored[field] ?? null;
    const b = fresh[field] ?? null;
    if (!isDeepStrictEqual(a, b)) out.push(`${typed.map(flagName).join("/")} ${shown(b)} (the run has ${shown(a)})`);
  }
  // The suite's own options (config.suiteOptions), each set by the flags the suite names.
  const storedOptions = (stored.suiteOptions ?? {}) as Record<string, unknown>;
  const freshOptions = (fresh.suiteOptions ?? {}) as Record<string, unknown>;
  for (const [key, flags] of Object.entries(suiteOf(stored).suiteOptionFlags ?? {})) {
    const typed = flags.filter(given);
    if (typed.length === 0) continue;
    const a = storedOptions[key] ?? null;
    const b = freshOptions[key] ?? null;
    if (!isDeepStrictEqual(a, b)) out.push(`${typed.map(flagName).join("/")} ${shown(b)} (the run has ${shown(a)})`);
  }
  return out;
}

/**
 * Where to read the dataset of a resumed run when its suite's dataset option (--via) is not given: the path in its
 * config, else the path the manifest last recorded (a resume from a copy at another path), else
 * a one-line error saying how to point at a copy.
 */
export function storedDatasetPath(manifest: Manifest): string {
  const config = manifest.config;
  const { configField, option } = suiteOf(config).dataset;
  const label = config[configField] ?? "sample";
  if (label === "sample") return "sample";
  for (const candidate of [label, manifest.dataset.path]) if (candidate && existsSync(candidate)) return candidate;
  throw new UserError(
    `--resume: the run's dataset ${label} is not on this machine; pass ${option} PATH naming a copy of it (sha256 ${manifest.dataset.sha256.slice(0, 12)}…)`,
  );
}

/** The resumed run's dataset must be the one it was started with (same bytes, any path). */
export function checkSameDataset(
  dir: string,
  manifest: Manifest,
  sha256: string,
  where: string,
  option: string | null,
): void {
  if (sha256 === manifest.dataset.sha256) return;
  const hint = option
    ? `drop ${option} to read the run's own ${manifest.dataset.path}, or choose another --out for a new run`
    : `restore the file the run was started with, or choose another --out for a new run`;
  throw new UserError(
    `--resume: ${where} is not the dataset of the run in ${dir} (sha256 ${sha256.slice(0, 12)}…, the run's is ${manifest.dataset.sha256.slice(0, 12)}…); ${hint}`,
  );
}
