// Constrained JSON generation on the server backends (`generate dilemmas|actions` with an
// Ollama or OpenAI-compatible model): the schema travels as Ollama's `format` / OpenAI's
// `response_format`, the reply text comes back, a server that rejects the schema gets plain
// JSON mode once with a warning, and a whole `generateDilemmas` run against the fake Ollama
// writes a file the dilemma loader accepts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { RequestRejectedError } from "../src/backends/http/errors.js";
import { OllamaBackend, type OllamaOptions } from "../src/backends/ollama.js";
import { OpenAICompatibleBackend, type OpenAICompatibleOptions } from "../src/backends/openai.js";
import { AnswerCache } from "../src/cache/answerCache.js";
import { generateCommand } from "../src/cli/generate.js";
import { loadDilemmas } from "../src/suites/dilemmas/dataset.js";
import { ACTION_GRADES } from "../src/suites/dilemmas/schema.js";
import { canGenerateJson, generateDilemmas } from "../src/generate/generate.js";
import { dilemmaId, dilemmaJsonSchema, viaJsonSchema } from "../src/generate/schemas.js";
import {
  startFakeOllama,
  startFakeOpenAI,
  writeModelsYaml,
  type AnswerOverride,
  type FakeServer,
} from "./helpers/fakeServers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-server-json-"));
const servers: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(work, { recursive: true, force: true });
});

/** A fake server that records every generation request's body and answers with `answer`. */
async function recording<S extends FakeServer>(
  start: (o: { onAnswer: (body: any) => AnswerOverride | undefined }) => Promise<S>,
  answer: (body: any) => AnswerOverride | undefined,
) {
  const bodies: any[] = [];
  const server = await start({
    onAnswer: (body) => {
      bodies.push(body);
      return answer(body);
    },
  });
  servers.push(server);
  return { server, bodies };
}

/**
 * A JSON value that satisfies `schema` (the subset our schemas use: objects with required
 * properties, arrays with minItems, strings with min/maxLength), the texts made from `seed`.
 */
function fill(schema: any, seed: string): unknown {
  if (schema.type === "object")
    return Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, fill(s, `${seed} ${k}`)]));
  if (schema.type === "array")
    return Array.from({ length: schema.minItems ?? 1 }, (_, i) => fill(schema.items, `${seed} ${i + 1}`));
  if (schema.type === "string") return `You ${seed}`.slice(0, schema.maxLength ?? Infinity);
  throw new Error(`fill: unsupported schema ${JSON.stringify(schema)}`);
}

const OLD_OLLAMA_400 = {
  status: 400,
  json: { error: "json: cannot unmarshal object into Go struct field ChatRequest.format of type string" },
};

const ollamaOpts = (url: string, extra: Partial<OllamaOptions> = {}): OllamaOptions => ({
  name: "x",
  tag: "fake",
  endpoints: [url],
  concurrency: 1,
  timeoutMs: 2000,
  retries: 0,
  samples: 4,
  sampleTemperature: 1,
  ...extra,
});
const openaiOpts = (url: string, extra: Partial<OpenAICompatibleOptions> = {}): OpenAICompatibleOptions => ({
  name: "x",
  baseUrl: `${url}/v1`,
  model: "fake-model",
  endpoints: [`${url}/v1`],
  api: "chat",
  concurrency: 1,
  timeoutMs: 2000,
  retries: 0,
  ...extra,
});

