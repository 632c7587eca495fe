/**
 * Lanes (several context sequences) on the embedded engine: the batching race and the bound.
 *
 * 1. Race: two sequences of one context, a long prompt and a short one, each reading the logits
 *    of its last token, queued together so node-llama-cpp puts both in one llama_decode. llama.cpp
 *    splits it into ubatches of equal tokens per sequence, so the short prompt's output comes
 *    first; llama.cpp reorders the outputs lazily inside llama_get_logits_ith, and node-llama-cpp
 *    samples both outputs in parallel worker threads. Each trial is compared with each prompt
 *    evaluated alone: a wrong output, and whether it is exactly the other prompt's distribution.
 *    For node-llama-cpp's own batching ("maximumParallelism") and valuelens's two strategies.
 *    The race needs two threads inside the reorder at once: keep the other cores busy to see it.
 * 2. Bound (with --via): the letters protocol on Egypt and France x Religion and Politics, one
 *    sequence against --sequences with isolated and shared batching: records that differ, and
 *    the largest difference of a letter probability.
 *
 * Usage: node --import tsx bench/lanes.ts [--trials 2000] [--via VIA.csv --repeats 5 --sequences 4 --batch-size 512]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  getLlama,
  LlamaLogLevel,
  type CustomBatchingPrioritizationStrategy,
  type LlamaContextSequence,
  type Token,
} from "node-llama-cpp";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { isolatedBatches, sharedBatchesOneOutput, type LlamaBatching } from "../src/backends/llamaBatching.js";
import { loadVia } from "../src/suites/via/dataset.js";
import { ensureTestModel } from "../src/gguf/index.js";
import { runBenchmark } from "../src/runner/run.js";
import type { RunConfig } from "../src/records/manifest.js";
import { readRecords, type RunRecord } from "../src/records/records.js";
import { packageRoot } from "../src/util/paths.js";

const { values: args } = parseArgs({
  options: {
    trials: { type: "string", default: "2000" },
    via: { type: "string" },
    repeats: { type: "string", default: "5" },
    sequences: { type: "string", default: "4" },
    "batch-size": { type: "string", default: "512" },
  },
});
const modelPath = await ensureTestModel("tiny", { root: packageRoot(), type: "f16" });

async function race(
  name: string,
  strategy: "maximumParallelism" | CustomBatchingPrioritizationStrategy,
  trials: number,
) {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, maxThreads: 2 });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize: 1024,
    sequences: 2,
    threads: 2,
    batchSize: 512,
    flashAttention: false,
    batching: { itemPrioritizationStrategy: strategy },
  });
  // Diagnostic only (node-llama-cpp internals): how many outputs each llama_decode held.
  const ctx = (context as unknown as { _ctx: Record<string, (...a: unknown[]) => unknown> })._ctx;
  let outputs = 0;
  let batchesWithTwo = 0;
  const hooks: Record<string, (...a: never[]) => unknown> = {
    initBatch: (n: number) => ((outputs = 0), ctx.initBatch!(n)),
    addToBatch: (...a: [number, number, Uint32Array, Uint32Array]) => ((outputs += a[3].length), ctx.addToBatch!(...a)),
    decodeBatch: () => ((batchesWithTwo += outputs > 1 ? 1 : 0), ctx.decodeBatch!()),
  };
  (context as unknown as { _ctx: unknown })._ctx = new Proxy(ctx, {
    get: (t, p) =>
      (typeof p === "string" && hooks[p]) ||
      (typeof t[p as string] === "function" ? t[p as string]!.bind(t) : t[p as string]),
  });
  const [s0, s1] = [context.getSequence(), context.getSequence()];
  const text = model.tokenize("The quick brown fox jumps over the lazy dog. ".repeat(12));
  const long = text.slice(0, 150);
  const short = text.slice(0, 20).reverse();
  const evaluate = async (seq: LlamaContextSequence, tokens: Token[]) => {
    await seq.clearHistory();
    const items = tokens.map((t, i) => (i === tokens.length - 1 ? [t, { generateNext: { probabilities: true } }] : t));
    const out = await seq.controlledEvaluate(items as never);
    return out[tokens.length - 1]!.next.probabilities!;
  };
  const distance = (a: Map<Token, number>, b: Map<Token, number>) => {
    let d = 0;
    for (const [t, p] of a) d = Math.max(d, Math.abs(p - (b.get(t) ?? 0)));
    return d;
  };
  const alone = [await evaluate(s0, long), await evaluate(s1, short)] as const;
  let wrong = 0;
  let other = 0;
  let worst = 0;
  for (let i = 0; i < trials; i++) {
    const [a, b] = await Promise.all([evaluate(s0, long), evaluate(s1, short)]);
    const [da, db] = [distance(a, alone[0]), distance(b, alone[1])];
    worst = Math.max(worst, da, db);
    if (da > 1e-3 || db > 1e-3) {
      wrong++;
      if (distance(a, alone[1]) === 0 || distance(b, alone[0]) === 0) other++;
    }
  }
  console.log(
    `race ${name}: ${trials} trials, ${batchesWithTwo} decodes with two outputs, ${wrong} trials with an output off by > 1e-3 (${other} exactly the other prompt's), largest difference ${worst.toExponential(2)}`,
  );
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

async function bound(via: string, sequences: number, batchSize: number, repeats: number) {
  const config = {
    model: "tiny",
    protocol: "letters",
    tasks: ["stated", "action"],
    repeats,
    seed: 0,
    countries: ["Egypt", "France"],
    topics: ["Religion", "Politics"],
    values: null,
    limit: null,
    statedVariants: [0],
    actionVariants: [5],
    statedMaxTokens: 16,
    actionMaxTokens: 16,
    via,
  } as RunConfig;
  const dataset = await loadVia(via);
  const run = async (n: number, batching?: LlamaBatching): Promise<RunRecord[]> => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-lanes-bench-"));
    const r = await runBenchmark({
      config,
      dataset,
      out: path.join(work, "run"),
      resume: false,
      cacheDir: path.join(work, "cache"),
      progress: "quiet",
      openBackend: () =>
        LlamaCppBackend.load({
          name: "tiny",
          modelPath,
          contextSize: 1024,
          gpuLayers: 0,
          threads: 2,
          batchSize,
          sequences: n,
          batching,
          flashAttention: false,
          gpu: false,
        }),
    });
    return readRecords(path.join(r.out, "records.jsonl")).records;
  };
  const one = await run(1);
  for (const batching of ["isolated", "shared"] as const) {
    const many = await run(sequences, batching);
    let differing = 0;
    let worst = 0;
    for (let i = 0; i < one.length; i++) {
      let d = 0;
      for (const [k, p] of Object.entries(one[i]!.optionProbs ?? {}))
        d = Math.max(d, Math.abs(p - many[i]!.optionProbs![k]!));
      if (d > 0) differing++;
      worst = Math.max(worst, d);
    }
    console.log(
      `bound ${batching}, ${sequences} sequences, batch size ${batchSize}: ${one.length} letter questions, ${differing} differ from one sequence, largest difference ${worst.toExponential(2)}`,
    );
  }
}

const trials = Number(args.trials);
if (trials > 0) {
  await race("node-llama-cpp maximumParallelism (valuelens before the fix)", "maximumParallelism", trials);
  await race("valuelens shared (one output per batch)", sharedBatchesOneOutput, trials);
  await race("valuelens isolated (one evaluation per batch)", isolatedBatches, trials);
}
if (args.via) await bound(args.via, Number(args.sequences), Number(args["batch-size"]), Number(args.repeats));
