/**
 * OpenAI-compatible servers: vLLM, llama.cpp's llama-server, SGLang, LM Studio.
 *
 * Letters: `/v1/chat/completions` with `logprobs: true, top_logprobs: 20, max_tokens: 1,
 * temperature: 0` (api: chat, the default), or `/v1/completions` with `logprobs: 20` and the
 * user message as the raw prompt (api: completions; no chat template). Both reply shapes are
 * read whichever API was asked: chat-style `logprobs.content[0].top_logprobs` (vLLM chat,
 * llama-server, OpenAI) and vLLM's completions `logprobs.top_logprobs[0]` (a token -> logprob
 * map). Every reply is validated; an unexpected shape is an error naming the field.
 *
 * Constrained JSON (`generate dilemmas|actions`): the schema goes in `response_format:
 * {type: "json_schema", json_schema: {name, schema, strict: true}}` (vLLM, llama-server, LM
 * Studio), through the same request as `generate`; on the completions API also as `json_schema`
 * (llama-server's name for it there). A server that rejects it (HTTP 400 naming
 * `response_format` or `json_schema`) gets `response_format: {type: "json_object"}` instead,
 * from then on, with a warning (`warnings`, and `onWarning`).
 *
 * The cache key: these servers report no weights digest, so the model is identified by its
 * served id (`/v1/models`: id, owned_by, root) and the entry's baseUrl; `digest:` in the
 * models.yaml entry pins it instead (use the GGUF's or safetensors' sha256).
 */
import { z } from "zod";
import { digestOf } from "../util/hash.js";
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
import { newCounters, QuestionFailedError, refuseConversation } from "./backend.js";
import { type ServerClient, serverClient, trimSlash, validate, type ServerConnectionOptions } from "./http/client.js";
import { lettersFromTopLogprobs, type TokenLogprob } from "./http/letters.js";
import { JsonSchemaFallback } from "./http/jsonFallback.js";
import { messagesOf, prepareServerPrompt } from "./http/prompt.js";
import { pinnedTemplateVariables } from "../templates/pinned.js";
import { isOutputParseFailure, RequestRejectedError } from "./http/errors.js";

export const TOP_LOGPROBS = 20;

export interface OpenAICompatibleOptions extends ServerConnectionOptions {
  name: string;
  /** e.g. http://127.0.0.1:8000/v1 (identifies the model in the cache key with its id). */
  baseUrl: string;
  model: string;
  api: "chat" | "completions";
  apiKey?: string;
  /** Pins the model's identity in the cache key (otherwise: served id + baseUrl). */
  digest?: string;
  /**
   * Chat API: send valuelens's pinned template variables as `chat_template_kwargs` (vLLM,
   * llama-server, SGLang read them). Default true; false for servers that reject the field.
   */
  chatTemplateKwargs?: boolean;
  /** Where a warning goes (the `response_format` fallback); default: stderr. Every warning is also kept in `warnings`. */
  onWarning?: (message: string) => void;
}

/** The `response_format` of a constrained generation: JSON matching a schema, or any JSON. */
type ResponseFormat =
  | { type: "json_schema"; json_schema: { name: string; schema: object; strict: true } }
  | { type: "json_object" };

const TokenLogprobSchema = z.object({ token: z.string(), logprob: z.number() });
/** Chat-style logprobs (vLLM chat, llama-server, OpenAI). */
const ContentLogprobs = z.object({
  content: z.array(TokenLogprobSchema.extend({ top_logprobs: z.array(TokenLogprobSchema) })).min(1),
});
/** vLLM / legacy completions logprobs. */
const CompletionLogprobs = z.object({
  tokens: z.array(z.string()).min(1),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).min(1),
});
const Usage = z.object({ prompt_tokens: z.number().nullish(), completion_tokens: z.number().nullish() }).nullish();
const ChatChoice = z.object({
  message: z.object({
    content: z.string().nullish(),
    reasoning_content: z.string().nullish(),
    reasoning: z.string().nullish(),
  }),
  finish_reason: z.string().nullish(),
});
const CompletionChoice = z.object({ text: z.string(), finish_reason: z.string().nullish() });
const reply = <C extends z.ZodType>(choice: C) => z.object({ choices: z.array(choice).min(1), usage: Usage });
const ModelsReply = z.object({
  data: z.array(z.object({ id: z.string(), owned_by: z.string().nullish(), root: z.string().nullish() })),
});

