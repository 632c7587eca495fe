/**
 * The data-generation step with local models: one JSON item per prompt, constrained at
 * decoding time by a JSON schema (llama.cpp grammar, Ollama `format`, OpenAI-compatible `response_format`), validated, cached and resumable.
 *
 * Every attempt is a cached generation keyed by (backend identity, templated prompt, schema,
 * max tokens, temperature, seed, attempt), so a rerun replays instantly. An item whose
 * answer is cut off, not JSON, invalid or a refusal is retried with the next seed (sampled
 * at the retry temperature) up to `retries` times, then reported and never written.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Backend, GenerateOptions, Generation, PreparedPrompt } from "../backends/backend.js";
import { type AnswerCache, cacheKey } from "../cache/answerCache.js";
import type { Dilemma } from "../suites/dilemmas/schema.js";
import { VIA_COLUMNS, type Polarity } from "../suites/via/dataset.js";
import { actionPrompt, dilemmaPrompt } from "./prompts.js";
import {
  checkDilemma,
  checkViaGeneration,
  DEFAULT_MAX_CHARS,
  dilemmaId,
  dilemmaJsonSchema,
  parseJsonAnswer,
  VIA_FIELDS,
  viaJsonSchema,
  type Checked,
  type ItemProblem,
  type ViaGeneration,
} from "./schemas.js";

/** A backend that can constrain decoding by a JSON schema (llama.cpp grammar, Ollama `format`, OpenAI-compatible `response_format`). */
export interface JsonSchemaGenerator {
  generateJson(prompt: PreparedPrompt, schema: object, opts: GenerateOptions, lane?: number): Promise<Generation>;
}

export function canGenerateJson(b: Backend): b is Backend & JsonSchemaGenerator {
  return typeof (b as Partial<JsonSchemaGenerator>).generateJson === "function";
}

export interface GenerationSettings {
  /** Generation cap per attempt (default 512). */
  maxTokens: number;
  /** Retries after the first attempt (default 3). */
  retries: number;
  /** Seed of the first attempt; attempt a uses seed + a. */
  seed: number;
  /** Temperature of the first attempt (0 = greedy). */
  temperature: number;
  /** Temperature of the retries (they must differ from the first attempt). */
  retryTemperature: number;
  /** Cap on the characters of each generated string (in the schema, enforced by the grammar). */
  maxChars: number;
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  maxTokens: 512,
  retries: 3,
  seed: 0,
  temperature: 0,
  retryTemperature: 0.8,
  maxChars: DEFAULT_MAX_CHARS,
};

export interface AttemptFailure {
  attempt: number;
  seed: number;
  reason: ItemProblem;
  detail: string;
}

export interface GenerationFailure {
  id: string;
  failures: AttemptFailure[];
}

interface CachedGeneration {
  text: string;
  finishReason: "stop" | "maxTokens";
  generatedTokens: number;
}

export interface Counts {
  /** Items asked in this invocation (not already in the output). */
  asked: number;
  written: number;
  /** Items already in the output file, skipped. */
  skipped: number;
  failed: number;
  /** Attempts answered from the cache / by the model. */
  cacheHits: number;
  generations: number;
  /** Attempts beyond the first. */
  retries: number;
}

interface Task<T> {
  id: string;
  prompt: string;
  schema: object;
  check: (obj: unknown) => Checked<T>;
}

type Outcome<T> = { ok: true; value: T; attempts: number } | { ok: false; failure: GenerationFailure };

async function attemptOnce(
  backend: Backend,
  cache: AnswerCache,
  prepared: PreparedPrompt,
  schema: object,
  opts: GenerateOptions,
  attempt: number,
  counts: Counts,
): Promise<CachedGeneration> {
  const { engine, engineVersion, model, outputOptions } = backend.info;
  const key = cacheKey({
    backend: { engine, engineVersion, modelSha256: model.sha256, outputOptions },
    prompt: { text: prepared.text, segmentEnds: prepared.segmentEnds },
    answer: {
      mode: "generate-json",
      schema,
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      seed: opts.seed ?? null,
      attempt,
    },
  });
  const hit = cache.get(key) as CachedGeneration | undefined;
  if (hit) {
    counts.cacheHits += 1;
    return hit;
  }
  const gen = canGenerateJson(backend)
    ? await backend.generateJson(prepared, schema, opts)
    : await backend.generate(prepared, opts); // no decoding constraint: the prompt asks for the JSON, the checks decide
  counts.generations += 1;
  return cache.put<CachedGeneration>(key, {
    text: gen.text,
    finishReason: gen.finishReason,
    generatedTokens: gen.generatedTokens,
  });
}

