/** A loaded llama.cpp backend that several benchmark runs share. */
import type { Backend, PreparedPrompt } from "../src/backends/backend.js";
import path from "node:path";
import type { LlamaCppBackend } from "../src/backends/llamacpp.js";
import type { RunConfig } from "../src/records/manifest.js";
import { runBenchmark } from "../src/runner/run.js";
import type { ViaDataset } from "../src/suites/via/dataset.js";
import { DEFAULT_STATED_VARIANTS } from "../src/suites/via/questions.js";

/** Keeps the model loaded across runs and records every letters prompt it scores. */
export class SharedBackend implements Backend {
  scored: PreparedPrompt[] = [];
  constructor(readonly inner: LlamaCppBackend) {}
  get info() {
    return this.inner.info;
  }
  get counters() {
    return this.inner.counters;
  }
  get reusesPrefixes() {
    return this.inner.reusesPrefixes;
  }
  get laneCount() {
    return this.inner.laneCount;
  }
  prepare(segments: string[], opts: Parameters<Backend["prepare"]>[1]) {
    return this.inner.prepare(segments, opts);
  }
  scoreLetters(p: PreparedPrompt, letters: string[], lane?: number) {
    this.scored.push(p);
    return this.inner.scoreLetters(p, letters, lane);
  }
  generate(p: PreparedPrompt, opts: Parameters<Backend["generate"]>[1], lane?: number) {
    return this.inner.generate(p, opts, lane);
  }
  async close() {}
}

/** A letters run's config for a bench slice: the paper's variants and caps, seed 0; `overrides` on top. */
export function benchConfig(dataset: string, overrides: Partial<RunConfig>): RunConfig {
  return {
    model: "bench",
    protocol: "letters",
    tasks: ["stated", "action"],
    repeats: 5,
    seed: 0,
    countries: null,
    topics: null,
    values: null,
    limit: null,
    statedVariants: DEFAULT_STATED_VARIANTS,
    actionVariants: [5],
    statedMaxTokens: 640,
    actionMaxTokens: 96,
    via: dataset,
    ...overrides,
  };
}

/** One run of `config` on the shared backend into `dir`, with a cold answer cache (nothing from an earlier run). */
export function runCold(shared: SharedBackend, config: RunConfig, dataset: ViaDataset, dir: string) {
  return runBenchmark({
    config,
    dataset,
    out: path.join(dir, "run"),
    resume: false,
    cacheDir: path.join(dir, "cache"),
    progress: "quiet",
    openBackend: async () => shared,
  });
}
