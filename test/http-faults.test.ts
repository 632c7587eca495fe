// The request layer: which faults are retried, backoff with full jitter and Retry-After,
// 4xx errors that are ours, endpoint slots, and the models.yaml entries / --model shorthands.
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { BackendUnavailableError } from "../src/backends/backend.js";
import { ServerClient } from "../src/backends/http/client.js";
import { RequestRejectedError } from "../src/backends/http/errors.js";
import { firstWord, letterOfToken, lettersFromTopLogprobs } from "../src/backends/http/letters.js";
import { EndpointPool } from "../src/backends/http/pool.js";
import { parseRetryAfter } from "../src/backends/http/request.js";
import { backoffMs, retryPolicy } from "../src/backends/http/retry.js";
import { ModelEntrySchema, resolveModel } from "../src/models/registry.js";
import { closedPortUrl, startFakeOpenAI, type Fault, type FakeServer } from "./helpers/fakeServers.js";

const servers: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const Models = z.object({ data: z.array(z.object({ id: z.string() })) });

/** A client whose sleeps are recorded, not waited. */
function client(endpoints: string[], opts: { retries?: number; timeoutMs?: number } = {}) {
  const sleeps: number[] = [];
  const c = new ServerClient({
    endpoints,
    concurrency: 1,
    timeoutMs: opts.timeoutMs ?? 300,
    retry: {
      retries: opts.retries ?? 3,
      baseMs: 100,
      capMs: 1000,
      random: () => 0.5,
      sleep: async (ms) => void sleeps.push(ms),
    },
  });
  return { c, sleeps };
}

async function faultyServer(faults: Record<number, Fault>, extra: Parameters<typeof startFakeOpenAI>[0] = {}) {
  const s = await startFakeOpenAI({ faults, slowMs: 1000, ...extra });
  servers.push(s);
  return s;
}
const ask = (c: ServerClient) =>
  c.postJson(
    "/v1/completions",
    { model: "fake-model", prompt: "A or B?", max_tokens: 1, logprobs: 5 },
    z.object({ choices: z.array(z.object({ text: z.string() })).min(1) }),
  );

describe("request layer", () => {
  for (const fault of ["refuse", "reset", "slow", "500", "429", "truncated", "badshape"] as const) {
    it(`retries after ${fault}`, async () => {
      const s = await faultyServer({ 1: fault, 2: fault });
      const { c, sleeps } = client([s.url]);
      const r = await ask(c);
      expect(r.choices[0]!.text.length).toBeGreaterThan(0);
      expect(c.stats.retries).toBe(2);
      expect(sleeps).toEqual([50, 100]); // full jitter with random() = 0.5: 0.5 * 100 * 2^n
    });
  }

  it("honours Retry-After", async () => {
    const s = await faultyServer({ 1: "429" }, { retryAfter: "3" });
    const { c, sleeps } = client([s.url]);
    await ask(c);
    expect(sleeps).toEqual([3000]);
    expect(parseRetryAfter("1.5")).toBe(1500);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("does not retry a 4xx other than 429: it is our request's fault", async () => {
    const s = await faultyServer({});
    const { c } = client([s.url]);
    const err = await c
      .postJson("/v1/completions", { model: "other", prompt: "x" }, z.unknown())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect((err as Error).message).toMatch(/rejected the request: HTTP 404 .*does not exist/);
    expect(c.stats.requests).toBe(1);
  });

  it("throws BackendUnavailableError with the endpoint and the last error when retries run out", async () => {
    const url = await closedPortUrl();
    const { c, sleeps } = client([url], { retries: 2 });
    const err = await c.getJson("/v1/models", Models).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).endpoint).toBe(url);
    expect((err as Error).message).toBe(
      `${url}: no valid answer after 3 tries; last error: ${url}/v1/models: connection refused (is the server running?)`,
    );
    expect(sleeps.length).toBe(2);
  });

  it("retries a failed request on another endpoint", async () => {
    const good = await faultyServer({});
    const dead = await closedPortUrl();
    const { c } = client([dead, good.url], { retries: 1 });
    for (let i = 0; i < 4; i++) await ask(c);
    expect(good.stats.answers).toBe(4);
  });

  it("backoff: exponential, capped, full jitter", () => {
    const p = retryPolicy({ baseMs: 100, capMs: 1000, random: () => 1 });
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffMs(p, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffMs(retryPolicy({ random: () => 0 }), 3, 2000)).toBe(2000);
  });

  it("endpoint slots: each endpoint has its own limit; a retry waits for an endpoint that has not failed it", async () => {
    const pool = new EndpointPool(["a", "b"], 2);
    expect(pool.capacity).toBe(4);
    const slots = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(slots.map((s) => s.endpoint).sort()).toEqual(["a", "a", "b", "b"]);
    let fifth: string | undefined;
    void pool.acquire(new Set(["b"])).then((s) => (fifth = s.endpoint));
    await Promise.resolve();
    expect(fifth).toBeUndefined();
    pool.release(slots.find((s) => s.endpoint === "b")!);
    await Promise.resolve();
    expect(fifth).toBeUndefined(); // b failed this request and a is healthy: wait for a
    pool.release(slots.find((s) => s.endpoint === "a")!);
    await Promise.resolve();
    expect(fifth).toBe("a");
    // A request that every endpoint has failed may go anywhere.
    expect((await pool.acquire(new Set(["a", "b"]))).endpoint).toBe("b");
  });

  it("a failing endpoint cools down and gets no requests while another is healthy", async () => {
    let t = 1000;
    const pool = new EndpointPool(["a", "b"], 4, () => t);
    pool.markFailure("a");
    const picks = [];
    for (let i = 0; i < 3; i++) picks.push((await pool.acquire()).endpoint);
    expect(picks).toEqual(["b", "b", "b"]);
    t += 300; // past the first cooldown (250 ms)
    expect((await pool.acquire()).endpoint).toBe("a");
    pool.markFailure("a");
    pool.markFailure("a"); // 3 consecutive failures: 1 s
    t += 600;
    expect((await pool.acquire()).endpoint).toBe("b");
    pool.markSuccess("a");
    expect((await pool.acquire()).endpoint).toBe("a");
  });
});

