// Loopback fake model servers (node:http on 127.0.0.1, port 0) that speak the documented
// Ollama and OpenAI-compatible APIs, answer deterministically from the prompt (so tests can
// predict every number), and inject faults on a fixed schedule.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault = "refuse" | "reset" | "slow" | "500" | "429" | "truncated" | "badshape";

export interface FakeOptions {
  /** Faults by the 1-based index of the answer request (/api/chat, /v1/chat/completions, /v1/completions). */
  faults?: Record<number, Fault>;
  /** Every answer request from this index on fails with `failWith` (a server that never recovers). */
  failFrom?: number;
  failWith?: Fault;
  /** Added to every answer (a server that takes its time). */
  delayMs?: number;
  /** How long a "slow" fault waits before answering (default 2000 ms). */
  slowMs?: number;
  /** Retry-After of a 429 (default "0"). */
  retryAfter?: string;
  /**
   * A test's own answer to a generation request (/api/chat, /v1/chat/completions,
   * /v1/completions), given the request body; undefined = the fake's own rule. Not asked for
   * letter requests (logprobs, or Ollama's sampled answers at num_predict <= 4).
   */
  onAnswer?: (body: any) => AnswerOverride | undefined;
  /** Sees every answer request's body (e.g. to check the messages a backend sent). */
  onRequest?: (path: string, body: any) => void;
  /**
   * A test's own rejection of an answer request of any kind (letters too), given its path and
   * body: an HTTP status and JSON body, or undefined to answer it. Counted in `stats.answers`.
   */
  reject?: (path: string, body: any) => { status: number; json: unknown } | undefined;
}

/** The reply text of a generation, or an HTTP error (status and JSON body). */
export type AnswerOverride = { content: string } | { status: number; json: unknown };

export interface FakeServer {
  url: string;
  stats: { answers: number; faults: number; byFault: Record<string, number> };
  close(): Promise<void>;
}

export interface TopToken {
  token: string;
  logprob: number;
}

const LETTERS = ["A", "B", "C", "D", "E", "F"];
const CANDIDATES = [
  ...LETTERS.flatMap((l) => [l, ` ${l}`, `${l})`, `${l}.`]),
  "The",
  "I",
  "**",
  "\n",
  "Answer",
  "Option",
];

function unit(text: string): number {
  return createHash("sha256").update(text).digest().readUInt32BE(0) / 0xffffffff;
}

/** How far the logits of a sunk letter's spellings are lowered: below every other candidate's. */
const SINK = 8;

/**
 * The fake's first-token distribution for a prompt: 30 candidate tokens with logits from a
 * hash of (prompt, token) and some mass left for "other tokens"; the top n, best first.
 * Letters in `sink` get every spelling's logit lowered by 8, below every other candidate, so
 * they fall outside a top-20 list (n = 30 gives every candidate).
 */
export function fakeTopLogprobs(prompt: string, n = 20, sink: readonly string[] = []): TopToken[] {
  const sunk = (token: string) => sink.includes(token.trim().replace(/[).]$/, ""));
  const logits = CANDIDATES.map((token) => ({
    token,
    logit: 6 * unit(`${prompt}|${token}`) - (sunk(token) ? SINK : 0),
  }));
  const other = 3;
  const max = Math.max(other, ...logits.map((l) => l.logit));
  const lse = max + Math.log(Math.exp(other - max) + logits.reduce((s, l) => s + Math.exp(l.logit - max), 0));
  return logits
    .map((l) => ({ token: l.token, logprob: l.logit - lse }))
    .sort((a, b) => b.logprob - a.logprob)
    .slice(0, n);
}

/** What the fake answers to a sampled request (temperature > 0) with this seed. */
export const SAMPLED_ANSWERS = ["A", "B", "C)", " D.", "The answer is A", "**A**", "B", "A."];
export function fakeSampledAnswer(seed: number): string {
  return SAMPLED_ANSWERS[seed % SAMPLED_ANSWERS.length]!;
}

