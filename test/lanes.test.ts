// Several context sequences of one context answer questions concurrently (the GPU setting).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BatchItem, Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import {
  isolatedBatches,
  outputsInBatch,
  sharedBatchesOnePerLane,
  sharedBatchesOneOutput,
  type LlamaBatching,
} from "../src/backends/llamaBatching.js";
import { loadVia, SAMPLE_VIA_PATH } from "../src/suites/via/dataset.js";
import type { Question } from "../src/questions/question.js";
import { laneUnits, prefixGroups } from "../src/runner/groups.js";
import { runBenchmark } from "../src/runner/run.js";
import type { RunConfig } from "../src/records/manifest.js";
import { deterministicPart, readRecords } from "../src/records/records.js";
import { valuelens } from "./helpers/cli.js";
import { TEST_THREADS, tinyModelPath } from "./helpers/models.js";
import { testConfig } from "./helpers/config.js";

const config: RunConfig = testConfig({ seed: 3, countries: ["Nigeria", "United States"] });

async function run(sequences: number, batching?: LlamaBatching) {
  const work = mkdtempSync(path.join(tmpdir(), `vl-lanes-${sequences}-`));
  const modelPath = await tinyModelPath();
  let backend: LlamaCppBackend | undefined;
  return runBenchmark({
    config,
    dataset: await loadVia(SAMPLE_VIA_PATH),
    out: path.join(work, "run"),
    resume: false,
    cacheDir: path.join(work, "cache"),
    progress: "quiet",
    openBackend: async () =>
      (backend = await LlamaCppBackend.load({
        name: "tiny",
        modelPath,
        contextSize: 1024,
        gpuLayers: 0,
        threads: TEST_THREADS,
        batchSize: 512,
        sequences,
        batching,
        flashAttention: false,
        gpu: false,
      })),
  }).then((result) => ({
    result,
    work,
    records: readRecords(path.join(result.out, "records.jsonl")).records,
    batchOutputs: backend!.batchOutputs,
    copiedTokens: backend!.copiedTokens,
  }));
}

/** A queued evaluation as node-llama-cpp hands it to the batching strategy: `outputs` = token indexes that read logits. */
function item(tokens: number, outputs: number[]): BatchItem {
  const logits: (true | undefined)[] = [];
  for (const i of outputs) logits[i] = true;
  return { tokens: Array.from({ length: tokens }, (_, i) => i as Token), logits, evaluationPriority: 5 };
}

// The one-sequence reference, run once for both comparisons.
let reference: ReturnType<typeof run> | undefined;
const oneSequence = () => (reference ??= run(1));

