/**
 * Server backends: the runner's own overhead per question, and scale-out over endpoints.
 *
 *   node --import tsx bench/http.ts      -> bench/results/http.json
 *
 * 1. Overhead: the Ollama backend with a server that answers instantly, through the real
 *    runner (`runBenchmark`, cold cache, concurrency 8). Measured twice: with an in-memory
 *    fetch (runner + backend + cache + records only) and with a loopback HTTP fake (adds
 *    node:http on both sides). Per question = the marginal cost between a run of 10 and of 20
 *    repeats (setup, metrics and report cancel out). Target < 1 ms.
 * 2. Throughput with 1, 2 and 4 loopback fake endpoints that each add 20 ms per answer and
 *    take 2 requests at a time (each fake in its own process, as separate servers would be), for the backend alone and for whole runs through the runner.
 *    Target: 4 endpoints >= 3.5x one endpoint.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Backend } from "../src/backends/backend.js";
import { OllamaBackend } from "../src/backends/ollama.js";
import { loadVia, SAMPLE_VIA_PATH, type ViaDataset } from "../src/suites/via/dataset.js";
import { runBenchmark } from "../src/runner/run.js";
import { buildQuestions, DEFAULT_ACTION_VARIANTS, DEFAULT_STATED_VARIANTS } from "../src/suites/via/questions.js";
import type { RunConfig } from "../src/records/manifest.js";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { testConfig } from "../test/helpers/config.js";
import { fakeTopLogprobs, FAKE_DIGEST, startFakeOllama } from "../test/helpers/fakeServers.js";
import { writeRunOutputs } from "../src/runs/outputs.js";

const FAKE_CHILD = process.env.VALUELENS_BENCH_FAKE_DELAY_MS;

/** A fake endpoint in its own process (as a real server would be), on loopback. */
async function startFakeProcess(delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, VALUELENS_BENCH_FAKE_DELAY_MS: String(delayMs) },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve(String(m)));
    child.once("error", reject);
  });
  return { url, close: () => new Promise<void>((resolve) => (child.once("exit", () => resolve()), child.kill())) };
}

if (FAKE_CHILD !== undefined) {
  const s = await startFakeOllama({ tag: "fake:latest", delayMs: Number(FAKE_CHILD) });
  process.send!(s.url);
}

const work = mkdtempSync(path.join(tmpdir(), "vl-bench-http-"));
let runNo = 0;

function config(repeats: number): RunConfig {
  return testConfig({ model: "bench-http", repeats, statedMaxTokens: 1024, actionMaxTokens: 256 });
}

async function timedRun(
  dataset: ViaDataset,
  repeats: number,
  open: () => Promise<Backend>,
): Promise<{ questions: number; ms: number }> {
  const n = ++runNo;
  const out = path.join(work, `run-${n}`);
  const cacheDir = path.join(work, `cache-${n}`); // cold cache
  const t0 = performance.now();
  const r = await runBenchmark({
    config: config(repeats),
    dataset,
    out,
    resume: false,
    cacheDir,
    progress: "quiet",
    openBackend: open,
    log: () => {},
    whenDone: (r) => writeRunOutputs(r.out, r.manifest, r.records, { bootstrap: 0 }).then(() => {}),
  });
  const ms = performance.now() - t0;
  if (r.interrupted) throw new Error("bench run did not complete");
  return { questions: r.answered, ms };
}

/** An Ollama server in memory: /api/version, /api/tags, /api/chat with logprobs, instantly. */
const memoryFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  const json = (v: unknown) =>
    new Response(JSON.stringify(v), { status: 200, headers: { "content-type": "application/json" } });
  if (url.endsWith("/api/version")) return json({ version: "0.13.0" });
  if (url.endsWith("/api/tags"))
    return json({ models: [{ name: "fake:latest", model: "fake:latest", digest: FAKE_DIGEST, details: {} }] });
  const body = JSON.parse(String(init?.body));
  const top = fakeTopLogprobs(body.messages.at(-1).content, 20);
  return json({
    model: "fake:latest",
    message: { role: "assistant", content: top[0]!.token },
    done: true,
    done_reason: "length",
    logprobs: [{ ...top[0], top_logprobs: top }],
    prompt_eval_count: 100,
    eval_count: 1,
  });
}) as typeof fetch;

function ollama(endpoints: string[], concurrency: number, fetchImpl?: typeof fetch): () => Promise<Backend> {
  return () =>
    OllamaBackend.open({
      name: "bench",
      tag: "fake",
      endpoints,
      concurrency,
      timeoutMs: 10_000,
      retries: 2,
      samples: 20,
      sampleTemperature: 1,
      fetch: fetchImpl,
    });
}

