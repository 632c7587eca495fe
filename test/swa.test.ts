// Sliding-window models are exact under prefix reuse (issue 22, item 7 of its findings).
//
// llama.cpp's SWA cache keeps pad256(window + ubatch) cells per sequence, and node-llama-cpp
// reuses a prefix whose rewind point is less than one window above the lowest cell kept: the
// tokens after it then attend over an incomplete window. A gemma2-architecture model with a
// 32-token window and batch 8 (256 cells): prompt A (491 tokens) then prompt B sharing A's
// first 245 tokens on one lane, against B alone on a fresh backend. valuelens loads such models
// with the full cache (swaFullCache), so the two are bit for bit the same, and the cache key
// says so (outputOptions.slidingWindow). VALUELENS_SWA_FULL_CACHE=0 reproduces the error.
import { describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { gemma2SwaModelPath } from "./helpers/gemma2Model.js";
import { TEST_THREADS } from "./helpers/models.js";

const words = (n: number, tag: string) => `${Array.from({ length: n }, (_, i) => `${tag}${i % 10}`).join(" ")} `;
const A = [words(60, "alpha"), words(78, "beta"), "Answer A or B."];
const B = [words(60, "alpha"), words(78, "gamma"), "Answer A or B."];

async function reusedAndFresh(fullCache: boolean) {
  if (!fullCache) process.env.VALUELENS_SWA_FULL_CACHE = "0";
  try {
    const modelPath = await gemma2SwaModelPath(32);
    const load = () =>
      LlamaCppBackend.load({
        name: "gemma2-swa32",
        modelPath,
        contextSize: 1024,
        gpuLayers: 0,
        threads: TEST_THREADS,
        batchSize: 8,
        sequences: 1,
        flashAttention: false,
        gpu: false,
        log: () => {},
      });
    const lane = await load();
    const fresh = await load();
    try {
      const a = lane.prepare(A, { mode: "letters" });
      const b = lane.prepare(B, { mode: "letters" });
      expect(a.segmentEnds[0]).toBe(b.segmentEnds[0]); // the shared prefix
      await lane.scoreLetters(a, ["A", "B"]);
      const reused = await lane.scoreLetters(b, ["A", "B"]);
      const alone = await fresh.scoreLetters(fresh.prepare(B, { mode: "letters" }), ["A", "B"]);
      return { reused, alone, info: lane.info };
    } finally {
      await lane.close();
      await fresh.close();
    }
  } finally {
    delete process.env.VALUELENS_SWA_FULL_CACHE;
  }
}

describe("sliding-window attention and prefix reuse", () => {
  it("a gemma2 model with a small window gives the same answer with prefix reuse as fresh (full SWA cache, in the key)", async () => {
    const { reused, alone, info } = await reusedAndFresh(true);
    expect(reused.reusedTokens).toBeGreaterThan(200); // the prefix was reused, not evaluated again
    expect(reused.probs).toEqual(alone.probs);
    expect(reused.perLetter).toEqual(alone.perLetter);
    expect(info.outputOptions.slidingWindow).toEqual({ size: 32, cache: "full" });
  });

  it("without the full cache (VALUELENS_SWA_FULL_CACHE=0) the reused answer differs: the error reproduces", async () => {
    const { reused, alone, info } = await reusedAndFresh(false);
    expect(reused.reusedTokens).toBeGreaterThan(200);
    expect(reused.probs.A).not.toBe(alone.probs.A);
    expect(info.outputOptions.slidingWindow).toBeUndefined();
  });
});
