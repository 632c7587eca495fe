/**
 * From a models.yaml entry to a local GGUF file and a loaded backend.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Backend } from "../backends/backend.js";
import {
  defaultStandinModelPath,
  defaultTestModelPath,
  ensureStandinModel,
  ensureTestModel,
  isStandinFamily,
  isTestModelShape,
  STANDIN_FAMILIES,
} from "../gguf/index.js";
import { UserError } from "../util/errors.js";
import type { ResolvedModel } from "./registry.js";

export interface ModelPaths {
  /** Where models live: built-in test models and stand-ins are written here, `models pull` downloads here. */
  modelsDir: string;
  /** Where model digests are remembered (the answer cache directory). */
  cacheDir: string;
  /** Where the llama.cpp files stand-ins are built from are extracted (default: `<cwd>/.cache/llama.cpp`). */
  llamaCppDir?: string;
}

/** The local file of a model; builds a built-in test model on first use. */
export async function modelFile(
  model: ResolvedModel,
  paths: ModelPaths,
  opts: { download?: boolean } = {},
): Promise<string> {
  if (model.entry.backend !== "llama.cpp") {
    const how =
      model.entry.backend === "ollama"
        ? `pull it on the server with \`ollama pull ${model.entry.tag}\``
        : "the server loads it";
    const server = {
      ollama: "an Ollama server",
      "openai-compatible": "an OpenAI-compatible server",
      "llama-server": "a llama-server",
    }[model.entry.backend];
    throw new UserError(`model "${model.name}" is served by ${server}: there is no file to download (${how})`);
  }
  const { source } = model.entry;
  if (source.startsWith("builtin:")) {
    const shape = source.slice("builtin:".length);
    const family = shape.startsWith("standin-") ? shape.slice("standin-".length) : undefined;
    // The default file names, in modelsDir.
    if (family !== undefined && isStandinFamily(family)) {
      const out = path.join(paths.modelsDir, path.basename(defaultStandinModelPath(family)));
      return ensureStandinModel(family, {
        out,
        source: paths.llamaCppDir === undefined ? undefined : { cacheDir: paths.llamaCppDir },
      });
    }
    if (!isTestModelShape(shape)) {
      const standins = STANDIN_FAMILIES.map((f) => `builtin:standin-${f}`).join(", ");
      throw new UserError(
        `model "${model.name}": field "source": unknown built-in model "${shape}" (use builtin:tiny, builtin:bench or ${standins})`,
      );
    }
    return ensureTestModel(shape, { out: path.join(paths.modelsDir, path.basename(defaultTestModelPath(shape))) });
  }
  if (/^(hf:|huggingface:|https?:)/.test(source)) {
    const { resolveModelFile } = await import("node-llama-cpp");
    try {
      return await resolveModelFile(source, {
        directory: paths.modelsDir,
        download: opts.download ? "auto" : false,
        cli: opts.download === true,
      });
    } catch (err) {
      if (!opts.download) {
        throw new UserError(
          `model "${model.name}" is not downloaded yet; run \`valuelens models pull ${model.name}\` first`,
        );
      }
      throw new UserError(
        `cannot download ${source}: ${String((err as Error).message).split("\n")[0]} (check the network and the URI)`,
      );
    }
  }
  const file = path.resolve(model.baseDir, source);
  if (!existsSync(file)) {
    throw new UserError(
      model.fromPath
        ? `model file not found: ${file}; check the --model path (or name a models.yaml entry)`
        : `model file not found: ${file} (model "${model.name}", field "source"); fix the path`,
    );
  }
  return file;
}

/**
 * The backend of a model, opened. Each engine's module is imported here, when a run needs it:
 * node-llama-cpp (about half a second to import) and the HTTP clients stay out of the start-up
 * of every command that opens no model (report, compare, view, merge, errors).
 */
export async function openBackend(model: ResolvedModel, paths: ModelPaths): Promise<Backend> {
  const e = model.entry;
  if (e.backend === "ollama") {
    const { defaultOllamaHost, normalizeOllamaHost, OllamaBackend } = await import("../backends/ollama.js");
    return OllamaBackend.open({
      name: model.name,
      tag: e.tag,
      endpoints: e.endpoints ?? [e.host ? normalizeOllamaHost(e.host) : defaultOllamaHost()],
      numCtx: e.numCtx,
      keepAlive: e.keepAlive,
      concurrency: e.concurrency,
      timeoutMs: e.timeoutMs,
      retries: e.retries,
      retryBackoffMs: e.retryBackoffMs,
      samples: e.samples,
      sampleTemperature: e.sampleTemperature,
    });
  }
  if (e.backend === "llama-server") {
    const { LlamaServerBackend } = await import("../backends/llamaServer.js");
    return LlamaServerBackend.open({
      name: model.name,
      baseUrl: e.baseUrl,
      endpoints: e.endpoints ?? [e.baseUrl],
      digest: e.digest,
      concurrency: e.concurrency,
      timeoutMs: e.timeoutMs,
      retries: e.retries,
      retryBackoffMs: e.retryBackoffMs,
    });
  }
  if (e.backend === "openai-compatible") {
    const { OpenAICompatibleBackend } = await import("../backends/openai.js");
    let apiKey: string | undefined;
    if (e.apiKeyEnv) {
      apiKey = process.env[e.apiKeyEnv];
      if (!apiKey)
        throw new UserError(
          `model "${model.name}": field "apiKeyEnv" names $${e.apiKeyEnv}, which is not set; export it`,
        );
    }
    return OpenAICompatibleBackend.open({
      name: model.name,
      baseUrl: e.baseUrl,
      model: e.model,
      endpoints: e.endpoints ?? [e.baseUrl],
      api: e.api,
      apiKey,
      digest: e.digest,
      chatTemplateKwargs: e.chatTemplateKwargs,
      concurrency: e.concurrency,
      timeoutMs: e.timeoutMs,
      retries: e.retries,
      retryBackoffMs: e.retryBackoffMs,
    });
  }
  const file = await modelFile(model, paths);
  const { LlamaCppBackend } = await import("../backends/llamacpp.js");
  return LlamaCppBackend.load({
    name: model.name,
    modelPath: file,
    contextSize: e.contextSize,
    gpuLayers: e.gpuLayers,
    threads: e.threads,
    batchSize: e.batchSize,
    sequences: e.sequences,
    batching: e.batching,
    flashAttention: e.flashAttention,
    gpu: e.gpu,
    digestMemo: path.join(paths.cacheDir, "model-digests.json"),
  });
}
