/**
 * The questions of a run config: every question of every shard, in the canonical order an
 * unsharded run records them. Used by the runner, by `merge`, and by the run-directory loader
 * (src/runs/load.ts), which checks that a directory's records are questions of its config.
 */
import type { ViaDataset } from "../suites/via/dataset.js";
import type { LoadedDilemmas } from "../suites/dilemmas/dataset.js";
import { dilemmaPersonas, viaPersonaFor } from "../personas/runPersonas.js";
import { buildDilemmaQuestions } from "../suites/dilemmas/questions.js";
import { buildQuestions } from "../suites/via/questions.js";
import type { Question } from "../questions/question.js";
import type { RunConfig } from "../runs/manifest.js";
import { inShard } from "./shard.js";

/** What a run asks about: the VIA dataset (letters / paper) or a dilemma file (sixpoint). */
export type RunDataset = ViaDataset | LoadedDilemmas;

export function isDilemmaSet(dataset: RunDataset): dataset is LoadedDilemmas {
  return "dilemmas" in dataset;
}

/** Every question of a config (all shards), in the canonical order an unsharded run records them. */
export function buildRunQuestions(config: RunConfig, dataset: RunDataset): Question[] {
  if (config.protocol === "sixpoint") {
    if (!isDilemmaSet(dataset)) throw new Error("a sixpoint run needs a dilemma dataset");
    return buildDilemmaQuestions(dataset.dilemmas, {
      tasks: config.tasks,
      repeats: config.repeats,
      seed: config.seed,
      personas: dilemmaPersonas(config),
      topics: config.topics ?? undefined,
      values: config.values ?? undefined,
      limit: config.limit ?? undefined,
    });
  }
  if (isDilemmaSet(dataset)) throw new Error(`a ${config.protocol} run needs the VIA dataset`);
  return buildQuestions(dataset, {
    protocol: config.protocol,
    tasks: config.tasks,
    repeats: config.repeats,
    seed: config.seed,
    filter: {
      countries: config.countries ?? undefined,
      topics: config.topics ?? undefined,
      values: config.values ?? undefined,
    },
    statedVariants: config.statedVariants,
    actionVariants: config.actionVariants,
    limit: config.limit ?? undefined,
    statedMaxTokens: config.statedMaxTokens,
    actionMaxTokens: config.actionMaxTokens,
    personaFor: viaPersonaFor(config),
  });
}

/** The questions a run of this config asks: all of them, or its shard's. */
export function runQuestionsOf(config: RunConfig, dataset: RunDataset): Question[] {
  const all = buildRunQuestions(config, dataset);
  return config.shard ? all.filter((q) => inShard(q.id, config.shard)) : all;
}
