/**
 * models.yaml: the models users run, each with a backend, a source and load options.
 * Validated with zod; every error names the file, the entry and the field.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UserError } from "../util/errors.js";

const LlamaCppEntry = z
  .object({
    backend: z.literal("llama.cpp"),
    /** A local path (relative to models.yaml), `hf:user/repo:quant` (downloaded by `models pull`), or `builtin:tiny|bench`. */
    source: z.string().min(1),
    description: z.string().optional(),
    contextSize: z.number().int().positive().default(4096),
    gpuLayers: z.union([z.literal("auto"), z.literal("max"), z.number().int().nonnegative()]).default("auto"),
    /** Defaults to the machine's physical cores. */
    threads: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().default(512),
    /** Context sequences run at once (useful on a GPU; keep 1 for bit-reproducible runs on a CPU). */
    sequences: z.number().int().positive().default(1),
    flashAttention: z.boolean().default(false),
    gpu: z.union([z.literal("auto"), z.literal(false)]).default("auto"),
  })
  .strict();

export const ModelEntrySchema = z.discriminatedUnion("backend", [LlamaCppEntry]);
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

const ModelsFileSchema = z.object({ models: z.record(z.string(), z.unknown()) }).strict();

export interface ResolvedModel {
  name: string;
  entry: ModelEntry;
  /** Where models.yaml lives (relative sources resolve against it). */
  baseDir: string;
}

export function defaultModelsFile(cwd = process.cwd()): string {
  return path.join(cwd, "models.yaml");
}

/** Read and validate models.yaml. A missing file is an empty registry. */
export function readModels(file: string): Map<string, ResolvedModel> {
  const out = new Map<string, ResolvedModel>();
  if (!existsSync(file)) return out;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UserError(`${file}: not valid YAML (${String((err as Error).message).split("\n")[0]}); fix the syntax`);
  }
  const top = ModelsFileSchema.safeParse(doc);
  if (!top.success) throw new UserError(`${file}: ${describeIssue(top.error)}; the file must be \`models: {<name>: {backend: ..., source: ...}}\``);
  for (const [name, raw] of Object.entries(top.data.models)) {
    const parsed = ModelEntrySchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${file}: model "${name}": ${describeIssue(parsed.error)}`);
    out.set(name, { name, entry: parsed.data, baseDir: path.dirname(path.resolve(file)) });
  }
  return out;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  const field = issue.path.length ? `field "${issue.path.join(".")}"` : "entry";
  return `${field}: ${issue.message}`;
}

/**
 * `--model` accepts a models.yaml name, `tiny`/`bench` (built-in test models), or a path to
 * a .gguf file.
 */
export function resolveModel(spec: string, registry: Map<string, ResolvedModel>): ResolvedModel {
  const named = registry.get(spec);
  if (named) return named;
  if (spec === "tiny" || spec === "bench") {
    return { name: spec, entry: ModelEntrySchema.parse({ backend: "llama.cpp", source: `builtin:${spec}`, contextSize: 2048 }), baseDir: process.cwd() };
  }
  if (spec.endsWith(".gguf") || existsSync(spec)) {
    return { name: path.basename(spec).replace(/\.gguf$/i, ""), entry: ModelEntrySchema.parse({ backend: "llama.cpp", source: spec }), baseDir: process.cwd() };
  }
  const known = [...registry.keys()].join(", ") || "(models.yaml has none)";
  throw new UserError(`unknown model "${spec}": not in models.yaml (${known}) and not a .gguf path`);
}