describe("concurrent sequences", () => {
  // Known cause of the old 0.04 / 0.35 deviations: two outputs in one llama.cpp batch of several
  // sequences can come out of llama.cpp's ubatch split in another order; llama.cpp reorders
  // them lazily inside llama_get_logits_ith, which node-llama-cpp calls from one worker thread
  // per sequence at the same time, so a question could read another's distribution. And any
  // sharing of a batch changes how a question's tokens are split into ubatches (last digits).
  it("isolated batches (the default): a three-sequence run gives the one-sequence run's records, bit for bit", async () => {
    const one = await oneSequence();
    const three = await run(3);
    expect(three.result.manifest.status).toBe("complete");
    expect(three.result.manifest.backend.otherOptions).toMatchObject({ sequences: 3, batching: "isolated" });
    expect(three.result.manifest.notes.join(" ")).not.toContain("Several context sequences");
    // Same questions, in the same canonical order, none doubled, and the same numbers exactly
    // (the same cache key too: it is the same computation).
    expect(three.records.map((r) => r.id)).toEqual(one.records.map((r) => r.id));
    expect(three.records.map(deterministicPart)).toEqual(one.records.map(deterministicPart));
    // ... with shared prefixes copied between lanes (llama_memory_seq_cp) instead of evaluated again.
    expect(three.result.manifest.backend.otherOptions?.copyPrefixes).toBe("across lanes (llama_memory_seq_cp)");
    expect(three.copiedTokens).toBeGreaterThan(0);
    // The native letter read (nativeLetters.ts), which this install builds (test/native-letters.test.ts).
    expect(one.records[0]!.letters!.method).toMatch(/^segments\/\d+:logits$/);
  });

  it("shared batches, several outputs per batch under load: no answer swapped, own method and cache key, numbers within the measured bound", async () => {
    const one = await oneSequence();
    const shared = await run(3, "shared");
    expect(shared.result.manifest.status).toBe("complete");
    expect(shared.result.manifest.backend.otherOptions).toMatchObject({ sequences: 3, batching: "shared" });
    // Native reads are synchronous after the decode: each lane may put its output in every batch.
    expect(shared.result.manifest.backend.outputOptions).toMatchObject({
      concurrentSequences: true,
      batching: "shared, one output per lane per batch",
    });
    // Under load (three lanes queueing at once), batches really held several outputs.
    expect(shared.batchOutputs.multiOutput).toBeGreaterThan(10);
    expect(shared.batchOutputs.maxOutputs).toBe(3);
    expect(shared.result.manifest.notes.join(" ")).toContain("Several context sequences");
    expect(shared.records.map((r) => r.id)).toEqual(one.records.map((r) => r.id));
    let worst = 0;
    for (let i = 0; i < one.records.length; i++) {
      const x = one.records[i]!;
      const y = shared.records[i]!;
      expect(y.order).toEqual(x.order);
      expect(y.cacheKey).not.toBe(x.cacheKey); // the cache never mixes the two methods
      expect(y.letters!.method).toBe(`${x.letters!.method}+shared-batches`);
      expect(Object.keys(y.optionProbs!).sort()).toEqual(Object.keys(x.optionProbs!).sort());
      for (const [key, p] of Object.entries(x.optionProbs!))
        worst = Math.max(worst, Math.abs(y.optionProbs![key]! - p));
    }
    // Measured on this model: at most 7e-5 (README, section 4); a question that read another
    // question's logits was off by 0.01 to 0.35 (so a swap of answers would fail here).
    expect(worst).toBeLessThan(1e-3);
    expect(worst).toBeGreaterThan(0); // the batches really were shared (other ubatch splits)
  });

  it("batching strategies: isolated takes one evaluation; shared takes one output per batch (softmax) or per lane (native)", () => {
    const items = [item(300, [299]), item(40, [39]), item(100, []), item(30, [0, 29])];
    expect(isolatedBatches({ items, size: 512 })).toEqual([{ item: items[0], processAmount: 300 }]);
    expect(isolatedBatches({ items, size: 256 })).toEqual([{ item: items[0], processAmount: 256 }]);
    expect(isolatedBatches({ items: [], size: 512 })).toEqual([]);
    // The first output-reading evaluation whole; the next one waits (whole); outputless ones fill the batch.
    expect(sharedBatchesOneOutput({ items, size: 512 })).toEqual([
      { item: items[0], processAmount: 300 },
      { item: items[2], processAmount: 100 },
    ]);
    // An output beyond the batch does not count; the batch is filled in queue order.
    expect(sharedBatchesOneOutput({ items, size: 200 })).toEqual([{ item: items[0], processAmount: 200 }]);
    expect(sharedBatchesOneOutput({ items: items.slice(1), size: 512 })).toEqual([
      { item: items[1], processAmount: 40 },
      { item: items[2], processAmount: 100 },
    ]);
    // Two outputs in one evaluation: cut before the second, so the dispatch still progresses.
    expect(sharedBatchesOneOutput({ items: [items[3]!, items[1]!], size: 512 })).toEqual([
      { item: items[3], processAmount: 29 },
    ]);
    // One output per lane: every queued evaluation with its first output, cut before a second.
    const perLane = sharedBatchesOnePerLane({ items, size: 512 });
    expect(perLane).toEqual([
      { item: items[0], processAmount: 300 },
      { item: items[1], processAmount: 40 },
      { item: items[2], processAmount: 100 },
      { item: items[3], processAmount: 29 },
    ]);
    expect(outputsInBatch(perLane)).toBe(3);
    expect(sharedBatchesOnePerLane({ items, size: 320 })).toEqual([
      { item: items[0], processAmount: 300 },
      { item: items[1], processAmount: 20 },
    ]);
  });

  it("lane units: whole prefix groups, split into a question's repeats when there are few groups per lane", () => {
    const q = (topic: string, value: string, repeat: number, segments?: string[]) =>
      ({
        id: `${topic}/${value}/r${repeat}`,
        protocol: "letters",
        task: "action",
        country: "Nigeria",
        topic,
        repeat,
        segments: segments ?? [`ctx ${topic}`, `stem ${value}`, `options ${repeat % 2}`],
      }) as unknown as Question;
    const questions = [
      q("Health", "Equality", 0),
      q("Health", "Equality", 1),
      q("Health", "Wealth", 0),
      q("Health", "Wealth", 1),
      q("Politics", "Equality", 0),
    ];
    expect(prefixGroups(questions).map((g) => g.length)).toEqual([4, 1]);
    expect(laneUnits(questions, 1)).toEqual(prefixGroups(questions)); // one lane: whole groups, always
    expect(laneUnits(questions, 4).map((u) => u.map((x) => x.id))).toEqual([
      ["Health/Equality/r0", "Health/Equality/r1"],
      ["Health/Wealth/r0", "Health/Wealth/r1"],
      ["Politics/Equality/r0"],
    ]);
    // Enough groups per lane (4 x lanes): whole groups.
    const many = Array.from({ length: 8 }, (_, i) => q(`T${i}`, "Equality", 0));
    expect(laneUnits(many, 2)).toHaveLength(8);
    // One-segment prompts (generation) share nothing a lane keeps: one question per unit.
    const paper = [0, 1, 2].map((r) => q("Health", `v${r}`, 0, [`prompt ${r}`]));
    expect(laneUnits(paper, 2).map((u) => u.length)).toEqual([1, 1, 1]);
  });

  it("cache stats reports the entries a run wrote", async () => {
    const { work } = await oneSequence();
    const r = valuelens(["cache", "stats", "--cache-dir", path.join(work, "cache"), "--json"]);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.entries).toBeGreaterThan(10);
    expect(stats.tornLines).toBe(0);
  });
});
