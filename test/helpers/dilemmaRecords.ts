// Handcrafted dilemma-suite (6-point protocol) records and run directories, no model: each
// record gets the option probabilities the test chooses, shown in the runner's balanced orders.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ACTION_GRADES, VALUE_SCALE } from "../../src/suites/dilemmas/schema.js";
import { optionOrder } from "../../src/questions/optionOrder.js";
import type { Manifest, RunConfig } from "../../src/records/manifest.js";
import type { PersonaRef } from "../../src/records/records.js";
import type { DilemmaRecord } from "../../src/suites/dilemmas/record.js";

export type Task = "stated" | "action";

export const LABELS: Record<Task, readonly string[]> = { stated: VALUE_SCALE, action: ACTION_GRADES };

export const NONE: PersonaRef = { id: "none", kind: "none", name: "no persona" };

export function maxPersona(quadrant: string): PersonaRef {
  return { id: `max-${quadrant}`, kind: "max", name: `max ${quadrant}`, quadrant };
}

export function countryPersona(country: string): PersonaRef {
  return { id: `country-${country}`, kind: "country", name: country, country };
}

/** One-hot distribution at scale position `pos` (1..6), as option probabilities by label. */
export function at(task: Task, pos: number): Record<string, number> {
  return { [LABELS[task][pos - 1]!]: 1 };
}

/** Option probabilities by label from a distribution over positions 1..6. */
export function dist(task: Task, ps: readonly number[]): Record<string, number> {
  return Object.fromEntries(LABELS[task].map((l, i) => [l, ps[i] ?? 0]));
}

export interface SixpointSpec {
  task: Task;
  persona: PersonaRef;
  dilemma: string;
  value: string;
  topic: string;
  repeat: number;
  /** option labels in shown order */
  order: readonly string[];
  /** probability per option label (missing labels get 0); null = no letter mass */
  probs: Readonly<Record<string, number>> | null;
}

export function sixpointId(task: Task, persona: PersonaRef, dilemma: string, repeat: number): string {
  return `sixpoint/${task}/${persona.id}/${dilemma}/r${repeat}`;
}

export function sixpointRecord(s: SixpointSpec): DilemmaRecord {
  const id = sixpointId(s.task, s.persona, s.dilemma, s.repeat);
  const labels = LABELS[s.task];
  const base = {
    id,
    protocol: "sixpoint" as const,
    task: s.task,
    country: s.persona.country ?? "",
    topic: s.topic,
    value: s.value,
    variant: null,
    repeat: s.repeat,
    order: [...s.order],
    dilemma: s.dilemma,
    persona: s.persona,
    cacheKey: `handcrafted-${id}`,
    meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
  };
  if (s.probs === null) {
    return {
      ...base,
      letters: { probs: {}, mass: 0, spellings: {}, top: { text: "?", p: 0.5 }, method: "handcrafted" },
      score: null,
    };
  }
  const optionProbs = Object.fromEntries(labels.map((l) => [l, s.probs![l] ?? 0]));
  const probs = Object.fromEntries(s.order.map((k, i) => [String.fromCharCode(65 + i), optionProbs[k]!]));
  const score = labels.reduce((e, l, i) => e + i * optionProbs[l]!, 0) / 5;
  return {
    ...base,
    letters: { probs, mass: 1, spellings: {}, top: { text: "A", p: 1 }, method: "handcrafted" },
    optionProbs,
    score,
  };
}

/** The balanced order of a repeat (option labels), as the runner shows it. */
export function balancedOrder(task: Task, persona: PersonaRef, dilemma: string, repeat: number, seed = 1): string[] {
  const labels = LABELS[task];
  return optionOrder(6, repeat, seed, `sixpoint/${task}/${persona.id}/${dilemma}`).map((i) => labels[i]!);
}

export interface QuestionSpec {
  task: Task;
  persona: PersonaRef;
  dilemma: string;
  value: string;
  topic: string;
  /** probabilities per repeat (one entry per repeat; null = no letter mass) */
  repeats: readonly (Readonly<Record<string, number>> | null)[];
  seed?: number;
}