/** The logprobs of the first generated token, from either reply shape. */
function readTopLogprobs(
  url: string,
  api: "chat" | "completions",
  raw: unknown,
): { top: TokenLogprob[]; usage: z.infer<typeof Usage> } {
  const logprobs = (raw as { choices?: { logprobs?: unknown }[] } | null)?.choices?.[0]?.logprobs;
  const chatShape = api === "chat" || (logprobs !== null && typeof logprobs === "object" && "content" in logprobs);
  if (chatShape) {
    const r = validate(url, raw, reply(z.object({ logprobs: ContentLogprobs })));
    const first = r.choices[0]!.logprobs.content[0]!;
    const top = [...first.top_logprobs];
    if (!top.some((t) => t.token === first.token)) top.push({ token: first.token, logprob: first.logprob });
    return { top, usage: r.usage };
  }
  const r = validate(url, raw, reply(z.object({ logprobs: CompletionLogprobs })));
  const lp = r.choices[0]!.logprobs;
  const top = Object.entries(lp.top_logprobs[0] ?? {}).map(([token, logprob]) => ({ token, logprob }));
  const token = lp.tokens[0]!;
  const logprob = lp.token_logprobs[0];
  if (logprob !== null && logprob !== undefined && !top.some((t) => t.token === token)) top.push({ token, logprob });
  return { top, usage: r.usage };
}

/** The pinned template variables a chat request carries (none for the completions API or when switched off). */
function templateKwargsOf(opts: OpenAICompatibleOptions): Record<string, unknown> {
  return opts.api === "chat" && opts.chatTemplateKwargs !== false
    ? { chat_template_kwargs: pinnedTemplateVariables() }
    : {};
}

export class OpenAICompatibleBackend implements Backend {
  readonly counters: EvaluationCounters = newCounters();
  /** Warnings about how answers were obtained (the `json_object` fallback), oldest first. */
  readonly warnings: string[] = [];
  /** How `generateJson` constrains output: by the schema, or (a server that rejected it) any JSON. */
  private readonly json = new JsonSchemaFallback({
    field: /response_format|json_schema/i,
    warning: (err) =>
      `${err.url} (HTTP ${err.status}) rejected a JSON schema as \`response_format\`; generating with \`{type: "json_object"}\` instead: ` +
      "the output is JSON but its shape is not constrained",
    warn: (message) => this.warn(message),
  });

  /** What the chat request adds to the messages that changes the rendered prompt (part of the cache key). */
  private readonly sent: Record<string, unknown>;

  private constructor(
    readonly info: BackendInfo,
    private readonly opts: OpenAICompatibleOptions,
    private readonly http: ServerClient,
  ) {
    this.sent = templateKwargsOf(opts);
  }

  readonly reusesPrefixes = false;

  get laneCount(): number {
    return this.http.capacity;
  }

