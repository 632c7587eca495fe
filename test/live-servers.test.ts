// Opt-in: the server backends against real servers. Run only when
//   OLLAMA_HOST (+ VALUELENS_OLLAMA_MODEL, an Ollama tag that is pulled) or
//   VALUELENS_OPENAI_BASE_URL (+ VALUELENS_OPENAI_MODEL, the served model id; optional
//   VALUELENS_OPENAI_API: chat | completions, VALUELENS_OPENAI_API_KEY)
// are set; skipped with a message otherwise.
// The OpenAI-compatible checks also run, always (CI has it), against a real llama-server from
// ../shared/bin/llama-server on the tiny model: /v1/chat/completions and /v1/completions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaServerBinary, NO_LLAMA_SERVER, startLlamaServer, type RunningServer } from "./helpers/llamaServer.js";
import { tinyModelPath } from "./helpers/models.js";
import { FIDELITY } from "./helpers/shared.js";
import { normalizeOllamaHost, OllamaBackend } from "../src/backends/ollama.js";
import { OpenAICompatibleBackend } from "../src/backends/openai.js";
import type { Backend } from "../src/backends/backend.js";
import type { JsonSchemaGenerator } from "../src/generate/generate.js";

const ollamaHost = process.env.OLLAMA_HOST;
const ollamaModel = process.env.VALUELENS_OLLAMA_MODEL;
const openaiUrl = process.env.VALUELENS_OPENAI_BASE_URL;
const openaiModel = process.env.VALUELENS_OPENAI_MODEL;
const runOllama = Boolean(ollamaHost && ollamaModel);
const runOpenAI = Boolean(openaiUrl && openaiModel);
if (!runOllama)
  console.log(
    "live Ollama tests skipped: set OLLAMA_HOST and VALUELENS_OLLAMA_MODEL to run them against a real server",
  );
if (!runOpenAI)
  console.log(
    "live OpenAI-compatible tests skipped: set VALUELENS_OPENAI_BASE_URL and VALUELENS_OPENAI_MODEL to run them against a real server",
  );

const QUESTION = [
  "You are answering a survey.\n",
  "Which letter comes first in the alphabet?\n",
  "A) B\nB) A\nAnswer with the letter only.",
];

async function checkLetters(b: Backend) {
  const p = b.prepare(QUESTION, { mode: "letters" });
  const s = await b.scoreLetters(p, ["A", "B"]);
  // A letter outside the server's top logprobs is reported, not silently zero.
  if ((s.notFound?.length ?? 0) < 2) expect(s.mass).toBeGreaterThan(0);
  for (const letter of s.notFound ?? []) expect(s.perLetter.find((l) => l.letter === letter)!.p).toBe(0);
  expect(s.mass).toBeLessThanOrEqual(1 + 1e-9);
  if (s.mass > 0) expect((s.probs.A ?? 0) + (s.probs.B ?? 0)).toBeCloseTo(1, 9);
  for (const v of Object.values(s.probs)) expect(Number.isFinite(v)).toBe(true);
  // Greedy letters are deterministic: asking again gives the same numbers.
  if (b.info.letterMethod === "logprobs") expect((await b.scoreLetters(p, ["A", "B"])).probs).toEqual(s.probs);
  const g = await b.generate(b.prepare(["Say OK."], { mode: "generate" }), { maxTokens: 8, temperature: 0 });
  expect(typeof g.text).toBe("string");
}

/** Constrained generation (Ollama `format`, OpenAI-compatible `response_format`): the reply parses and fits the schema. */
async function checkJson(b: Backend & { generateJson: JsonSchemaGenerator["generateJson"] }) {
  const schema = {
    type: "object",
    properties: { answer: { type: "string", enum: ["yes", "no"] } },
    required: ["answer"],
    additionalProperties: false,
  };
  const g = await b.generateJson(
    b.prepare(["Is the sky blue on a clear day? Reply in JSON."], { mode: "generate" }),
    schema,
    { maxTokens: 32, temperature: 0 },
  );
  expect(["yes", "no"]).toContain((JSON.parse(g.text) as { answer: string }).answer);
}

describe.skipIf(!runOllama)("live Ollama server", () => {
  it("scores letters, generates, and generates JSON to a schema", async () => {
    const b = await OllamaBackend.open({
      name: "live",
      tag: ollamaModel!,
      endpoints: [normalizeOllamaHost(ollamaHost!)],
      concurrency: 1,
      timeoutMs: 300_000,
      retries: 2,
      samples: 20,
      sampleTemperature: 1,
    });
    expect(b.info.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    await checkLetters(b);
    await checkJson(b);
  }, 600_000);
});

describe.skipIf(!runOpenAI)("live OpenAI-compatible server", () => {
  it("scores letters, generates, and generates JSON to a schema", async () => {
    const api = process.env.VALUELENS_OPENAI_API === "completions" ? "completions" : "chat";
    const b = await OpenAICompatibleBackend.open({
      name: "live",
      baseUrl: openaiUrl!,
      model: openaiModel!,
      endpoints: [openaiUrl!],
      api,
      apiKey: process.env.VALUELENS_OPENAI_API_KEY,
      concurrency: 1,
      timeoutMs: 300_000,
      retries: 2,
    });
    await checkLetters(b);
    await checkJson(b);
  }, 600_000);
});

const localServer = llamaServerBinary() !== undefined;
if (!localServer) console.warn(NO_LLAMA_SERVER);

describe.skipIf(!localServer)("OpenAI-compatible backend against a real llama-server", FIDELITY, () => {
  let server: RunningServer;
  beforeAll(async () => {
    // A printable-ASCII grammar for answers: llama-server's output parser fails (HTTP 500) on an
    // answer that is not valid UTF-8, which a random-weight model's byte tokens often make.
    // Letter probabilities are read before sampling, so the grammar does not change them.
    server = await startLlamaServer(await tinyModelPath("f32"), { args: ["--grammar", "root ::= [ -~]*"] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  for (const api of ["chat", "completions"] as const) {
    it(`/v1/${api === "chat" ? "chat/completions" : "completions"}: scores letters, generates, and generates JSON to a schema`, async () => {
      const b = await OpenAICompatibleBackend.open({
        name: "local",
        baseUrl: `${server.url}/v1`,
        model: "valuelens-tiny",
        endpoints: [`${server.url}/v1`],
        api,
        concurrency: 1,
        timeoutMs: 120_000,
        retries: 1,
      }).catch(async () => {
        // llama-server serves the model under its path; ask /v1/models for the id.
        const id = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0]!.id;
        return OpenAICompatibleBackend.open({
          name: "local",
          baseUrl: `${server.url}/v1`,
          model: id,
          endpoints: [`${server.url}/v1`],
          api,
          concurrency: 1,
          timeoutMs: 120_000,
          retries: 1,
        });
      });
      await checkLetters(b);
      await checkJson(b);
    }, 300_000);
  }
});
