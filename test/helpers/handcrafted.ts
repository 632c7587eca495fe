// Handcrafted run records and run directories (no model): letters records with chosen
// probabilities per shown position, paper Task-2 records, and a manifest that passes the schema.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { optionOrder } from "../../src/questions/optionOrder.js";
import { baseId, STATED_SCALE } from "../../src/suites/via/questions.js";
import type { ScoreMatrix } from "../../src/suites/via/metrics/matrices.js";
import type { Manifest } from "../../src/records/manifest.js";
import type { ViaRecord } from "../../src/suites/via/record.js";

export const ACTION_KEYS = ["negative", "positive"] as const;

function letter(i: number): string {
  return String.fromCharCode(65 + i);
}

/** The score the runner gives a letters record (see src/runner/answer.ts letterScore). */
function scoreOf(task: "stated" | "action", optionProbs: Record<string, number>): number {
  if (task === "action") return optionProbs.negative ?? 0;
  let e = 0;
  STATED_SCALE.forEach((label, pos) => (e += pos * (optionProbs[label] ?? 0)));
  return e / (STATED_SCALE.length - 1);
}

export interface LettersSpec {
  task: "stated" | "action";
  country: string;
  topic: string;
  value: string;
  repeat: number;
  /** option keys in shown order */
  order: readonly string[];
  /** probability per shown position (A, B, ...), summing to 1 */
  byPosition: readonly number[];
}

export function lettersRecord(s: LettersSpec): ViaRecord {
  const id = `${baseId({ protocol: "letters", task: s.task, country: s.country, topic: s.topic, value: s.value, variant: null })}/r${s.repeat}`;
  const probs: Record<string, number> = {};
  const optionProbs: Record<string, number> = {};
  s.order.forEach((k, i) => {
    probs[letter(i)] = s.byPosition[i]!;
    optionProbs[k] = s.byPosition[i]!;
  });
  const best = s.byPosition.indexOf(Math.max(...s.byPosition));
  return {
    id,
    protocol: "letters",
    task: s.task,
    country: s.country,
    topic: s.topic,
    value: s.value,
    variant: null,
    repeat: s.repeat,
    order: [...s.order],
    cacheKey: `handcrafted-${id}`,
    letters: {
      probs,
      mass: 1,
      spellings: {},
      top: { text: letter(best), p: s.byPosition[best]! },
      method: "handcrafted",
    },
    optionProbs,
    score: scoreOf(s.task, optionProbs),
    meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
  };
}

/** The balanced order the runner shows on a repeat (option keys). */
export function shownOrder(
  task: "stated" | "action",
  country: string,
  topic: string,
  value: string,
  repeat: number,
  seed: number,
): string[] {
  const id = baseId({ protocol: "letters", task, country, topic, value, variant: null });
  const keys: readonly string[] = task === "stated" ? STATED_SCALE : ACTION_KEYS;
  return optionOrder(keys.length, repeat, seed, id).map((i) => keys[i]!);
}

/** A deterministic pseudo-random number in [0, 1) from a string. */
export function hash01(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return ((h >>> 0) % 100000) / 100000;
}

/**
 * A letters run: every (country, topic, value) asked on both tasks with `repeats` balanced
 * orders. The "model" prefers some options (from a hash of the cell) and adds `firstBias` to
 * position A, then renormalizes.
 */
export function lettersRun(opts: {
  countries: string[];
  topics: string[];
  values: string[];
  repeats: number;
  seed: number;
  firstBias?: number;
}): ViaRecord[] {
  const out: ViaRecord[] = [];
  for (const task of ["stated", "action"] as const) {
    for (const country of opts.countries) {
      for (const topic of opts.topics) {
        for (const value of opts.values) {
          for (let repeat = 0; repeat < opts.repeats; repeat++) {
            const order = shownOrder(task, country, topic, value, repeat, opts.seed);
            const raw = order.map(
              (k, i) =>
                0.05 + hash01(`${task}/${country}/${topic}/${value}/${k}`) + (i === 0 ? (opts.firstBias ?? 0) : 0),
            );
            const sum = raw.reduce((a, b) => a + b, 0);
            out.push(
              lettersRecord({ task, country, topic, value, repeat, order, byPosition: raw.map((x) => x / sum) }),
            );
          }
        }
      }
    }
  }
  return out;
}

