/**
 * Ollama, through the `ollama` npm client (its `fetch` is our timed fetch; retries, endpoint
 * slots and reply validation come from ./http/).
 *
 * Letters: one chat request per question with `num_predict: 1`, `logprobs: true`,
 * `top_logprobs: 20`; the top tokens of the first generated token are mapped onto the letters
 * (./http/letters.ts). Servers older than 0.12.11, or models whose replies carry no logprobs,
 * fall back to sampling K answers at a set temperature with seeds derived from the prompt
 * (`letterMethod: "sampled"`, `method: "sampled:K@T"`).
 *
 * Constrained JSON (`generate dilemmas|actions`): the JSON schema goes in the request's
 * `format` (Ollama 0.5+ structured outputs), through the same request as `generate`. A server
 * that rejects a schema there (HTTP 400 naming `format`: older than 0.5) gets `format: "json"`
 * instead, from then on, with a warning (`warnings`, and `onWarning`).
 *
 * The cache key holds the model digest the server reports (`/api/tags`), so a re-pulled tag
 * is a new model, and the server version.
 */
import { Ollama } from "ollama";
import { z } from "zod";
import { UserError } from "../util/errors.js";
import type {
  Backend,
  BackendInfo,
  EvaluationCounters,
  GenerateOptions,
  Generation,
  LetterScores,
  PreparedPrompt,
  PrepareOptions,
} from "./backend.js";
import { newCounters, refuseConversation } from "./backend.js";
import { type ServerClient, serverClient, trimSlash, validate, type ServerConnectionOptions } from "./http/client.js";
import { ReplyShapeError } from "./http/errors.js";
import { lettersFromSamples, lettersFromTopLogprobs, sampleSeed } from "./http/letters.js";
import { JsonSchemaFallback } from "./http/jsonFallback.js";
import { messagesOf, prepareServerPrompt } from "./http/prompt.js";

/** The first Ollama release whose /api/chat returns logprobs. */
export const OLLAMA_LOGPROBS_SINCE = "0.12.11";
export const TOP_LOGPROBS = 20;
/** Tokens generated per sampled answer (enough for "A)" or "**A**"). */
const SAMPLE_TOKENS = 4;

export interface OllamaOptions extends ServerConnectionOptions {
  name: string;
  tag: string;
  numCtx?: number;
  keepAlive?: string | number;
  /** Fallback sampling: answers per question and their temperature. */
  samples: number;
  sampleTemperature: number;
  /** Where a warning goes (the `format` fallback); default: stderr. Every warning is also kept in `warnings`. */
  onWarning?: (message: string) => void;
}

/** What `/api/chat`'s `format` asks for: any JSON, or JSON matching a schema. */
export type OllamaFormat = "json" | object;

const TokenLogprob = z.object({ token: z.string(), logprob: z.number() });
const ChatReply = z.object({
  message: z.object({ content: z.string(), thinking: z.string().nullish() }),
  done_reason: z.string().nullish(),
  prompt_eval_count: z.number().nullish(),
  eval_count: z.number().nullish(),
  logprobs: z.array(TokenLogprob.extend({ top_logprobs: z.array(TokenLogprob).nullish() })).nullish(),
});
type ChatReply = z.infer<typeof ChatReply>;
const VersionReply = z.object({ version: z.string() });
const TagsReply = z.object({
  models: z.array(
    z.object({
      name: z.string(),
      model: z.string().optional(),
      digest: z.string(),
      details: z
        .object({
          family: z.string().nullish(),
          parameter_size: z.string().nullish(),
          quantization_level: z.string().nullish(),
        })
        .partial()
        .nullish(),
    }),
  ),
});

export function defaultOllamaHost(env: NodeJS.ProcessEnv = process.env): string {
  return normalizeOllamaHost(env.OLLAMA_HOST ?? "http://127.0.0.1:11434");
}

/** OLLAMA_HOST may be `host`, `host:port` or a URL; the port defaults to 11434. */
export function normalizeOllamaHost(host: string): string {
  let h = host.trim();
  if (!/^https?:\/\//.test(h)) h = `http://${h}`;
  const url = new URL(h);
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  if (!url.port && !/^https?:\/\/[^/]+:\d+/.test(h)) url.port = url.protocol === "https:" ? "443" : "11434";
  return trimSlash(url.href);
}

/** a < b for dotted versions ("0.12.10" < "0.12.11"); "0.0.0" (a source build) is never old. */
export function versionOlder(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10));
  if (pa.slice(0, 3).every((x) => x === 0)) return false;
  for (let i = 0; i < 3; i++) {
    const x = Number.isFinite(pa[i]) ? pa[i]! : 0;
    const y = Number.isFinite(pb[i]) ? pb[i]! : 0;
    if (x !== y) return x < y;
  }
  return false;
}

function fullTag(tag: string): string {
  return tag.includes(":") ? tag : `${tag}:latest`;
}