async function overhead(dataset: ViaDataset, open: () => Promise<Backend>) {
  await timedRun(dataset, 2, open); // warm up (JIT, module loading)
  const small = await timedRun(dataset, 10, open);
  const large = await timedRun(dataset, 20, open);
  const marginal = (large.ms - small.ms) / (large.questions - small.questions);
  return {
    questions: large.questions,
    totalMs: round(large.ms),
    msPerQuestionTotal: round(large.ms / large.questions, 4),
    msPerQuestionMarginal: round(marginal, 4),
    questionsPerSecond: round(large.questions / (large.ms / 1000), 1),
  };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function main() {
  const dataset = await loadVia(SAMPLE_VIA_PATH);
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

  const inMemory = await overhead(dataset, ollama(["http://127.0.0.1:1"], 8, memoryFetch));
  const loopbackServer = await startFakeOllama({ tag: "fake:latest" });
  const loopback = await overhead(dataset, ollama([loopbackServer.url], 8));
  await loopbackServer.close();
  results.overhead = { concurrency: 8, target: "< 1 ms per question", inMemoryFetch: inMemory, loopbackHttp: loopback };
  console.log(
    `overhead per question, concurrency 8: in-memory fetch ${inMemory.msPerQuestionMarginal} ms (${inMemory.questionsPerSecond} q/s over ${inMemory.questions}), loopback HTTP ${loopback.msPerQuestionMarginal} ms (${loopback.questionsPerSecond} q/s)`,
  );

  // Scale-out, measured two ways: the backend's own throughput (laneCount workers each taking
  // the next question: what the endpoints deliver), and whole runs through the runner (server
  // backends keep no prefixes, so the runner hands out questions one by one to free lanes).
  type Scale = { endpoints: number; questions: number; ms: number; questionsPerSecond: number };
  const backendScale: Record<number, Scale> = {};
  const runnerScale: Record<number, Scale> = {};
  const questions = buildQuestions(dataset, {
    protocol: "letters",
    tasks: ["stated", "action"],
    repeats: 5,
    seed: 0,
    filter: {},
    statedVariants: DEFAULT_STATED_VARIANTS,
    actionVariants: DEFAULT_ACTION_VARIANTS,
    statedMaxTokens: 1024,
    actionMaxTokens: 256,
  });
  for (const count of [1, 2, 4]) {
    const fakes = await Promise.all(Array.from({ length: count }, () => startFakeProcess(20)));
    const open = ollama(
      fakes.map((f) => f.url),
      2,
    );
    const backend = await open();
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: backend.laneCount }, async (_, lane) => {
        while (next < questions.length) {
          const q = questions[next++]!;
          await backend.scoreLetters(backend.prepare(q.segments, { mode: "letters" }), q.letters!, lane);
        }
      }),
    );
    const ms = performance.now() - t0;
    await backend.close();
    backendScale[count] = {
      endpoints: count,
      questions: questions.length,
      ms: round(ms),
      questionsPerSecond: round(questions.length / (ms / 1000), 1),
    };
    // Marginal throughput between a 10- and a 20-repeat run: start-up, metrics and report cancel.
    const r10 = await timedRun(dataset, 10, open);
    const r20 = await timedRun(dataset, 20, open);
    const r = { questions: r20.questions - r10.questions, ms: r20.ms - r10.ms };
    runnerScale[count] = {
      endpoints: count,
      questions: r.questions,
      ms: round(r.ms),
      questionsPerSecond: round(r.questions / (r.ms / 1000), 1),
    };
    await Promise.all(fakes.map((f) => f.close()));
    console.log(
      `${count} endpoint(s) x 2 slots, 20 ms per answer: backend ${backendScale[count]!.questionsPerSecond} q/s, whole runs ${runnerScale[count]!.questionsPerSecond} q/s (marginal over ${r.questions} questions)`,
    );
  }
  const ratios = (s: Record<number, Scale>) => ({
    ratio2: round(s[2]!.questionsPerSecond / s[1]!.questionsPerSecond, 2),
    ratio4: round(s[4]!.questionsPerSecond / s[1]!.questionsPerSecond, 2),
  });
  results.scaleOut = {
    delayMs: 20,
    concurrencyPerEndpoint: 2,
    target: "4 endpoints >= 3.5x one",
    backend: { runs: Object.values(backendScale), ...ratios(backendScale) },
    runner: {
      runs: Object.values(runnerScale),
      ...ratios(runnerScale),
      note: "marginal throughput between 10- and 20-repeat runs (start-up, metrics and report cancel); repeated action prompts are answered from the cache, which no endpoint count speeds up, so this ratio understates the endpoints' scale-out",
    },
  };
  const b = ratios(backendScale);
  const w = ratios(runnerScale);
  console.log(`scale-out (backend): 2 endpoints ${b.ratio2}x, 4 endpoints ${b.ratio4}x one endpoint (target >= 3.5x)`);
  console.log(
    `scale-out (whole runs through the runner, repeated prompts answered from the cache): 2 endpoints ${w.ratio2}x, 4 endpoints ${w.ratio4}x (the target applies to the endpoints' throughput above)`,
  );

  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "http.json"), JSON.stringify(results, null, 2) + "\n");
  rmSync(work, { recursive: true, force: true });
  console.log(`wrote ${path.join(dir, "http.json")}`);
}

if (FAKE_CHILD === undefined) await main();