describe("Ollama: generateJson sends the schema as `format`", () => {
  it("carries the schema, the greedy options and returns the reply text", async () => {
    const schema = viaJsonSchema(80);
    const { server, bodies } = await recording(startFakeOllama, (b) =>
      b.format ? { content: JSON.stringify(fill(b.format, "act")) } : undefined,
    );
    const b = await OllamaBackend.open(ollamaOpts(server.url, { numCtx: 4096 }));
    expect(canGenerateJson(b)).toBe(true);
    const before = b.counters.evaluations;
    const g = await b.generateJson(b.prepare(["Describe an action."], { mode: "generate" }), schema, {
      maxTokens: 300,
      temperature: 0,
      seed: 7,
    });
    expect(bodies).toHaveLength(1);
    expect(bodies[0].format).toEqual(schema);
    expect(bodies[0].stream).toBe(false);
    expect(bodies[0].messages).toEqual([{ role: "user", content: "Describe an action." }]);
    expect(bodies[0].options).toEqual({ temperature: 0, seed: 7, num_predict: 300, num_ctx: 4096 });
    expect(JSON.parse(g.text)).toEqual(fill(schema, "act"));
    expect(g.finishReason).toBe("stop");
    expect(g.evaluatedTokens).toBe("Describe an action.".length);
    expect(g.generatedTokens).toBe(g.text.length);
    expect(b.counters.evaluations).toBe(before + 1);
    expect(b.warnings).toEqual([]);
    // Plain generation still sends no format.
    await b.generate(b.prepare(["Which option?"], { mode: "generate" }), { maxTokens: 16, temperature: 0 });
    expect(bodies[1]).not.toHaveProperty("format");
  });

  it('falls back to `format: "json"` once on a server that rejects a schema (400 naming format), with a warning', async () => {
    const { server, bodies } = await recording(startFakeOllama, (b) =>
      typeof b.format === "object" ? OLD_OLLAMA_400 : { content: '{"role": "a nurse"}' },
    );
    const seen: string[] = [];
    const b = await OllamaBackend.open(ollamaOpts(server.url, { onWarning: (m) => seen.push(m) }));
    const prompt = b.prepare(["Write a dilemma."], { mode: "generate" });
    const g = await b.generateJson(prompt, dilemmaJsonSchema(), { maxTokens: 64, temperature: 0 });
    expect(g.text).toBe('{"role": "a nurse"}');
    expect(bodies.map((x) => (typeof x.format === "object" ? "schema" : x.format))).toEqual(["schema", "json"]);
    expect(b.warnings).toHaveLength(1);
    expect(seen).toEqual(b.warnings);
    expect(b.warnings[0]).toContain(`${server.url}/api/chat (HTTP 400) rejected a JSON schema as \`format\``);
    expect(b.warnings[0]).toContain('`format: "json"`');
    // From then on, straight to "json": no second rejection, no second warning.
    await b.generateJson(prompt, dilemmaJsonSchema(), { maxTokens: 64, temperature: 0.8, seed: 1 });
    expect(bodies.map((x) => x.format)).toEqual([dilemmaJsonSchema(), "json", "json"]);
    expect(b.warnings).toHaveLength(1);
  });

  it("does not fall back on other rejections", async () => {
    const { server, bodies } = await recording(startFakeOllama, () => ({
      status: 400,
      json: { error: "num_ctx too large" },
    }));
    const b = await OllamaBackend.open(ollamaOpts(server.url, { onWarning: () => {} }));
    const err = await b
      .generateJson(b.prepare(["x"], { mode: "generate" }), dilemmaJsonSchema(), { maxTokens: 8, temperature: 0 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect(bodies).toHaveLength(1);
    expect(b.warnings).toEqual([]);
  });

  it("generateDilemmas end to end writes dilemmas that loadDilemmas accepts, and replays from the cache", async () => {
    const { server, bodies } = await recording(startFakeOllama, (b) => {
      const topic = /in the context of (.+?)\.\n/.exec(b.messages.at(-1).content)?.[1] ?? "?";
      return { content: JSON.stringify(fill(b.format, `face a choice at work in ${topic}`)) };
    });
    const b = await OllamaBackend.open(ollamaOpts(server.url));
    const cache = AnswerCache.open(path.join(work, "cache-e2e"));
    const out = path.join(work, "dilemmas.jsonl");
    const values = ["Equality", "Wealth"];
    const topics = ["Politics", "Work Orientation"];
    const r = await generateDilemmas(b, cache, { values, topics, out, settings: { maxChars: 80 } });
    expect(r.failures).toEqual([]);
    expect(r.counts).toMatchObject({ asked: 4, written: 4, failed: 0, generations: 4, retries: 0 });
    expect(bodies).toHaveLength(4);
    for (const body of bodies) {
      expect(body.format).toEqual(dilemmaJsonSchema(80));
      expect(body.options).toMatchObject({ temperature: 0, seed: 0, num_predict: 512 });
    }
    const loaded = loadDilemmas(out);
    expect(loaded.format).toBe("jsonl");
    expect(loaded.dilemmas.map((d) => d.id)).toEqual(values.flatMap((v) => topics.map((t) => dilemmaId(v, t))));
    for (const d of loaded.dilemmas) {
      expect(d.role).toBe(`You face a choice at work in ${d.topic} role`);
      expect(Object.keys(d.actions)).toEqual([...ACTION_GRADES]);
    }
    // The same items into a new file come from the cache, not the server.
    const again = await generateDilemmas(b, cache, {
      values,
      topics,
      out: path.join(work, "dilemmas-2.jsonl"),
      settings: { maxChars: 80 },
    });
    expect(again.counts).toMatchObject({ written: 4, generations: 0, cacheHits: 4 });
    expect(bodies).toHaveLength(4);
    expect(readFileSync(path.join(work, "dilemmas-2.jsonl"), "utf8")).toBe(readFileSync(out, "utf8"));
  });

  it("`valuelens generate dilemmas` on an old Ollama entry says so on stderr and still writes valid dilemmas", async () => {
    const { server } = await recording(startFakeOllama, (b) =>
      typeof b.format === "object"
        ? OLD_OLLAMA_400
        : { content: JSON.stringify(fill(dilemmaJsonSchema(60), "keep a promise")) },
    );
    const models = path.join(work, "models.yaml");
    writeModelsYaml(models, "old-ollama", { backend: "ollama", tag: "fake", host: server.url, retries: 0 });
    const out = path.join(work, "cli-dilemmas.jsonl");
    const stdout: string[] = [];
    const stderr: string[] = [];
    const w1 = vi.spyOn(process.stdout, "write").mockImplementation((s) => (stdout.push(String(s)), true));
    const w2 = vi.spyOn(process.stderr, "write").mockImplementation((s) => (stderr.push(String(s)), true));
    try {
      await generateCommand().parseAsync(
        [
          "dilemmas",
          "--model",
          "old-ollama",
          "--models",
          models,
          "--values",
          "Equality",
          "--topics",
          "Politics,Work Orientation",
          "--out",
          out,
          "--cache-dir",
          path.join(work, "cli-cache"),
          "--max-chars",
          "60",
          "--quiet",
        ],
        { from: "user" },
      );
    } finally {
      w1.mockRestore();
      w2.mockRestore();
    }
    expect(stderr.filter((l) => l.startsWith("warning:"))).toHaveLength(1);
    expect(stderr.join("")).toMatch(/rejected a JSON schema as `format`; generating with `format: "json"` instead/);
    expect(stdout.join("")).toContain("done: 2 written");
    expect(loadDilemmas(out).dilemmas.map((d) => d.id)).toEqual(["equality-politics", "equality-work-orientation"]);
  });
});

describe("OpenAI-compatible: generateJson sends the schema as `response_format`", () => {
  it("chat and completions carry a strict json_schema response_format and return the reply text", async () => {
    const schema = viaJsonSchema(80);
    const { server, bodies } = await recording(startFakeOpenAI, (b) =>
      b.response_format ? { content: JSON.stringify(fill(b.response_format.json_schema.schema, "act")) } : undefined,
    );
    for (const api of ["chat", "completions"] as const) {
      const b = await OpenAICompatibleBackend.open(openaiOpts(server.url, { api }));
      expect(canGenerateJson(b)).toBe(true);
      const g = await b.generateJson(b.prepare(["Describe an action."], { mode: "generate" }), schema, {
        maxTokens: 300,
        temperature: 0,
        seed: 3,
      });
      const body = bodies.at(-1);
      expect(body.response_format).toEqual({
        type: "json_schema",
        json_schema: { name: "item", schema, strict: true },
      });
      expect(body).toMatchObject({ model: "fake-model", max_tokens: 300, temperature: 0, seed: 3 });
      expect(body).not.toHaveProperty("logprobs");
      expect(JSON.parse(g.text)).toEqual(fill(schema, "act"));
      expect(g.evaluatedTokens).toBe("Describe an action.".length);
      expect(b.warnings).toEqual([]);
      await b.generate(b.prepare(["Which option?"], { mode: "generate" }), { maxTokens: 16, temperature: 0 });
      expect(bodies.at(-1)).not.toHaveProperty("response_format");
    }
  });

  it('falls back to `{type: "json_object"}` once on a 400 naming response_format, with a warning', async () => {
    const { server, bodies } = await recording(startFakeOpenAI, (b) =>
      b.response_format?.type === "json_schema"
        ? {
            status: 400,
            json: {
              error: {
                code: 400,
                message: 'response_format type must be one of "text" or "json_object", but got: json_schema',
                type: "invalid_request_error",
              },
            },
          }
        : { content: '{"Human Action": "I vote."}' },
    );
    const seen: string[] = [];
    const b = await OpenAICompatibleBackend.open(openaiOpts(server.url, { onWarning: (m) => seen.push(m) }));
    const prompt = b.prepare(["Describe an action."], { mode: "generate" });
    const g = await b.generateJson(prompt, viaJsonSchema(), { maxTokens: 64, temperature: 0 });
    expect(g.text).toBe('{"Human Action": "I vote."}');
    await b.generateJson(prompt, viaJsonSchema(), { maxTokens: 64, temperature: 0.8, seed: 1 });
    expect(bodies.map((x) => x.response_format.type)).toEqual(["json_schema", "json_object", "json_object"]);
    expect(b.warnings).toHaveLength(1);
    expect(seen).toEqual(b.warnings);
    expect(b.warnings[0]).toContain(
      `${server.url}/v1/chat/completions (HTTP 400) rejected a JSON schema as \`response_format\``,
    );
  });
});