export class OllamaBackend implements Backend {
  readonly counters: EvaluationCounters = newCounters();
  /** Warnings about how answers were obtained (the `format: "json"` fallback), oldest first. */
  readonly warnings: string[] = [];
  private readonly clients = new Map<string, Ollama>();
  /** How `generateJson` constrains output: by the schema, or (a server that rejected it) any JSON. */
  private readonly json = new JsonSchemaFallback({
    field: /format/i,
    warning: (err) =>
      `${err.url} (HTTP ${err.status}) rejected a JSON schema as \`format\`; generating with \`format: "json"\` instead: ` +
      "the output is JSON but its shape is not constrained (structured outputs need Ollama 0.5 or later)",
    warn: (message) => this.warn(message),
  });

  private constructor(
    readonly info: BackendInfo,
    private readonly opts: OllamaOptions,
    private readonly http: ServerClient,
  ) {
    for (const ep of http.endpoints) this.clients.set(ep, new Ollama({ host: ep, fetch: http.fetch }));
  }

  readonly reusesPrefixes = false;

  get laneCount(): number {
    return this.http.capacity;
  }

  static async open(opts: OllamaOptions): Promise<OllamaBackend> {
    const http = serverClient(opts);
    const tag = fullTag(opts.tag);
    // Every endpoint must run the same server version and hold the same model file.
    const seen: {
      endpoint: string;
      version: string;
      digest: string;
      details?: z.infer<typeof TagsReply>["models"][number]["details"];
    }[] = [];
    for (const endpoint of http.endpoints) {
      const { version } = await http.getJson("/api/version", VersionReply, endpoint);
      const tags = await http.getJson("/api/tags", TagsReply, endpoint);
      const entry = tags.models.find(
        (m) => fullTag(m.name) === tag || (m.model !== undefined && fullTag(m.model) === tag),
      );
      if (!entry) {
        throw new UserError(
          `model "${opts.tag}" is not pulled on the Ollama server ${endpoint}; run \`ollama pull ${opts.tag}\` there (model "${opts.name}")`,
        );
      }
      seen.push({ endpoint, version, digest: entry.digest.replace(/^sha256:/, ""), details: entry.details });
    }
    const first = seen[0]!;
    for (const s of seen) {
      if (s.digest !== first.digest)
        throw new UserError(
          `model "${opts.tag}" differs between ${first.endpoint} (digest ${first.digest.slice(0, 12)}) and ${s.endpoint} (${s.digest.slice(0, 12)}); pull the same tag on every endpoint`,
        );
      if (s.version !== first.version)
        throw new UserError(
          `Ollama versions differ: ${first.endpoint} runs ${first.version}, ${s.endpoint} runs ${s.version}; use one version on every endpoint (the numbers may differ between versions)`,
        );
    }
    const provisional = new OllamaBackend(
      baseInfo(opts, first.version, first.digest, first.details ?? undefined, "logprobs"),
      opts,
      http,
    );
    const letterMethod = versionOlder(first.version, OLLAMA_LOGPROBS_SINCE)
      ? "sampled"
      : await provisional.probeLogprobs();
    return new OllamaBackend(
      baseInfo(opts, first.version, first.digest, first.details ?? undefined, letterMethod),
      opts,
      http,
    );
  }

  /** Ask one tiny question with logprobs: does this server + model return them? */
  private async probeLogprobs(): Promise<"logprobs" | "sampled"> {
    const reply = await this.chat({
      messages: messagesOf("Answer with one letter, A or B."),
      options: { temperature: 0, num_predict: 1, ...this.numCtx() },
      logprobs: true,
      top_logprobs: TOP_LOGPROBS,
    });
    return reply.logprobs && reply.logprobs.length > 0 ? "logprobs" : "sampled";
  }

  prepare(segments: string[], opts: PrepareOptions): PreparedPrompt {
    refuseConversation("Ollama", opts, { history: true });
    return prepareServerPrompt(segments, opts);
  }

  async scoreLetters(prompt: PreparedPrompt, letters: string[]): Promise<LetterScores> {
    const messages = messagesOf(prompt.userMessage, prompt.system, prompt.history);
    if (this.info.letterMethod === "sampled") {
      const { samples, sampleTemperature } = this.opts;
      const replies = await Promise.all(
        Array.from({ length: samples }, (_, k) =>
          this.chat({
            messages,
            options: {
              temperature: sampleTemperature,
              seed: sampleSeed(prompt.text, k),
              num_predict: SAMPLE_TOKENS,
              ...this.numCtx(),
            },
          }),
        ),
      );
      const scores = lettersFromSamples(
        replies.map((r) => r.message.content),
        letters,
        sampleTemperature,
      );
      scores.evaluatedTokens = replies.reduce((sum, r) => sum + (r.prompt_eval_count ?? 0), 0);
      return scores;
    }
    let url = "";
    const reply = await this.chat(
      {
        messages,
        options: { temperature: 0, num_predict: 1, ...this.numCtx() },
        logprobs: true,
        top_logprobs: TOP_LOGPROBS,
      },
      (endpoint, r) => {
        url = `${endpoint}/api/chat`;
        if (!r.logprobs || r.logprobs.length === 0)
          throw new ReplyShapeError(url, "logprobs: the reply carries no logprobs");
      },
    );
    const firstToken = reply.logprobs![0]!;
    const top = [...(firstToken.top_logprobs ?? [])];
    if (!top.some((t) => t.token === firstToken.token))
      top.push({ token: firstToken.token, logprob: firstToken.logprob });
    const scores = lettersFromTopLogprobs(top, letters, TOP_LOGPROBS);
    scores.evaluatedTokens = reply.prompt_eval_count ?? 0;
    return scores;
  }

