/**
 * models.yaml: the models users run, each with a backend, a source and load options.
 * Validated with zod; every error names the file, the entry and the field.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isStandinFamily, STANDIN_FAMILIES } from "../gguf/standinFamilies.js";
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
    /**
     * Context sequences (lanes) run at once, or "auto": 1 on the CPU, on a GPU as many as the free
     * VRAM holds contexts for (at most 16; src/backends/sequences.ts).
     */
    sequences: z.union([z.number().int().positive(), z.literal("auto")]).default(1),
    /**
     * With sequences > 1: "isolated" (each llama.cpp batch holds one question's tokens: the numbers
     * of a one-sequence run, bit for bit) or "shared" (lanes share batches: faster on a GPU, last
     * digits depend on the batch's composition; its own cache entries). Unset: isolated, except
     * with `sequences: auto`, which implies shared.
     */
    batching: z.enum(["isolated", "shared"]).optional(),
    flashAttention: z.boolean().default(false),
    gpu: z.union([z.literal("auto"), z.literal(false)]).default("auto"),
  })
  .strict();

/** Fields every server entry shares: scale-out and fault tolerance. */
const serverFields = {
  description: z.string().optional(),
  /** Several servers with the same model; questions go to whichever has a free slot. */
  endpoints: z.array(z.string().url()).min(1).optional(),
  /** Concurrent requests per endpoint. */
  concurrency: z.number().int().positive().default(4),
  /** Per-request timeout (the whole reply), ms. */
  timeoutMs: z.number().int().positive().default(120_000),
  /** Tries after the first for refused/reset connections, timeouts, 429, 5xx and malformed replies. */
  retries: z.number().int().nonnegative().default(6),
  /** Backoff base in ms (exponential with full jitter). */
  retryBackoffMs: z.number().int().nonnegative().optional(),
};

/** An Ollama server (`ollama serve`); `--model ollama:TAG` is the shorthand. */
const OllamaFields = z
  .object({
    backend: z.literal("ollama"),
    tag: z.string().min(1),
    /** Default: $OLLAMA_HOST, else http://127.0.0.1:11434. */
    host: z.string().min(1).optional(),
    numCtx: z.number().int().positive().optional(),
    keepAlive: z.union([z.string(), z.number()]).optional(),
    /** Fallback when the server gives no logprobs (< 0.12.11): sampled answers per question ... */
    samples: z.number().int().positive().default(20),
    /** ... at this temperature. */
    sampleTemperature: z.number().nonnegative().default(1),
    ...serverFields,
  })
  .strict();
const OllamaEntry = OllamaFields.transform((e) => ({ ...e, source: `ollama:${e.tag}` }));

/**
 * An OpenAI-compatible server (vLLM, llama-server, SGLang, LM Studio); `--model
 * openai:URL#MODEL` is the shorthand. The cache is keyed by the served model id and baseUrl
 * (servers report no weights digest); `digest:` pins the model's identity instead.
 */
const OpenAIFields = z
  .object({
    backend: z.literal("openai-compatible"),
    /** e.g. http://127.0.0.1:8000/v1 */
    baseUrl: z.string().url(),
    /** The served model id (as /v1/models lists it). */
    model: z.string().min(1),
    /** Name of the environment variable holding the API key (sent as a Bearer token). */
    apiKeyEnv: z.string().min(1).optional(),
    api: z.enum(["chat", "completions"]).default("chat"),
    /** Pins the model identity in the cache key (e.g. the weights' sha256). */
    digest: z.string().min(1).optional(),
    /** Chat API: send the pinned template variables as chat_template_kwargs (false for servers that reject the field). */
    chatTemplateKwargs: z.boolean().default(true),
    ...serverFields,
  })
  .strict();
const OpenAIEntry = OpenAIFields.transform((e) => ({ ...e, source: `${e.baseUrl.replace(/\/+$/, "")}#${e.model}` }));