async function generateOne<T>(
  backend: Backend,
  cache: AnswerCache,
  task: Task<T>,
  s: GenerationSettings,
  counts: Counts,
): Promise<Outcome<T>> {
  const prepared = backend.prepare([task.prompt], { mode: "generate" });
  const failures: AttemptFailure[] = [];
  for (let attempt = 0; attempt <= s.retries; attempt++) {
    if (attempt > 0) counts.retries += 1;
    const seed = s.seed + attempt;
    const temperature = attempt === 0 ? s.temperature : Math.max(s.temperature, s.retryTemperature);
    const gen = await attemptOnce(
      backend,
      cache,
      prepared,
      task.schema,
      { maxTokens: s.maxTokens, temperature, seed },
      attempt,
      counts,
    );
    const parsed = parseJsonAnswer(stripFenceLoose(gen.text), gen.finishReason);
    const checked = parsed.ok ? task.check(parsed.value) : parsed;
    if (checked.ok) return { ok: true, value: checked.value, attempts: attempt + 1 };
    failures.push({ attempt, seed, reason: checked.reason, detail: checked.detail });
  }
  return { ok: false, failure: { id: task.id, failures } };
}

/** Unconstrained backends may wrap the JSON in a ``` fence. */
function stripFenceLoose(text: string): string {
  const m = /```[A-Za-z]*\s*\n?([\s\S]*?)(?:```|$)/.exec(text);
  return m ? m[1]! : text;
}

function newCounts(): Counts {
  return { asked: 0, written: 0, skipped: 0, failed: 0, cacheHits: 0, generations: 0, retries: 0 };
}

/**
 * Read a JSONL progress/output file: the complete, parseable lines. A torn last line (a
 * crash mid-write) is dropped and the file rewritten without it, so appends stay clean.
 */
function readJsonl(file: string): unknown[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  const out: unknown[] = [];
  const kept: string[] = [];
  let damaged = lines[lines.length - 1] !== "";
  for (const line of lines.slice(0, -1)) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
      kept.push(line);
    } catch {
      damaged = true;
    }
  }
  if (damaged) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, kept.map((l) => l + "\n").join(""));
    renameSync(tmp, file);
  }
  return out;
}

/** One item to generate: its key in the output (to skip what is already there), the task, and how to write it. */
interface Item<T> {
  key: string;
  task: Task<T>;
  write: (value: T) => void;
}

/**
 * Generate the items not yet in `present`, in order: each valid item is written at once (so a
 * crash loses at most the item in flight); one that stays invalid after the retries is
 * reported and never written.
 */
async function generateItems<T>(
  backend: Backend,
  cache: AnswerCache,
  items: readonly Item<T>[],
  present: Set<string>,
  s: GenerationSettings,
  onItem: ((line: string) => void) | undefined,
): Promise<{ counts: Counts; failures: GenerationFailure[] }> {
  const counts = newCounts();
  const failures: GenerationFailure[] = [];
  for (const item of items) {
    if (present.has(item.key)) {
      counts.skipped += 1;
      continue;
    }
    counts.asked += 1;
    const got = await generateOne(backend, cache, item.task, s, counts);
    if (got.ok) {
      item.write(got.value);
      present.add(item.key);
      counts.written += 1;
      onItem?.(`${item.task.id}: ok${got.attempts > 1 ? ` (attempt ${got.attempts})` : ""}`);
    } else {
      failures.push(got.failure);
      counts.failed += 1;
      onItem?.(`${item.task.id}: FAILED (${describeFailure(got.failure)})`);
    }
  }
  return { counts, failures };
}

// ---------------------------------------------------------------------------
// Dilemmas

export interface DilemmaRequest {
  values: readonly string[];
  topics: readonly string[];
  out: string;
  settings?: Partial<GenerationSettings>;
  onItem?: (line: string) => void;
}

export interface GenerateResult {
  out: string;
  counts: Counts;
  failures: GenerationFailure[];
}