  generate(prompt: PreparedPrompt, opts: GenerateOptions): Promise<Generation> {
    return this.generation(prompt, opts);
  }

  /**
   * Generation constrained by a JSON schema (Ollama's structured outputs: the schema as
   * `format`). A server that rejects the schema (HTTP 400 naming `format`) is asked for
   * `format: "json"` instead, then and for the rest of this backend's life, with a warning.
   */
  generateJson(prompt: PreparedPrompt, schema: object, opts: GenerateOptions): Promise<Generation> {
    return this.json.generate(
      () => this.generation(prompt, opts, schema),
      () => this.generation(prompt, opts, "json"),
    );
  }

  /** One generation (greedy at temperature 0, seeded otherwise), optionally with a `format`. */
  private async generation(prompt: PreparedPrompt, opts: GenerateOptions, format?: OllamaFormat): Promise<Generation> {
    const reply = await this.chat({
      messages: messagesOf(prompt.userMessage, prompt.system, prompt.history),
      options: { temperature: opts.temperature, seed: opts.seed ?? 0, num_predict: opts.maxTokens, ...this.numCtx() },
      ...(format !== undefined ? { format } : {}),
    });
    const thoughts = reply.message.thinking ?? undefined;
    return {
      text: reply.message.content,
      ...(thoughts ? { thoughts } : {}),
      generatedTokens: reply.eval_count ?? 0,
      finishReason: reply.done_reason === "length" ? "maxTokens" : "stop",
      evaluatedTokens: reply.prompt_eval_count ?? 0,
    };
  }

  async close(): Promise<void> {}

  private warn(message: string): void {
    this.warnings.push(message);
    if (this.opts.onWarning) this.opts.onWarning(message);
    else process.stderr.write(`warning: ${message}\n`);
  }

  private numCtx(): { num_ctx?: number } {
    return this.opts.numCtx !== undefined ? { num_ctx: this.opts.numCtx } : {};
  }

  /** One validated /api/chat request through the request layer (slots, timeout, retries). */
  private async chat(
    request: {
      messages: { role: string; content: string }[];
      options: Record<string, number>;
      logprobs?: boolean;
      top_logprobs?: number;
      format?: OllamaFormat;
    },
    check?: (endpoint: string, reply: ChatReply) => void,
  ): Promise<ChatReply> {
    const reply = await this.http.run(async (endpoint) => {
      const raw: unknown = await this.clients.get(endpoint)!.chat({
        model: this.opts.tag,
        stream: false,
        ...(this.opts.keepAlive !== undefined ? { keep_alive: this.opts.keepAlive } : {}),
        ...request,
      });
      const r = validate(`${endpoint}/api/chat`, raw, ChatReply);
      check?.(endpoint, r);
      return r;
    });
    this.counters.evaluations += 1;
    this.counters.evaluatedTokens += reply.prompt_eval_count ?? 0;
    this.counters.generatedTokens += reply.eval_count ?? 0;
    return reply;
  }
}

/** HTTP 400 whose message names `format`: a server that does not take a JSON schema there. */

function baseInfo(
  opts: OllamaOptions,
  version: string,
  digest: string,
  details: { family?: string | null; parameter_size?: string | null; quantization_level?: string | null } | undefined,
  letterMethod: "logprobs" | "sampled",
): BackendInfo {
  const description = [details?.parameter_size, details?.quantization_level].filter(Boolean).join(" ");
  return {
    engine: "ollama",
    engineVersion: `ollama ${version}`,
    model: {
      name: opts.name,
      path: `ollama:${opts.tag}`,
      sha256: digest,
      ...(details?.family ? { architecture: details.family } : {}),
      ...(description ? { description } : {}),
    },
    outputOptions: {
      tag: fullTag(opts.tag),
      numCtx: opts.numCtx ?? null,
      letterMethod,
      ...(letterMethod === "logprobs"
        ? { topLogprobs: TOP_LOGPROBS }
        : { samples: opts.samples, sampleTemperature: opts.sampleTemperature, sampleTokens: SAMPLE_TOKENS }),
    },
    otherOptions: {
      endpoints: opts.endpoints,
      concurrency: opts.concurrency,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      keepAlive: opts.keepAlive ?? null,
    },
    // Ollama renders its own (Go) template, which is part of the model digest above; valuelens's
    // pinned template variables (src/templates/pinned.ts) do not reach it.
    chatWrapper:
      "Ollama's own template for the tag (part of the model digest); valuelens's pinned template variables do not apply",
    reasoning: "none",
    hardware: { server: "ollama", endpoints: opts.endpoints.length },
    letterMethod,
  };
}