  static async open(opts: OpenAICompatibleOptions): Promise<OpenAICompatibleBackend> {
    const http = serverClient(opts, opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : undefined);
    let served: z.infer<typeof ModelsReply>["data"][number] | undefined;
    for (const endpoint of http.endpoints) {
      const models = await http.getJson("/models", ModelsReply, endpoint);
      const entry = models.data.find((m) => m.id === opts.model);
      if (!entry) {
        const ids = models.data.map((m) => m.id).join(", ") || "none";
        throw new UserError(
          `${endpoint} does not serve model "${opts.model}" (it serves: ${ids}); fix "model" in the entry "${opts.name}"`,
        );
      }
      served ??= entry;
    }
    const identity = {
      baseUrl: trimSlash(opts.baseUrl),
      id: served!.id,
      ownedBy: served!.owned_by ?? null,
      root: served!.root ?? null,
    };
    const sha256 = opts.digest
      ? /^[0-9a-f]{64}$/i.test(opts.digest)
        ? opts.digest.toLowerCase()
        : digestOf({ pinned: opts.digest })
      : digestOf(identity);
    const info: BackendInfo = {
      engine: "openai-compatible",
      engineVersion: "openai-compatible (server version not reported)",
      model: {
        name: opts.name,
        path: `${trimSlash(opts.baseUrl)}#${opts.model}`,
        sha256,
        description: opts.digest ? "digest pinned in models.yaml" : "identified by the served model id and baseUrl",
      },
      outputOptions: {
        model: opts.model,
        api: opts.api,
        letterMethod: "logprobs",
        topLogprobs: TOP_LOGPROBS,
        ...templateKwargsOf(opts),
        ...(opts.digest ? {} : { identity }),
      },
      otherOptions: {
        endpoints: opts.endpoints,
        concurrency: opts.concurrency,
        timeoutMs: opts.timeoutMs,
        retries: opts.retries,
      },
      chatWrapper:
        opts.api === "chat"
          ? `server (the server applies its chat template${opts.chatTemplateKwargs === false ? "; no chat_template_kwargs sent" : ` with chat_template_kwargs ${JSON.stringify(pinnedTemplateVariables())}`})`
          : "none (raw completions prompt)",
      reasoning: "none",
      hardware: { server: "openai-compatible", endpoints: opts.endpoints.length },
      letterMethod: "logprobs",
    };
    return new OpenAICompatibleBackend(info, opts, http);
  }

  prepare(segments: string[], opts: PrepareOptions): PreparedPrompt {
    refuseConversation("OpenAI-compatible", opts, { history: this.opts.api === "chat" });
    return prepareServerPrompt(segments, opts, this.sent);
  }

  async scoreLetters(prompt: PreparedPrompt, letters: string[]): Promise<LetterScores> {
    const { top, usage } = await this.request(prompt, { max_tokens: 1, temperature: 0 }, true, readTopLogprobs);
    const scores = lettersFromTopLogprobs(top, letters, TOP_LOGPROBS);
    scores.evaluatedTokens = usage?.prompt_tokens ?? 0;
    return scores;
  }

  generate(prompt: PreparedPrompt, opts: GenerateOptions): Promise<Generation> {
    return this.generation(prompt, opts);
  }

  /**
   * Generation constrained by a JSON schema (`response_format` json_schema). A server that
   * rejects it (HTTP 400 naming `response_format` or `json_schema`) is asked for
   * `{type: "json_object"}` instead, then and for the rest of this backend's life, with a warning.
   */
  generateJson(prompt: PreparedPrompt, schema: object, opts: GenerateOptions): Promise<Generation> {
    return this.json.generate(
      () => this.generation(prompt, opts, { type: "json_schema", json_schema: { name: "item", schema, strict: true } }),
      () => this.generation(prompt, opts, { type: "json_object" }),
    );
  }

