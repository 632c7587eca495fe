// `sequences: auto` (src/backends/sequences.ts) and the models.yaml field.
import { describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { chooseSequences, MAX_AUTO_SEQUENCES, VRAM_HEADROOM, type SequencesProbe } from "../src/backends/sequences.js";
import { ModelEntrySchema, readModels } from "../src/models/registry.js";
import { TEST_THREADS, tinyModelPath } from "./helpers/models.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const GIB = 1024 ** 3;
/** A GPU where a context takes 1 GiB of compute buffers plus 2 GiB of KV cache per sequence. */
const gpu = (freeGiB: number, over: Partial<SequencesProbe> = {}): SequencesProbe => ({
  gpu: "cuda",
  gpuLayers: 33,
  freeVramBytes: freeGiB * GIB,
  contextVramBytes: (n) => (1 + 2 * n) * GIB,
  ...over,
});

describe("sequences: auto", () => {
  it("chooses one sequence on the CPU, and on a GPU without offloaded layers", () => {
    expect(
      chooseSequences("auto", { gpu: false, gpuLayers: 0, freeVramBytes: 0, contextVramBytes: () => 0 }),
    ).toMatchObject({ sequences: 1, auto: true });
    expect(chooseSequences("auto", gpu(80, { gpuLayers: 0 }))).toMatchObject({ sequences: 1, auto: true });
  });

  it("on a GPU, as many sequences as the free VRAM (less the headroom) holds contexts for, capped", () => {
    // 20 GiB free, 18 usable: 1 + 2n <= 18 -> 8.
    expect(VRAM_HEADROOM).toBe(0.1);
    const eight = chooseSequences("auto", gpu(20));
    expect(eight).toMatchObject({ sequences: 8, auto: true });
    expect(eight.reason).toContain("cuda: 8 sequence(s)");
    expect(chooseSequences("auto", gpu(4)).sequences).toBe(1); // 3.6 usable: 1 + 2 fits, 1 + 4 does not
    expect(chooseSequences("auto", gpu(2)).sequences).toBe(1); // not even one fits: one, and the context creation reports it
    expect(chooseSequences("auto", gpu(2)).reason).toMatch(/lower contextSize/);
    expect(chooseSequences("auto", gpu(1000)).sequences).toBe(MAX_AUTO_SEQUENCES);
    expect(chooseSequences("auto", gpu(1000), 4).sequences).toBe(4);
  });

  it("keeps explicit numbers as they are, wherever it runs", () => {
    expect(chooseSequences(3, gpu(1000))).toEqual({ sequences: 3, auto: false, reason: "set in models.yaml" });
    expect(chooseSequences(1, gpu(1000)).sequences).toBe(1);
    expect(
      chooseSequences(40, { gpu: false, gpuLayers: 0, freeVramBytes: 0, contextVramBytes: () => 0 }).sequences,
    ).toBe(40);
  });

  it("models.yaml accepts auto, numbers, and refuses anything else naming the field", () => {
    expect(ModelEntrySchema.parse({ backend: "llama.cpp", source: "m.gguf", sequences: "auto" })).toMatchObject({
      sequences: "auto",
    });
    const plain = ModelEntrySchema.parse({ backend: "llama.cpp", source: "m.gguf" });
    expect(plain).toMatchObject({ sequences: 1 });
    expect((plain as { batching?: string }).batching).toBeUndefined(); // unset: isolated, or shared under auto
    expect(
      ModelEntrySchema.parse({ backend: "llama.cpp", source: "m.gguf", sequences: "auto", batching: "isolated" }),
    ).toMatchObject({ batching: "isolated" });
    const dir = mkdtempSync(path.join(tmpdir(), "vl-seq-"));
    const file = path.join(dir, "models.yaml");
    writeFileSync(file, "models:\n  m:\n    backend: llama.cpp\n    source: m.gguf\n    sequences: many\n");
    expect(() => readModels(file)).toThrow(
      /model "m": field "sequences": "many" is not valid \(expected number or "auto"\)/,
    );
  });

  it("the CPU backend with sequences: auto runs one sequence, says so once, and the manifest's options hold it", async () => {
    const lines: string[] = [];
    const backend = await LlamaCppBackend.load({
      name: "tiny",
      modelPath: await tinyModelPath(),
      contextSize: 512,
      gpuLayers: 0,
      threads: TEST_THREADS,
      batchSize: 512,
      sequences: "auto",
      flashAttention: false,
      gpu: false,
      log: (l) => lines.push(l),
    });
    try {
      expect(backend.laneCount).toBe(1);
      expect(lines).toEqual([expect.stringMatching(/^sequences: auto -> 1, batching isolated \(CPU/)]);
      expect(backend.info.otherOptions).toMatchObject({ sequences: 1, sequencesAuto: expect.stringContaining("CPU") });
      expect(backend.info.otherOptions.batching).toBeUndefined();
      expect(backend.info.outputOptions.concurrentSequences).toBe(false); // the key of a one-sequence run
    } finally {
      await backend.close();
    }
  });
});