describe("letters from top logprobs", () => {
  it("counts every spelling of a letter and says which letters were not found", () => {
    expect(["A", " A", "A)", "A.", "A:", "\nA"].map((t) => letterOfToken(t, ["A", "B"]))).toEqual([
      "A",
      "A",
      "A",
      "A",
      "A",
      "A",
    ]);
    expect(letterOfToken("An", ["A"])).toBeUndefined();
    expect(letterOfToken(firstWord("**B**, because"), ["A", "B"])).toBe("B");
    expect(letterOfToken(firstWord("(A) it is"), ["A", "B"])).toBe("A");
    const s = lettersFromTopLogprobs(
      [
        { token: "A", logprob: Math.log(0.5) },
        { token: " A", logprob: Math.log(0.1) },
        { token: "B)", logprob: Math.log(0.2) },
        { token: "The", logprob: Math.log(0.15) },
      ],
      ["A", "B", "C"],
      20,
    );
    expect(s.mass).toBeCloseTo(0.8, 12);
    expect(s.probs.A).toBeCloseTo(0.75, 12);
    expect(s.probs.C).toBe(0);
    expect(s.notFound).toEqual(["C"]);
    expect(s.method).toBe("top-logprobs:20;not-found:C");
    expect(s.perLetter[0]!.spellings).toEqual({ A: 0.5, " A": expect.closeTo(0.1, 12) });
    expect(s.topToken).toEqual({ text: "A", p: 0.5 });
  });
});

describe("models.yaml server entries and --model shorthands", () => {
  it("parses ollama and openai-compatible entries with defaults", () => {
    const o = ModelEntrySchema.parse({ backend: "ollama", tag: "gemma2:9b-instruct-q8_0" });
    expect(o).toMatchObject({
      backend: "ollama",
      concurrency: 4,
      retries: 6,
      samples: 20,
      sampleTemperature: 1,
      source: "ollama:gemma2:9b-instruct-q8_0",
    });
    const v = ModelEntrySchema.parse({
      backend: "openai-compatible",
      baseUrl: "http://127.0.0.1:8000/v1",
      model: "Qwen/Qwen3-8B",
      endpoints: ["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"],
    });
    expect(v).toMatchObject({ api: "chat", concurrency: 4, source: "http://127.0.0.1:8000/v1#Qwen/Qwen3-8B" });
  });

  it("resolves ollama:TAG and openai:URL#MODEL", () => {
    const o = resolveModel("ollama:gemma2:9b", new Map());
    expect(o.entry).toMatchObject({ backend: "ollama", tag: "gemma2:9b" });
    const v = resolveModel("openai:http://127.0.0.1:8000/v1#Qwen/Qwen3-8B", new Map());
    expect(v.entry).toMatchObject({
      backend: "openai-compatible",
      baseUrl: "http://127.0.0.1:8000/v1",
      model: "Qwen/Qwen3-8B",
    });
    expect(() => resolveModel("openai:http://127.0.0.1:8000/v1", new Map())).toThrow(/openai:URL#MODEL/);
  });
});
