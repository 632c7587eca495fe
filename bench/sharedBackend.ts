/** A loaded llama.cpp backend that several benchmark runs share. */
import type { Backend, PreparedPrompt } from "../src/backends/backend.js";
import type { LlamaCppBackend } from "../src/backends/llamacpp.js";

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