/**
 * llama.cpp's own server on its native API (`--model llama-server:URL` is the shorthand):
 * valuelens renders the prompt with the server's template and the pinned variables and sends
 * tokens, so answers match the embedded backend's. The cache key identifies the model by the
 * server's model path, size, template and build; `digest:` pins it instead.
 */
const LlamaServerFields = z
  .object({
    backend: z.literal("llama-server"),
    /** The server's root, e.g. http://127.0.0.1:8080 */
    baseUrl: z.string().url(),
    /** Pins the model identity in the cache key (e.g. the GGUF's sha256). */
    digest: z.string().min(1).optional(),
    ...serverFields,
  })
  .strict();
const LlamaServerEntry = LlamaServerFields.transform((e) => ({
  ...e,
  source: `llama-server:${e.baseUrl.replace(/\/+$/, "")}`,
}));

export const ModelEntrySchema = z.discriminatedUnion("backend", [
  LlamaCppEntry,
  OllamaEntry,
  OpenAIEntry,
  LlamaServerEntry,
]);
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

const ModelsFileSchema = z.object({ models: z.record(z.string(), z.unknown()) }).strict();

export interface ResolvedModel {
  name: string;
  entry: ModelEntry;
  /** Where models.yaml lives (relative sources resolve against it). */
  baseDir: string;
  /** `--model` named a .gguf path directly (no models.yaml entry). */
  fromPath?: boolean;
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
    throw new UserError(
      `${file}: not valid YAML (${String((err as Error).message)
        .split("\n")[0]!
        .replace(/:\s*$/, "")}); fix the syntax`,
    );
  }
  if (doc === null || doc === undefined)
    throw new UserError(
      `${file}: the file is empty; it must be \`models: {<name>: {backend: llama.cpp, source: ...}}\``,
    );
  const top = ModelsFileSchema.safeParse(doc);
  if (!top.success)
    throw new UserError(
      `${file}: ${describeIssue(top.error)}; the file must be \`models: {<name>: {backend: ..., source: ...}}\``,
    );
  for (const [name, raw] of Object.entries(top.data.models)) {
    const parsed = ModelEntrySchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`${file}: model "${name}": ${describeEntryIssue(parsed.error, raw)}`);
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

/** The fields an entry may have, per backend, for "unknown field" messages. */
const ENTRY_FIELDS: Record<string, string[]> = {
  "llama.cpp": Object.keys(LlamaCppEntry.shape),
  ollama: Object.keys(OllamaFields.shape),
  "openai-compatible": Object.keys(OpenAIFields.shape),
  "llama-server": Object.keys(LlamaServerFields.shape),
};
const BACKENDS = Object.keys(ENTRY_FIELDS);

/** One issue of a models.yaml entry, in words: the field, what it holds, and what to do. */
function describeEntryIssue(error: z.ZodError, raw: unknown): string {
  const issue = error.issues[0];
  if (!issue) return "invalid entry; fix it";
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return `the entry is ${raw === null ? "empty" : JSON.stringify(raw)}; give it fields (backend: llama.cpp, source: ...)`;
  }
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => `"${k}"`).join(", ");
    const known = ENTRY_FIELDS[String((raw as Record<string, unknown>).backend)] ?? ENTRY_FIELDS["llama.cpp"]!;
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}; remove it or fix its spelling (known fields: ${known.join(", ")})`;
  }
  const key = String(issue.path[0] ?? "");
  const field = `field "${issue.path.map(String).join(".")}"`;
  const got = (raw as Record<string, unknown>)[key];
  if (key === "backend") {
    return got === undefined
      ? `${field} is missing; add backend: llama.cpp`
      : `${field}: unknown backend ${JSON.stringify(got)}; use ${BACKENDS.join(", ")} (the backends valuelens supports)`;
  }
  if (got === undefined) return `${field} is missing; add it`;
  const expectation = (message: string) =>
    message
      .replace(/^Invalid input: /, "")
      .replace(/^expected /, "")
      .replace(/, received .*$/, "");
  const expected =
    issue.code === "invalid_union" && issue.errors.length > 0
      ? issue.errors.map((alt) => expectation(alt[0]?.message ?? "")).join(" or ")
      : expectation(issue.message);
  return `${field}: ${JSON.stringify(got)} is not valid (expected ${expected}); fix the value`;
}

/**
 * `--model` accepts a models.yaml name, `tiny`/`bench` (built-in test models),
 * `standin:FAMILY` (a built-in random-weight model with the real tokenizer and chat template
 * of llama3, gemma2, qwen3 or gptoss; source `builtin:standin-FAMILY`), `ollama:TAG`,
 * `openai:URL#MODEL`, or a path to a .gguf file.
 */
