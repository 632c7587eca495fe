/**
 * How node-llama-cpp fills one llama.cpp batch (one `llama_decode`) from the evaluations the
 * context sequences (lanes) have queued. Two rules, both correctness rules:
 *
 * - "isolated" (the default): a batch holds the tokens of one evaluation only, the first
 *   queued, up to the batch size: exactly the batches a one-sequence context makes. Every
 *   question's numbers are then the same, bit for bit, as when it runs alone, whatever the
 *   other lanes are doing (test/lanes.test.ts checks it).
 * - "shared": evaluations of several lanes share a batch (more throughput on a GPU). llama.cpp splits a batch of several sequences into ubatches of equal
 *   tokens per sequence (`split_equal`), so a question's tokens are cut differently depending on
 *   its neighbours and the arithmetic changes slightly (measured: README section 4). When two
 *   outputs land in one batch, that split can put them out of batch order; llama.cpp then
 *   reorders its output rows lazily, inside `llama_get_logits_ith`, and node-llama-cpp samples
 *   each sequence's output in its own worker thread at the same time: the two threads swap the
 *   same rows concurrently, and a question can read another question's distribution (or a mix
 *   of two). One output per batch leaves nothing to reorder.
 */
import type { BatchItem, CustomBatchingPrioritizationStrategy, PrioritizedBatchItem } from "node-llama-cpp";

export type LlamaBatching = "isolated" | "shared";

/** One evaluation per batch: the first queued, as much of it as fits (as a one-sequence context does). */
export const isolatedBatches: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
  const first = items[0];
  if (!first || size <= 0) return [];
  return [{ item: first, processAmount: Math.min(first.tokens.length, size) }];
};

/**
 * Evaluations of several lanes in one batch, first queued first, with at most one token that
 * reads logits: an evaluation with an output waits for a later batch when the batch already
 * has one (whole, so its tokens are not cut more than the batch size cuts them). The first
 * item always gets at least one token, so every dispatch progresses.
 */
export const sharedBatchesOneOutput: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
  const chosen: PrioritizedBatchItem[] = [];
  let left = size;
  let outputs = 0;
  for (const item of items) {
    if (left <= 0) break;
    let amount = Math.min(item.tokens.length, left);
    const firstOutput = firstLogitIndex(item, amount);
    if (firstOutput >= 0) {
      if (outputs > 0) continue;
      // This item's first output is the batch's one output; stop before any second one.
      const second = firstLogitIndex(item, amount, firstOutput + 1);
      if (second >= 0) amount = second;
      outputs = 1;
    }
    chosen.push({ item, processAmount: amount });
    left -= amount;
  }
  return chosen;
};

/**
 * Evaluations of several lanes in one batch, first queued first, each lane with at most one
 * output (an evaluation is cut before its second output). For outputs read synchronously after
 * the decode (the native letter read), where outputs of several lanes cannot swap.
 */
export const sharedBatchesOnePerLane: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
  const chosen: PrioritizedBatchItem[] = [];
  let left = size;
  for (const item of items) {
    if (left <= 0) break;
    let amount = Math.min(item.tokens.length, left);
    const firstOutput = firstLogitIndex(item, amount);
    if (firstOutput >= 0) {
      const second = firstLogitIndex(item, amount, firstOutput + 1);
      if (second >= 0) amount = second;
    }
    chosen.push({ item, processAmount: amount });
    left -= amount;
  }
  return chosen;
};

/** How many outputs a strategy's batch holds (for the counters and tests). */
export function outputsInBatch(chosen: readonly PrioritizedBatchItem[]): number {
  let outputs = 0;
  for (const { item, processAmount } of chosen) for (let i = 0; i < processAmount; i++) if (item.logits[i]) outputs++;
  return outputs;
}

function firstLogitIndex(item: BatchItem, before: number, from = 0): number {
  for (let i = from; i < before; i++) if (item.logits[i]) return i;
  return -1;
}

/** What a shared batch may hold: one output ("softmax" reads race), or one per lane (native reads). */
export type SharedOutputs = "one output per batch" | "one output per lane per batch";

export function batchingStrategy(
  batching: LlamaBatching,
  outputs: SharedOutputs = "one output per batch",
  onBatch?: (outputs: number) => void,
): CustomBatchingPrioritizationStrategy {
  const strategy =
    batching === "isolated"
      ? isolatedBatches
      : outputs === "one output per lane per batch"
        ? sharedBatchesOnePerLane
        : sharedBatchesOneOutput;
  if (!onBatch) return strategy;
  return (args) => {
    const chosen = strategy(args);
    onBatch(outputsInBatch(chosen));
    return chosen;
  };
}
