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

/** Path of the tiny test model (default F16), written on first use and reused afterwards. */
export async function tinyModelPath(type: TestModelType = "f16"): Promise<string> {
  return ensureTestModel("tiny", { root: PROJECT_ROOT, type });
}