export function resolveModel(spec: string, registry: Map<string, ResolvedModel>, file = "models.yaml"): ResolvedModel {
  const named = registry.get(spec);
  if (named) return named;
  if (spec === "tiny" || spec === "bench") {
    return {
      name: spec,
      entry: ModelEntrySchema.parse({ backend: "llama.cpp", source: `builtin:${spec}`, contextSize: 2048 }),
      baseDir: process.cwd(),
    };
  }
  if (spec.startsWith("standin:")) {
    const family = spec.slice("standin:".length);
    if (!isStandinFamily(family))
      throw new UserError(
        `--model ${spec}: unknown stand-in family "${family}"; use one of ${STANDIN_FAMILIES.map((f) => `standin:${f}`).join(", ")}`,
      );
    return {
      name: spec,
      entry: ModelEntrySchema.parse({ backend: "llama.cpp", source: `builtin:standin-${family}`, contextSize: 4096 }),
      baseDir: process.cwd(),
    };
  }
  const server = serverShorthand(spec);
  if (server) return server;
  if (spec.endsWith(".gguf") || existsSync(spec)) {
    return {
      name: path.basename(spec).replace(/\.gguf$/i, ""),
      entry: ModelEntrySchema.parse({ backend: "llama.cpp", source: spec }),
      baseDir: process.cwd(),
      fromPath: true,
    };
  }
  const known = [...registry.keys()].join(", ") || `${file} has none`;
  throw new UserError(
    `unknown model "${spec}": not an entry of ${file} (${known}), not tiny/bench/standin:FAMILY, not ollama:TAG, openai:URL#MODEL or llama-server:URL and not a .gguf path; pick one of those`,
  );
}

/** `ollama:TAG` (Ollama at $OLLAMA_HOST), `openai:URL#MODEL` (an OpenAI-compatible server) and `llama-server:URL`. */
function serverShorthand(spec: string): ResolvedModel | undefined {
  const parse = (raw: unknown): ModelEntry => {
    const r = ModelEntrySchema.safeParse(raw);
    if (!r.success) throw new UserError(`--model ${spec}: ${describeEntryIssue(r.error, raw)}`);
    return r.data;
  };
  if (spec.startsWith("ollama:")) {
    const tag = spec.slice("ollama:".length);
    if (!tag) throw new UserError(`--model ${spec}: give the Ollama tag, e.g. ollama:gemma2:9b-instruct-q8_0`);
    return { name: spec, entry: parse({ backend: "ollama", tag }), baseDir: process.cwd() };
  }
  if (spec.startsWith("llama-server:")) {
    const url = spec.slice("llama-server:".length);
    if (!/^https?:\/\//.test(url))
      throw new UserError(`--model ${spec}: use llama-server:URL, e.g. llama-server:http://127.0.0.1:8080`);
    return { name: spec, entry: parse({ backend: "llama-server", baseUrl: url }), baseDir: process.cwd() };
  }
  if (spec.startsWith("openai:")) {
    const rest = spec.slice("openai:".length);
    const hash = rest.lastIndexOf("#");
    if (hash <= 0 || hash === rest.length - 1)
      throw new UserError(`--model ${spec}: use openai:URL#MODEL, e.g. openai:http://127.0.0.1:8000/v1#Qwen/Qwen3-8B`);
    return {
      name: spec,
      entry: parse({ backend: "openai-compatible", baseUrl: rest.slice(0, hash), model: rest.slice(hash + 1) }),
      baseDir: process.cwd(),
    };
  }
  return undefined;
}