/** All repeats of one question, in balanced orders. */
export function question(q: QuestionSpec): DilemmaRecord[] {
  return q.repeats.map((probs, repeat) =>
    sixpointRecord({ ...q, repeat, order: balancedOrder(q.task, q.persona, q.dilemma, repeat, q.seed), probs }),
  );
}

/** A unit answered once per question (repeat 0 only): stated value and action given as probabilities. */
export function unit(
  persona: PersonaRef,
  dilemma: string,
  value: string,
  topic: string,
  stated: Record<string, number>,
  action: Record<string, number>,
): DilemmaRecord[] {
  return [
    ...question({ task: "stated", persona, dilemma, value, topic, repeats: [stated] }),
    ...question({ task: "action", persona, dilemma, value, topic, repeats: [action] }),
  ];
}

export function sixpointManifest(
  records: readonly DilemmaRecord[],
  opts: { repeats: number; seed: number; model?: string; personas?: RunConfig["personas"]; datasetSha?: string },
): Manifest {
  const byTask: Record<string, number> = {};
  for (const r of records) byTask[r.task] = (byTask[r.task] ?? 0) + 1;
  const model = opts.model ?? "handcrafted";
  return {
    tool: { name: "valuelens", version: "0.0.0-test" },
    status: "complete",
    imported: false,
    config: {
      model,
      protocol: "sixpoint",
      tasks: ["stated", "action"],
      repeats: opts.repeats,
      seed: opts.seed,
      countries: null,
      topics: null,
      values: null,
      limit: null,
      statedVariants: [],
      actionVariants: [],
      statedMaxTokens: 1024,
      actionMaxTokens: 256,
      via: "sample",
      dilemmas: "sample",
      personas: opts.personas ?? ["none", "max"],
      quadrants: null,
    },
    configDigest: "handcrafted",
    dataset: {
      path: "datasets/dilemmas-sample.json",
      sha256: opts.datasetSha ?? "1".repeat(64),
      rows: 0,
      usableActions: 0,
    },
    backend: { engine: "handcrafted", model: { name: model, sha256: "0".repeat(64) }, modelSha256: "0".repeat(64) },
    questions: { total: records.length, byTask },
    notes: ["Handcrafted dilemma run."],
    versions: {},
    hardware: {},
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: "2025-01-01T00:00:01.000Z",
    sessions: [],
  };
}

/** Write manifest.json and records.jsonl of a sixpoint run directory. */
export function writeSixpointRunDir(
  dir: string,
  records: readonly DilemmaRecord[],
  opts: Parameters<typeof sixpointManifest>[1],
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(sixpointManifest(records, opts), null, 2) + "\n");
  writeFileSync(path.join(dir, "records.jsonl"), records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return dir;
}

export const MAX_A = maxPersona("traditional-survival");
export const MAX_B = maxPersona("secular-self-expression");

/**
 * Baseline and two max personas on two dilemmas, one answer per question:
 *   d1 (Equality, Politics): none rate 1 (agree, align), A rate 1, B rate 0 (agree, oppose: distance 1)
 *   d2 (Honest, Religion):   none rate 0 (agree, oppose: distance 1), A rate 1, B rate 1 (disagree, oppose)
 * -> none rate 0.5, max rate 0.75; max vs baseline: d1 0.5 - 1, d2 1 - 0 -> +0.25
 */
export function baselineAndMaxUnits(): DilemmaRecord[] {
  const agree = at("stated", 1);
  const align = at("action", 1);
  const oppose = at("action", 6);
  return [
    ...unit(NONE, "d1", "Equality", "Politics", agree, align),
    ...unit(MAX_A, "d1", "Equality", "Politics", agree, align),
    ...unit(MAX_B, "d1", "Equality", "Politics", agree, oppose),
    ...unit(NONE, "d2", "Honest", "Religion", agree, oppose),
    ...unit(MAX_A, "d2", "Honest", "Religion", agree, align),
    ...unit(MAX_B, "d2", "Honest", "Religion", at("stated", 6), oppose),
  ];
}