/** A paper-protocol Task-2 record (as an import or a paper run writes it). */
export function paperActionRecord(p: {
  country: string;
  topic: string;
  value: string;
  variant: number;
  order: readonly string[];
  option: 1 | 2;
}): ViaRecord {
  const chosen = p.order[p.option - 1]!;
  const id = `${baseId({ protocol: "paper", task: "action", country: p.country, topic: p.topic, value: p.value, variant: p.variant })}/r0`;
  return {
    id,
    protocol: "paper",
    task: "action",
    country: p.country,
    topic: p.topic,
    value: p.value,
    variant: p.variant,
    repeat: 0,
    order: [...p.order],
    cacheKey: `handcrafted-${id}`,
    generation: { raw: `{"action": "Option ${p.option}"}`, finishReason: "stop", generatedTokens: 8 },
    parsed: { ok: true, option: p.option, chosen },
    score: chosen === "negative" ? 1 : 0,
    meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
  };
}

export function handcraftedManifest(
  records: readonly ViaRecord[],
  config: { protocol: "letters" | "paper"; repeats: number; seed: number },
): Manifest {
  const byTask: Record<string, number> = {};
  for (const r of records) byTask[r.task] = (byTask[r.task] ?? 0) + 1;
  return {
    tool: { name: "valuelens", version: "0.0.0-test" },
    status: "complete",
    imported: false,
    config: {
      model: "handcrafted",
      protocol: config.protocol,
      tasks: ["stated", "action"],
      repeats: config.repeats,
      seed: config.seed,
      countries: null,
      topics: null,
      values: null,
      limit: null,
      statedVariants: [0, 1, 2, 3, 4, 5, 6, 7],
      actionVariants: [5],
      statedMaxTokens: 1024,
      actionMaxTokens: 256,
      via: "sample",
    },
    configDigest: "handcrafted",
    dataset: { path: "handcrafted", sha256: "0".repeat(64), rows: 0, usableActions: 0 },
    backend: {
      engine: "handcrafted",
      model: { name: "handcrafted", sha256: "0".repeat(64) },
      modelSha256: "0".repeat(64),
    },
    questions: { total: records.length, byTask },
    notes: [],
    versions: {},
    hardware: {},
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: "2025-01-01T00:00:01.000Z",
    sessions: [],
  };
}

/** Write manifest.json and records.jsonl of a run directory. */
export function writeRunDir(
  dir: string,
  records: readonly ViaRecord[],
  config: { protocol: "letters" | "paper"; repeats: number; seed: number },
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(handcraftedManifest(records, config), null, 2) + "\n");
  writeFileSync(path.join(dir, "records.jsonl"), records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return dir;
}

/**
 * Two countries of the paper, two topics, four values (0 = agree / expresses the value):
 *   US/T1     stated 0 1 1 0, action 1 1 0 0: TP 1 FP 1 FN 1 TN 1 -> F1 0.5
 *   US/T2     identical 1 0 1 0:               TP 2 TN 2          -> F1 1   => US 0.75
 *   Egypt/T1  stated 1 1 1 1, action 1 1 0 0: TP 2 FN 2          -> 4/6 = 0.6667
 *   Egypt/T2  all agree on both sides:         TN 4               -> 0      => EG 0.3333
 *   overall = (0.5 + 1 + 2/3 + 0) / 4 = 0.541666...
 */
export const SMALL_STATED: ScoreMatrix = {
  "United States": { T1: { A: 0, B: 1, C: 1, D: 0 }, T2: { A: 1, B: 0, C: 1, D: 0 } },
  Egypt: { T1: { A: 1, B: 1, C: 1, D: 1 }, T2: { A: 0, B: 0, C: 0, D: 0 } },
};
export const SMALL_ACTION: ScoreMatrix = {
  "United States": { T1: { A: 1, B: 1, C: 0, D: 0 }, T2: { A: 1, B: 0, C: 1, D: 0 } },
  Egypt: { T1: { A: 1, B: 1, C: 0, D: 0 }, T2: { A: 0, B: 0, C: 0, D: 0 } },
};
