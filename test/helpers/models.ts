// Shared test models: the tiny random-weight llama GGUF, cached under <project>/.cache/models/.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTestModel, type TestModelType } from "../../src/gguf/index.js";

/** The project root (this file lives in <root>/test/helpers/). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The cache root the CLI uses in tests ($VALUELENS_CACHE_DIR, also set in vitest.config.ts):
 * models in <project>/.cache/models (where `tinyModelPath` writes), never the user's ~/.cache.
 */
export const TEST_CACHE_ROOT = resolve(PROJECT_ROOT, ".cache");

/**
 * llama.cpp threads in tests: 1. Test files run two at a time, and two llama.cpp processes of 2
 * threads each on 2 cores spin against each other (3.6x slower than one after the other); the
 * thread count does not change the numbers. The CLI gets the same through $VALUELENS_THREADS
 * (vitest.config.ts), llama-server through -t (llamaServer.ts).
 */
export const TEST_THREADS = 1;

/** Path of the tiny test model (default F16), written on first use and reused afterwards. */
export async function tinyModelPath(type: TestModelType = "f16"): Promise<string> {
  return ensureTestModel("tiny", { root: PROJECT_ROOT, type });
}