/** What the fake generates greedily (paper protocol): fixed text from the prompt. */
export function fakeGeneration(prompt: string): string {
  return `Option ${unit(prompt) < 0.5 ? 1 : 2}`;
}

/** Expected letter probabilities from the fake's rule (the mapping written out independently). */
export function expectedLetters(prompt: string, letters: string[]): { probs: Record<string, number>; mass: number } {
  const p: Record<string, number> = Object.fromEntries(letters.map((l) => [l, 0]));
  for (const t of fakeTopLogprobs(prompt)) {
    const core = t.token.trim().replace(/[).]$/, "");
    if (core in p) p[core]! += Math.exp(t.logprob);
  }
  const mass = Object.values(p).reduce((a, b) => a + b, 0);
  return { probs: Object.fromEntries(letters.map((l) => [l, p[l]! / mass])), mass };
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : {};
}

type Handler = (req: IncomingMessage, body: any) => { status?: number; json: unknown; answer?: boolean };

/** A server that answers with `handler`, with faults injected into answer requests. */
async function startFake(
  handler: Handler,
  isAnswer: (path: string) => boolean,
  opts: FakeOptions,
): Promise<FakeServer> {
  const timers = new Set<NodeJS.Timeout>();
  const stats = { answers: 0, faults: 0, byFault: {} as Record<string, number> };
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const body = await readBody(req);
      const path = (req.url ?? "/").split("?")[0]!;
      let fault: Fault | undefined;
      if (isAnswer(path)) {
        opts.onRequest?.(path, body);
        stats.answers += 1;
        const n = stats.answers;
        fault =
          opts.faults?.[n] ??
          (opts.failFrom !== undefined && n >= opts.failFrom ? (opts.failWith ?? "500") : undefined);
        if (opts.delayMs) await wait(opts.delayMs);
      }
      if (fault) {
        stats.faults += 1;
        stats.byFault[fault] = (stats.byFault[fault] ?? 0) + 1;
      }
      const rejection = !fault && isAnswer(path) ? opts.reject?.(path, body) : undefined;
      if (rejection)
        return void res
          .writeHead(rejection.status, { "content-type": "application/json" })
          .end(JSON.stringify(rejection.json));
      if (fault === "refuse") return void req.socket.destroy();
      if (fault === "500")
        return void res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "injected failure" }));
      if (fault === "429")
        return void res
          .writeHead(429, { "content-type": "application/json", "retry-after": opts.retryAfter ?? "0" })
          .end(JSON.stringify({ error: "busy" }));
      if (fault === "slow") await wait(opts.slowMs ?? 2000);
      const r = handler(req, body);
      const text = JSON.stringify(r.json);
      if (fault === "reset") {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        return void setImmediate(() => req.socket.destroy());
      }
      if (fault === "truncated")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(text.slice(0, Math.floor(text.length / 2)));
      if (fault === "badshape")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ choices: [{ logprobs: null }], message: { content: 7 } }));
      res.writeHead(r.status ?? 200, { "content-type": "application/json" }).end(text);
    } catch (err) {
      if (!res.headersSent)
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: String(err) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const FAKE_DIGEST = "a".repeat(12) + createHash("sha256").update("fake-model").digest("hex").slice(12);

export interface FakeOllamaOptions extends FakeOptions {
  /** Server version (default 0.13.0; below 0.12.11 there are no logprobs). */
  version?: string;
  /** Whether /api/chat returns logprobs (default: version >= 0.12.11). */
  logprobs?: boolean;
  tag?: string;
  digest?: string;
}

/** A fake Ollama: /api/version, /api/tags, /api/show, /api/chat (logprobs, seeded sampling). */
export function startFakeOllama(opts: FakeOllamaOptions = {}): Promise<FakeServer> {
  const version = opts.version ?? "0.13.0";
  const [maj = 0, min = 0, patch = 0] = version.split(".").map(Number);
  const logprobs = opts.logprobs ?? (maj > 0 || min > 12 || (min === 12 && patch >= 11));
  const tag = opts.tag ?? "fake:latest";
  const digest = opts.digest ?? FAKE_DIGEST;
  const handler: Handler = (req, body) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/api/version") return { json: { version } };
    if (path === "/api/tags") {
      return {
        json: {
          models: [
            {
              name: tag,
              model: tag,
              modified_at: "2025-01-01T00:00:00Z",
              size: 1234,
              digest,
              details: { family: "fake", parameter_size: "1B", quantization_level: "Q8_0" },
            },
          ],
        },
      };
    }
    if (path === "/api/show")
      return {
        json: {
          modelfile: "",
          parameters: "",
          template: "{{ .Prompt }}",
          details: { family: "fake" },
          model_info: {},
          capabilities: ["completion"],
        },
      };
    if (path === "/api/chat") {
      if (body.model !== tag && `${body.model}:latest` !== tag)
        return { status: 404, json: { error: `model "${body.model}" not found, try pulling it first` } };
      const prompt: string = body.messages.at(-1).content;
      const o = body.options ?? {};
      const base = {
        model: tag,
        created_at: "2025-01-01T00:00:00Z",
        done: true,
        prompt_eval_count: prompt.length,
        eval_count: 1,
      };
      const own = !body.logprobs && (o.num_predict ?? Infinity) > 4 ? opts.onAnswer?.(body) : undefined;
      if (own && "status" in own) return { status: own.status, json: own.json };
      if (own)
        return {
          json: {
            ...base,
            message: { role: "assistant", content: own.content },
            done_reason: "stop",
            eval_count: own.content.length,
          },
        };
      if ((o.temperature ?? 0.8) > 0) {
        return {
          json: {
            ...base,
            message: { role: "assistant", content: fakeSampledAnswer(o.seed ?? 0) },
            done_reason: "stop",
          },
        };
      }
      if (o.num_predict === 1) {
        const top = fakeTopLogprobs(prompt, body.top_logprobs ?? 20);
        const first = top[0]!;
        return {
          json: {
            ...base,
            message: { role: "assistant", content: first.token },
            done_reason: "length",
            ...(logprobs && body.logprobs ? { logprobs: [{ ...first, top_logprobs: top }] } : {}),
          },
        };
      }
      return {
        json: {
          ...base,
          message: { role: "assistant", content: fakeGeneration(prompt) },
          done_reason: "stop",
          eval_count: 2,
        },
      };
    }
    return { status: 404, json: { error: "not found" } };
  };
  return startFake(handler, (p) => p === "/api/chat", opts);
}