/** Generate one dilemma per (value, topic) into a JSONL file, skipping ids already in it. */
export async function generateDilemmas(
  backend: Backend,
  cache: AnswerCache,
  req: DilemmaRequest,
): Promise<GenerateResult> {
  const s = { ...DEFAULT_SETTINGS, ...req.settings };
  const present = new Set(
    readJsonl(req.out)
      .map((d) => (d as { id?: unknown }).id)
      .filter((id): id is string => typeof id === "string"),
  );
  const schema = dilemmaJsonSchema(s.maxChars);
  const items = req.values.flatMap((value) =>
    req.topics.map((topic): Item<Dilemma> => {
      const id = dilemmaId(value, topic);
      return {
        key: id,
        task: {
          id,
          prompt: dilemmaPrompt(value, topic, s.maxChars),
          schema,
          check: (o) => checkDilemma(o, value, topic),
        },
        write: (dilemma) => appendFileSync(req.out, JSON.stringify(dilemma) + "\n"),
      };
    }),
  );
  return { out: req.out, ...(await generateItems(backend, cache, items, present, s, req.onItem)) };
}

// ---------------------------------------------------------------------------
// VIA actions

export interface ActionRequest {
  countries: readonly string[];
  topics: readonly string[];
  values: readonly string[];
  /** The VIA CSV; progress goes to `<out>.partial.jsonl`. */
  out: string;
  settings?: Partial<GenerationSettings>;
  onItem?: (line: string) => void;
}

export interface ActionProgressLine {
  country: string;
  topic: string;
  value: string;
  polarity: Polarity;
  generation: ViaGeneration;
}

export function partialPath(out: string): string {
  return `${out}.partial.jsonl`;
}

function actionKey(country: string, topic: string, value: string, polarity: string): string {
  return [country, topic, value, polarity].join("\u0000");
}

/**
 * Generate the VIA rows (both polarities) of every (country, topic, value): appended to
 * `<out>.partial.jsonl` as they come, then the whole CSV is (re)written in the VIA layout.
 */
export async function generateActions(
  backend: Backend,
  cache: AnswerCache,
  req: ActionRequest,
): Promise<GenerateResult> {
  const s = { ...DEFAULT_SETTINGS, ...req.settings };
  const progressFile = partialPath(req.out);
  const rows = readJsonl(progressFile) as ActionProgressLine[];
  const present = new Set(rows.map((r) => actionKey(r.country, r.topic, r.value, r.polarity)));
  const schema = viaJsonSchema(s.maxChars);
  const items: Item<ViaGeneration>[] = [];
  for (const country of req.countries) {
    for (const topic of req.topics) {
      for (const value of req.values) {
        for (const polarity of ["positive", "negative"] as const) {
          items.push({
            key: actionKey(country, topic, value, polarity),
            task: {
              id: `${country}/${topic}/${value}/${polarity}`,
              prompt: actionPrompt(country, topic, value, polarity, s.maxChars),
              schema,
              check: checkViaGeneration,
            },
            write: (generation) => {
              const line: ActionProgressLine = { country, topic, value, polarity, generation };
              appendFileSync(progressFile, JSON.stringify(line) + "\n");
              rows.push(line);
            },
          });
        }
      }
    }
  }
  const result = await generateItems(backend, cache, items, present, s, req.onItem);
  writeViaCsv(req.out, rows);
  return { out: req.out, ...result };
}

function csvField(v: string): string {
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The generation object as the VIA CSV's `generation_prompt` (JSON, fields in the released order). */
export function generationText(g: ViaGeneration): string {
  return JSON.stringify(Object.fromEntries(VIA_FIELDS.map((f) => [f, g[f]])));
}

/** Write rows in the VIA layout: `,Unnamed: 0,country,topic,value,polarity,generation_prompt`, 0-based indices. */
export function writeViaCsv(file: string, rows: readonly ActionProgressLine[]): void {
  const lines = [VIA_COLUMNS.map(csvField).join(",")];
  rows.forEach((r, i) => {
    lines.push(
      [String(i), String(i), r.country, r.topic, r.value, r.polarity, generationText(r.generation)]
        .map(csvField)
        .join(","),
    );
  });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, lines.join("\n") + "\n");
  renameSync(tmp, file);
}

export function describeFailure(f: GenerationFailure): string {
  return f.failures.map((a) => `attempt ${a.attempt + 1}: ${a.reason}: ${a.detail}`).join("; ");
}
