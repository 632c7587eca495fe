// A small letters-protocol run config for tests that drive `runBenchmark` directly.
import type { RunConfig } from "../../src/records/manifest.js";

export function testConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    model: "tiny",
    protocol: "letters",
    tasks: ["stated", "action"],
    repeats: 2,
    seed: 0,
    countries: null,
    topics: null,
    values: null,
    limit: null,
    statedVariants: [0],
    actionVariants: [5],
    statedMaxTokens: 16,
    actionMaxTokens: 16,
    via: "sample",
    ...overrides,
  };
}
