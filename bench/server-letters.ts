/**
 * The llama-server backend's letter read (src/backends/llamaServer.ts, readTopK) on the Llama 3
 * stand-in (128,256 tokens) against a real llama-server (../shared/bin/llama-server or
 * $VALUELENS_LLAMA_SERVER), one slot, one thread:
 * - what one question costs when the top 256 tokens settle it (n_probs 256) and when the whole
 *   vocabulary must be read (n_probs = vocabulary, the old backend's fallback whenever one
 *   spelling such as "\tA" was outside the top list): requests per second, JSON bytes;
 * - on the stand-in, how many questions of a letters run needed the whole vocabulary. Its random
 *   weights give a flat distribution (letter mass about 1e-4), so the letters' left-out
 *   spellings can always move a probability by more than 1e-6 and every question reads it all;
 *   a real model, whose letters hold most of the mass, settles in the first read.
 *
 * Writes bench/results/server-letters.json.
 * Usage: node --import tsx bench/server-letters.ts [--questions 60]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { LlamaServerBackend } from "../src/backends/llamaServer.js";
import { ensureStandinModel } from "../src/gguf/index.js";
import { packageRoot } from "../src/util/paths.js";
import { llamaServerBinary, NO_LLAMA_SERVER, startLlamaServer } from "../test/helpers/llamaServer.js";

const root = packageRoot();
const { values: args } = parseArgs({ options: { questions: { type: "string", default: "60" } } });
if (!llamaServerBinary()) {
  console.log(NO_LLAMA_SERVER);
  process.exit(0);
}
const model = await ensureStandinModel("llama3", { root });
const server = await startLlamaServer(model, { ctx: 2048 });
try {
  const backend = await LlamaServerBackend.open({
    name: "llama3 stand-in",
    baseUrl: server.url,
    endpoints: [server.url],
    concurrency: 1,
    timeoutMs: 300_000,
    retries: 2,
  });
  const n = Number(args.questions);
  const prompts = Array.from({ length: n }, (_, i) =>
    backend.prepare(
      [
        `Suppose you are from country ${i % 7}, in the context of topic ${i % 5}, `,
        `how strongly do you agree with value number ${i}? Answer with the letter of your choice (A, B, C or D) only.\n`,
        "A. agree\nB. strongly agree\nC. disagree\nD. strongly disagree",
      ],
      { mode: "letters" },
    ),
  );
  // 1. One request per question, top 256 against the whole vocabulary (the same prompts, cache warm).
  const vocabulary = 128256; // Llama 3's
  const request = async (tokens: readonly number[], nProbs: number) => {
    const r = await fetch(`${server.url}/completion`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        prompt: tokens,
        n_predict: 1,
        n_probs: nProbs,
        temperature: 0,
        cache_prompt: true,
        id_slot: 0,
        stream: false,
      }),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`/completion: ${r.status} ${text.slice(0, 200)}`);
    return text.length;
  };
  const tokenized: number[][] = [];
  for (const p of prompts) {
    const r = await fetch(`${server.url}/tokenize`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: p.text, add_special: true, parse_special: true }),
    });
    tokenized.push(((await r.json()) as { tokens: number[] }).tokens);
  }
  const timed = async (nProbs: number) => {
    let bytes = 0;
    const started = performance.now();
    for (const tokens of tokenized) bytes += await request(tokens, nProbs);
    const seconds = (performance.now() - started) / 1000;
    return { nProbs, perSecond: n / seconds, bytesPerQuestion: Math.round(bytes / n) };
  };
  await timed(256); // warm
  const top = await timed(256);
  const all = await timed(vocabulary);
  console.log(
    `one /completion per question: n_probs 256 ${top.perSecond.toFixed(1)} q/s (${top.bytesPerQuestion} B of JSON); whole vocabulary (${vocabulary}) ${all.perSecond.toFixed(1)} q/s (${all.bytesPerQuestion} B): ${(top.perSecond / all.perSecond).toFixed(1)}x`,
  );
  // 2. The backend's letters on the stand-in: how many questions needed the whole vocabulary.
  const started = performance.now();
  const methods = new Map<string, number>();
  for (const p of prompts) {
    const s = await backend.scoreLetters(p, ["A", "B", "C", "D"]);
    methods.set(s.method, (methods.get(s.method) ?? 0) + 1);
  }
  const backendPerSecond = n / ((performance.now() - started) / 1000);
  console.log(
    `valuelens' llama-server letters on the stand-in: ${backendPerSecond.toFixed(1)} q/s; methods ${JSON.stringify(Object.fromEntries(methods))}`,
  );
  await backend.close();
  mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  writeFileSync(
    path.join(root, "bench", "results", "server-letters.json"),
    `${JSON.stringify({ date: new Date().toISOString(), questions: n, top, all, backendPerSecond, methods: Object.fromEntries(methods) }, null, 2)}\n`,
  );
  console.log("wrote bench/results/server-letters.json");
} finally {
  await server.stop();
}
