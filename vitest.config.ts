import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { FidelityReporter } from "./test/helpers/fidelityReporter.js";
import { DurationSequencer } from "./test/helpers/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Once before every file: dist/ current (the tests run the built command), the shared models written.
    globalSetup: ["test/helpers/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two files at a time. Each valuelens process, llama-server and in-process model runs llama.cpp
    // on one thread (VALUELENS_THREADS below), so two llama.cpp-bound files fill 2 cores without
    // spinning against each other, and a file waiting on a child process leaves its core to the other.
    fileParallelism: true,
    maxWorkers: 2,
    // Longest files first, by the durations committed in bench/results/tests.json (sequencer.ts).
    sequence: { sequencer: DurationSequencer },
    // After vitest's summary, one line: how many fidelity tests (tag "fidelity": they need ../shared,
    // see test/helpers/shared.ts) ran and how many were skipped.
    reporters: ["default", new FidelityReporter()],
    tags: [{ name: "fidelity", description: "checks against ../shared (golden prompts, released data, llama-server)" }],
    // Tests never touch the user's cache (~/.cache/valuelens): models and default answers live in
    // <project>/.cache (models in .cache/models, shared by every test file and test/helpers/models.ts).
    // llama.cpp runs on one thread in every valuelens process a test starts (test/helpers/models.ts
    // TEST_THREADS says why).
    env: { VALUELENS_CACHE_DIR: join(dirname(fileURLToPath(import.meta.url)), ".cache"), VALUELENS_THREADS: "1" },
  },
});