export interface FakeOpenAIOptions extends FakeOptions {
  model?: string;
  /** Shape of /v1/completions logprobs: vLLM's token maps (default) or chat-style content (llama-server). */
  completionsShape?: "vllm" | "content";
  /** Letters whose spellings the model rates below every other candidate (outside the top 20). */
  sinkLetters?: string[];
}

/** A fake OpenAI-compatible server: /v1/models, /v1/chat/completions, /v1/completions. */
export function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeServer> {
  const model = opts.model ?? "fake-model";
  const handler: Handler = (req, body) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/v1/models")
      return {
        json: {
          object: "list",
          data: [
            {
              id: model,
              object: "model",
              created: Math.floor(Date.now() / 1000),
              owned_by: "vllm",
              root: `/models/${model}`,
            },
          ],
        },
      };
    const chat = path === "/v1/chat/completions";
    if (!chat && path !== "/v1/completions") return { status: 404, json: { error: "not found" } };
    if (body.model !== model)
      return { status: 404, json: { error: { message: `The model \`${body.model}\` does not exist.` } } };
    const prompt: string = chat ? body.messages.at(-1).content : body.prompt;
    const usage = { prompt_tokens: prompt.length, completion_tokens: 1, total_tokens: prompt.length + 1 };
    const base = { id: "cmpl-1", created: 0, model, usage };
    const wantsLogprobs = chat ? body.logprobs === true : typeof body.logprobs === "number";
    const own = wantsLogprobs ? undefined : opts.onAnswer?.(body);
    if (own && "status" in own) return { status: own.status, json: own.json };
    if (!wantsLogprobs) {
      const text = own ? own.content : fakeGeneration(prompt);
      return chat
        ? {
            json: {
              ...base,
              object: "chat.completion",
              choices: [
                { index: 0, message: { role: "assistant", content: text }, finish_reason: "stop", logprobs: null },
              ],
            },
          }
        : {
            json: {
              ...base,
              object: "text_completion",
              choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }],
            },
          };
    }
    const top = fakeTopLogprobs(prompt, chat ? body.top_logprobs : body.logprobs, opts.sinkLetters);
    const first = top[0]!;
    const content = { content: [{ token: first.token, logprob: first.logprob, bytes: null, top_logprobs: top }] };
    if (chat) {
      return {
        json: {
          ...base,
          object: "chat.completion",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: first.token },
              finish_reason: "length",
              logprobs: content,
            },
          ],
        },
      };
    }
    const logprobs =
      opts.completionsShape === "content"
        ? content
        : {
            tokens: [first.token],
            token_logprobs: [first.logprob],
            top_logprobs: [Object.fromEntries(top.map((t) => [t.token, t.logprob]))],
            text_offset: [0],
          };
    return {
      json: {
        ...base,
        object: "text_completion",
        choices: [{ index: 0, text: first.token, finish_reason: "length", logprobs }],
      },
    };
  };
  return startFake(handler, (p) => p === "/v1/chat/completions" || p === "/v1/completions", opts);
}