  /** One generation (greedy at temperature 0, seeded otherwise), optionally with a `response_format`. */
  private async generation(
    prompt: PreparedPrompt,
    opts: GenerateOptions,
    responseFormat?: ResponseFormat,
  ): Promise<Generation> {
    const read = (url: string, api: "chat" | "completions", raw: unknown) => {
      if (api === "chat") {
        const r = validate(url, raw, reply(ChatChoice));
        const c = r.choices[0]!;
        return {
          text: c.message.content ?? "",
          thoughts: c.message.reasoning_content ?? c.message.reasoning ?? undefined,
          finish: c.finish_reason,
          usage: r.usage,
        };
      }
      const r = validate(url, raw, reply(CompletionChoice));
      return { text: r.choices[0]!.text, thoughts: undefined, finish: r.choices[0]!.finish_reason, usage: r.usage };
    };
    // The completions API has no response_format in OpenAI's spec: llama-server reads the schema
    // from `json_schema` there (vLLM reads response_format on both).
    const completionsSchema: Record<string, object> =
      this.opts.api === "completions" && responseFormat?.type === "json_schema"
        ? { json_schema: responseFormat.json_schema.schema }
        : {};
    const sampling = {
      max_tokens: opts.maxTokens,
      temperature: opts.temperature,
      seed: opts.seed ?? 0,
      ...(responseFormat ? { response_format: responseFormat } : {}),
      ...completionsSchema,
    };
    const r = await this.request(prompt, sampling, false, read);
    return {
      text: r.text,
      ...(r.thoughts ? { thoughts: r.thoughts } : {}),
      generatedTokens: r.usage?.completion_tokens ?? 0,
      finishReason: r.finish === "length" ? "maxTokens" : "stop",
      evaluatedTokens: r.usage?.prompt_tokens ?? 0,
    };
  }

  async close(): Promise<void> {}

  private warn(message: string): void {
    this.warnings.push(message);
    if (this.opts.onWarning) this.opts.onWarning(message);
    else process.stderr.write(`warning: ${message}\n`);
  }

  private async request<T extends { usage: z.infer<typeof Usage> }>(
    prompt: PreparedPrompt,
    sampling: Record<string, number | object>,
    logprobs: boolean,
    read: (url: string, api: "chat" | "completions", raw: unknown) => T,
  ): Promise<T> {
    const { api, model } = this.opts;
    const body =
      api === "chat"
        ? {
            model,
            messages: messagesOf(prompt.userMessage, prompt.system, prompt.history),
            ...this.sent,
            ...sampling,
            ...(logprobs ? { logprobs: true, top_logprobs: TOP_LOGPROBS } : {}),
          }
        : {
            model,
            prompt: prompt.system !== undefined ? `${prompt.system}\n\n${prompt.userMessage}` : prompt.userMessage,
            ...sampling,
            ...(logprobs ? { logprobs: TOP_LOGPROBS } : {}),
          };
    const path = api === "chat" ? "/chat/completions" : "/completions";
    const result = await this.http
      .run(async (endpoint, f) => {
        const url = endpoint + path;
        const res = await f(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...this.http.opts.headers },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (err) {
          throw new SyntaxError(`reply from ${url}: ${(err as Error).message}`);
        }
        return read(url, api, raw);
      })
      .catch((err: unknown) => {
        // This answer, not the server: the question is recorded as failed and the run goes on.
        if (err instanceof RequestRejectedError && err.status === 500 && isOutputParseFailure(err.body)) {
          const reason =
            `${err.url}: the server could not parse the model's answer (HTTP 500: llama-server's output parser rejects an answer that does not fit its chat format or is not valid UTF-8); ` +
            `for llama-server use \`--model llama-server:URL\` (native API: valuelens renders the prompt and reads the answer's tokens)`;
          throw new QuestionFailedError({ reason, status: 500 }, err.url);
        }
        if (
          err instanceof RequestRejectedError &&
          err.status === 400 &&
          "chat_template_kwargs" in this.sent &&
          /chat_template_kwargs/i.test(err.message)
        ) {
          throw new UserError(
            `${err.message.split("\n")[0]}: this server does not take chat_template_kwargs; set \`chatTemplateKwargs: false\` in the models.yaml entry "${this.opts.name}"`,
          );
        }
        throw err;
      });
    this.counters.evaluations += 1;
    this.counters.evaluatedTokens += result.usage?.prompt_tokens ?? 0;
    this.counters.generatedTokens += result.usage?.completion_tokens ?? 0;
    return result;
  }
}
