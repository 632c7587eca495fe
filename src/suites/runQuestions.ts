/**
 * The questions of a run config: every question of every shard, in the canonical order an
 * unsharded run records them, built by the config's suite. Used by the runner, by `merge`, and
 * by the run-directory loader (src/runs/load.ts), which checks that a directory's records are
 * questions of its config.
 */
import type { Question } from "../questions/question.js";
import type { RunConfig } from "../records/manifest.js";
import { suiteOf } from "./registry.js";
import type { SuiteDataset } from "./suite.js";
import { inShard } from "../questions/shard.js";

/** What a run asks about: its suite's dataset (the VIA CSV, a dilemma file, ...). */
export type RunDataset = SuiteDataset;

/** Every question of a config (all shards), in the canonical order an unsharded run records them. */
export function buildRunQuestions(config: RunConfig, dataset: RunDataset): Question[] {
  return suiteOf(config).questions(config, dataset);
}

/** The questions a run of this config asks: all of them, or its shard's. */
export function runQuestionsOf(config: RunConfig, dataset: RunDataset): Question[] {
  const all = buildRunQuestions(config, dataset);
  return config.shard ? all.filter((q) => inShard(q.id, config.shard)) : all;
}
