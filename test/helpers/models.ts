// Shared test models: the tiny random-weight llama GGUF, cached under <project>/.cache/models/.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTestModel, type TestModelType } from "../../src/gguf/index.js";

/** The project root (this file lives in <root>/test/helpers/). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Path of the tiny test model (default F16), written on first use and reused afterwards. */
export async function tinyModelPath(type: TestModelType = "f16"): Promise<string> {
  return ensureTestModel("tiny", { root: PROJECT_ROOT, type });
}
