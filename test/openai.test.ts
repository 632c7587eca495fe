// The OpenAI-compatible backend against a loopback fake: both logprob reply shapes, chat and
// completions APIs, validation errors that name the field, the served model id.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../src/backends/backend.js";
import { OpenAICompatibleBackend, type OpenAICompatibleOptions } from "../src/backends/openai.js";
import { readManifest } from "../src/records/manifest.js";
import { deterministicPart } from "../src/records/records.js";
import { expectedLetters, runSlice, sliceQuestions, startFakeOpenAI, type FakeServer } from "./helpers/fakeServers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-openai-"));
const servers: FakeServer[] = [];
async function fake(opts: Parameters<typeof startFakeOpenAI>[0] = {}) {
  const s = await startFakeOpenAI(opts);
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const fast = { retries: 4, retryBackoffMs: 1, timeoutMs: 400, concurrency: 2 };
const entry = (url: string, extra: Record<string, unknown> = {}) => ({
  backend: "openai-compatible",
  baseUrl: `${url}/v1`,
  model: "fake-model",
  ...fast,
  ...extra,
});
let n = 0;
const dirs = () => ({ out: path.join(work, `run-${++n}`), cache: path.join(work, `cache-${n}`) });
const open = (url: string, extra: Partial<OpenAICompatibleOptions> = {}) =>
  OpenAICompatibleBackend.open({
    name: "x",
    baseUrl: `${url}/v1`,
    model: "fake-model",
    endpoints: [`${url}/v1`],
    api: "chat",
    concurrency: 1,
    timeoutMs: 500,
    retries: 0,
    ...extra,
  });

describe("OpenAI-compatible backend", () => {
  it("chat, vLLM completions and llama-server completions shapes all give the server's letter probabilities", async () => {
    const questions = await sliceQuestions();
    const runs = [];
    for (const [api, shape] of [
      ["chat", "vllm"],
      ["completions", "vllm"],
      ["completions", "content"],
    ] as const) {
      const s = await fake({ completionsShape: shape });
      const d = dirs();
      runs.push(await runSlice(entry(s.url, { api }), d.out, d.cache));
      expect(readManifest(d.out)!.backend.outputOptions).toMatchObject({ api, letterMethod: "logprobs" });
    }
    for (const records of runs) {
      const byId = new Map(records.map((r) => [r.id, r]));
      expect(records.length).toBe(questions.length);
      for (const q of questions) {
        const want = expectedLetters(q.segments.join(""), q.letters!);
        const r = byId.get(q.id)!;
        for (const l of q.letters!) expect(r.letters!.probs[l]).toBeCloseTo(want.probs[l]!, 12);
        expect(r.letters!.mass).toBeCloseTo(want.mass, 12);
      }
    }
  });

  it("ends with the same records when faults are injected", async () => {
    const clean = await fake();
    const faulty = await fake({
      faults: { 1: "500", 2: "refuse", 4: "429", 6: "truncated", 9: "slow", 11: "badshape", 12: "reset" },
      slowMs: 1500,
    });
    const a = dirs();
    const b = dirs();
    // The two servers differ in baseUrl, which is part of the model's identity: pin it.
    const digest = "d".repeat(64);
    const want = await runSlice(entry(clean.url, { digest }), a.out, a.cache);
    const got = await runSlice(entry(faulty.url, { digest }), b.out, b.cache);
    expect(faulty.stats.faults).toBe(7);
    expect(got.map(deterministicPart)).toEqual(want.map(deterministicPart));
  });

  it("keys the cache by the served model id (or a pinned digest)", async () => {
    const s = await fake();
    const a = await open(s.url);
    const b = await open(s.url);
    expect(a.info.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(b.info.model.sha256).toBe(a.info.model.sha256);
    const pinned = await open(s.url, { digest: "C".repeat(64) });
    expect(pinned.info.model.sha256).toBe("c".repeat(64));
    await expect(open(s.url, { model: "nope" })).rejects.toThrow(
      /does not serve model "nope" \(it serves: fake-model\)/,
    );
  });

  it("an unexpected reply shape is an error naming the field, never a NaN", async () => {
    const s = await fake();
    const reply = JSON.stringify({ choices: [{ index: 0, message: { content: "A" }, logprobs: {} }] });
    const fetchStub = (async (input: string | URL | Request, init?: RequestInit) =>
      String(input).endsWith("/models") ? fetch(input, init) : new Response(reply, { status: 200 })) as typeof fetch;
    const b = await open(s.url, { fetch: fetchStub });
    const err = await b.scoreLetters(b.prepare(["A or B?"], { mode: "letters" }), ["A", "B"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(
      `reply from ${s.url}/v1/chat/completions: choices.0.logprobs.content: expected array`,
    );
    const nan = JSON.stringify({
      choices: [
        { index: 0, text: "A", logprobs: { tokens: ["A"], token_logprobs: [null], top_logprobs: [{ A: "x" }] } },
      ],
    });
    const stub2 = (async (input: string | URL | Request, init?: RequestInit) =>
      String(input).endsWith("/models") ? fetch(input, init) : new Response(nan, { status: 200 })) as typeof fetch;
    const c = await open(s.url, { fetch: stub2, api: "completions" });
    await expect(c.scoreLetters(c.prepare(["A or B?"], { mode: "letters" }), ["A", "B"])).rejects.toThrow(
      /choices\.0\.logprobs\.top_logprobs\.0\.A: expected number/,
    );
  });

  it("generates greedily through chat and completions", async () => {
    const s = await fake();
    for (const api of ["chat", "completions"] as const) {
      const b = await open(s.url, { api });
      const g = await b.generate(b.prepare(["Which option?"], { mode: "generate" }), { maxTokens: 16, temperature: 0 });
      expect(g.text).toMatch(/^Option [12]$/);
      expect(g.evaluatedTokens).toBe("Which option?".length);
    }
  });
});