/** A loopback URL where nothing listens (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

// ---- the slice the server tests run (Nigeria, both tasks, 2 repeats, letters protocol) ----
import { writeFileSync } from "node:fs";
import path from "node:path";
import { loadVia, SAMPLE_VIA_PATH } from "../../src/suites/via/dataset.js";
import { openBackend } from "../../src/models/open.js";
import { ModelEntrySchema, type ResolvedModel } from "../../src/models/registry.js";
import { buildQuestions } from "../../src/suites/via/questions.js";
import type { Question } from "../../src/questions/question.js";
import { runBenchmark } from "../../src/runner/run.js";
import type { RunConfig } from "../../src/records/manifest.js";
import { testConfig } from "./config.js";
import { readRecords, type RunRecord } from "../../src/records/records.js";
import { writeRunOutputs } from "../../src/runs/outputs.js";

export function sliceConfig(model = "fake"): RunConfig {
  return testConfig({ model, countries: ["Nigeria"], statedMaxTokens: 1024, actionMaxTokens: 256 });
}

export async function sliceQuestions(): Promise<Question[]> {
  const dataset = await loadVia(SAMPLE_VIA_PATH);
  const c = sliceConfig();
  return buildQuestions(dataset, {
    protocol: c.protocol,
    tasks: c.tasks,
    repeats: c.repeats,
    seed: c.seed,
    filter: { countries: c.countries ?? undefined },
    statedVariants: c.statedVariants,
    actionVariants: c.actionVariants,
    statedMaxTokens: c.statedMaxTokens,
    actionMaxTokens: c.actionMaxTokens,
  });
}

/** Run the slice through the real runner on a models.yaml-style entry; returns the records. */
export async function runSlice(entry: Record<string, unknown>, out: string, cacheDir: string): Promise<RunRecord[]> {
  const dataset = await loadVia(SAMPLE_VIA_PATH);
  const model: ResolvedModel = { name: "fake", entry: ModelEntrySchema.parse(entry), baseDir: process.cwd() };
  await runBenchmark({
    config: sliceConfig(),
    dataset,
    out,
    resume: false,
    cacheDir,
    progress: "quiet",
    openBackend: () => openBackend(model, { modelsDir: cacheDir, cacheDir }),
    log: () => {},
    whenDone: (r) => writeRunOutputs(r.out, r.manifest, r.records, { bootstrap: 0 }).then(() => {}),
  });
  return readRecords(path.join(out, "records.jsonl")).records;
}

/** Write a models.yaml with one entry named `name`. */
export function writeModelsYaml(file: string, name: string, entry: Record<string, unknown>): void {
  writeFileSync(file, `models:\n  ${name}: ${JSON.stringify(entry)}\n`);
}
