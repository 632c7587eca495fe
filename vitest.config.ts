import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { FidelityReporter } from "./test/helpers/fidelityReporter.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // llama.cpp tests are CPU-bound on a 2-core machine: run files one at a time.
    fileParallelism: false,
    // After vitest's summary, one line: how many fidelity tests (tag "fidelity": they need ../shared,
    // see test/helpers/shared.ts) ran and how many were skipped.
    reporters: ["default", new FidelityReporter()],
    tags: [{ name: "fidelity", description: "checks against ../shared (golden prompts, released data, llama-server)" }],
    // Tests never touch the user's cache (~/.cache/valuelens): models and default answers live in
    // <project>/.cache (models in .cache/models, shared by every test file and test/helpers/models.ts).
    env: { VALUELENS_CACHE_DIR: join(dirname(fileURLToPath(import.meta.url)), ".cache") },
  },
});
