/**
 * `sequences: auto` for the embedded llama.cpp backend: how many context sequences (lanes) to
 * create. On the CPU one: lanes share the same cores, and the forward passes are the work, so
 * more sequences gain nothing (measured: bench/run.ts). On a GPU as many as the free VRAM
 * holds the context for (each sequence has its own KV cache of `contextSize` tokens), at most
 * MAX_AUTO_SEQUENCES: beyond that a batch of 512 tokens is full anyway.
 */

export const MAX_AUTO_SEQUENCES = 16;
/** Share of the free VRAM (after the model is loaded) left unused: other processes, fragmentation. */
export const VRAM_HEADROOM = 0.1;

export type SequencesSetting = number | "auto";

/** What the choice depends on; read from node-llama-cpp after the model is loaded. */
export interface SequencesProbe {
  /** `llama.gpu`: "cuda", "vulkan", "metal", or false on the CPU. */
  gpu: string | false;
  /** Layers the model has on the GPU (`model.gpuLayers`). */
  gpuLayers: number;
  /** Free VRAM in bytes after the model was loaded (`llama.getVramState().free`). */
  freeVramBytes: number;
  /**
   * VRAM a context of `n` sequences needs (KV cache of contextSize x n, compute buffers):
   * node-llama-cpp's estimate (`estimateContextResourceRequirementsV2`).
   */
  contextVramBytes: (n: number) => number;
}

export interface SequencesChoice {
  sequences: number;
  /** The entry said `auto`. */
  auto: boolean;
  /** Why this number, in words (printed once, and kept in the manifest). */
  reason: string;
}

const GIB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(1)} GiB`;

/** An explicit number is kept; `auto` is decided from the probe (see the module comment). */
export function chooseSequences(
  setting: SequencesSetting,
  probe: SequencesProbe,
  cap = MAX_AUTO_SEQUENCES,
): SequencesChoice {
  if (setting !== "auto") return { sequences: setting, auto: false, reason: "set in models.yaml" };
  if (probe.gpu === false)
    return { sequences: 1, auto: true, reason: "CPU: one sequence (lanes would share the same cores)" };
  if (probe.gpuLayers <= 0)
    return { sequences: 1, auto: true, reason: `${probe.gpu} without offloaded layers (gpuLayers 0): one sequence` };
  const usable = Math.max(0, probe.freeVramBytes * (1 - VRAM_HEADROOM));
  let n = 0;
  while (n < cap && probe.contextVramBytes(n + 1) <= usable) n += 1;
  const why = `${gib(probe.freeVramBytes)} VRAM free after the model, a context of ${n || 1} sequence(s) needs ${gib(probe.contextVramBytes(Math.max(1, n)))}`;
  if (n === 0)
    return { sequences: 1, auto: true, reason: `${probe.gpu}: one sequence (${why}; lower contextSize or gpuLayers)` };
  return {
    sequences: n,
    auto: true,
    reason: `${probe.gpu}: ${n} sequence(s) (${why}${n === cap ? `; at most ${cap}` : ""})`,
  };
}
