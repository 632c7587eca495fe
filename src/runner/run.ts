/**
 * A benchmark run: questions -> (cache | backend) -> records.jsonl, then metrics and report.
 *
 * Crash-safe and resumable: records are appended one line per answer; a resumed run cuts a
 * torn last line, skips the questions already recorded, and ends with exactly the records of
 * an uninterrupted run (every number is a pure function of the question, never of what ran
 * before it). Re-running a finished run evaluates nothing and rewrites the report.
 *
 * A backend that stays unavailable after its retries (BackendUnavailableError: a server gone
 * away) stops the run the same way Ctrl-C does: lanes take no new question, answers already
 * in flight are recorded if they arrive, the failed question is not recorded, and the run
 * ends "interrupted" with the error in `manifest.lastError`, ready for --resume.
 *
 * A question the backend cannot answer while it answers others (a per-question failure, see
 * `questionFailureOf` in ./answer.ts: the server rejects this request, or cannot parse this
 * answer) is recorded as failed (`record.failed`, score null, nothing cached) and the run goes
 * on; the run still completes, counting its failed questions in `manifest.questions.failed`,
 * and the metrics leave them out. A resume keeps failed records; `retryFailed` (--retry-failed)
 * asks them again and replaces them. A backend that rejects the first SETUP_FAILURE_LIMIT
 * questions it is asked without answering any stops the run ("failed"): that is its setup.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { BackendUnavailableError, type Backend } from "../backends/backend.js";
import { AnswerCache } from "../cache/answerCache.js";
import type { Question } from "../questions/question.js";
import { configDifferences, configDigest, writeManifest, type Manifest, type RunConfig } from "../records/manifest.js";
import { ensureDir } from "../util/durableFiles.js";
import { foreignDirectoryError, inspectRunDirectory, readRunRecords } from "../runs/load.js";
import { withRunLock } from "../runs/lock.js";
import { EARLY_LETTER_ANSWERS, earlyLetterMassWarning, minLetterMassOf } from "../report/letterChecks.js";
import { RecordWriter, repairRecords, writeRecordsSorted, type RunRecord } from "../records/records.js";
import { recordsDigest } from "../records/recordsDigest.js";
import { UserError } from "../util/errors.js";
import { toolVersions, TOOL_VERSION } from "../util/version.js";
import { ask } from "./answer.js";
import { keyFor, promptFor } from "./answer.js";
import { laneUnits } from "./groups.js";
import { createProgress, type ProgressMode } from "./progress.js";
import { formatShard, inShard, SHARD_NOTE } from "../questions/shard.js";
import { buildRunQuestions, type RunDataset } from "../suites/runQuestions.js";
import { elicitationOf, suiteOf } from "../suites/registry.js";
import type { BackendInfo } from "../backends/backend.js";

export { buildRunQuestions, type RunDataset } from "../suites/runQuestions.js";
export { configDigest } from "../records/manifest.js";

export interface RunOptions {
  config: RunConfig;
  dataset: RunDataset;
  out: string;
  resume: boolean;
  cacheDir: string;
  progress?: ProgressMode;
  /** Loads the model; called once, after the run directory is checked. */
  openBackend: () => Promise<Backend>;
  /** Stop early (Ctrl-C): the run ends "interrupted" with its records intact. */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /**
   * Called with the result once the records and manifest are final, while the run directory's
   * lock is still held: the CLI writes the outputs here (src/runs/outputs.ts), so no other
   * writer can come between the run and its report. The runner itself writes no report.
   */
  whenDone?: (result: RunResult) => Promise<void> | void;
  /** Ask the questions recorded as failed again (`--retry-failed`); otherwise they are kept. */
  retryFailed?: boolean;
}

export interface RunResult {
  out: string;
  manifest: Manifest;
  /** The run's records (of its shard), in canonical order: what the outputs are made from (src/runs/outputs.ts). */
  records: RunRecord[];
  /** Questions answered in this invocation (from the cache or the model). */
  answered: number;
  cacheHits: number;
  /** Forward passes this invocation asked of the model. */
  evaluations: number;
  interrupted: boolean;
  /** Questions of this run (of its shard, for a sharded run) and how many are recorded now. */
  total: number;
  recorded: number;
  /** Of the recorded questions, those recorded as failed (no answer; left out of the metrics). */
  failed: number;
  /** Set when the backend became unavailable and the run stopped early (resumable). */
  stopped?: { endpoint: string | null; reason: string };
}

/**
 * A backend that rejects this many questions of a session before answering any is set up
 * wrongly (e.g. a parameter every request carries, a context too small for every prompt): the
 * run stops instead of recording every question as failed.
 */
export const SETUP_FAILURE_LIMIT = 20;

/** The exit status of a run stopped by an unavailable backend (EX_TEMPFAIL: try again later). */
export const EXIT_UNAVAILABLE = 75;

/** `<endpoint> is unavailable (<reason>); N of M questions are recorded` */
export function unavailableMessage(endpoint: string | null, reason: string, recorded: number, total: number): string {
  return `${endpoint ?? "the backend"} is unavailable (${reason}); ${recorded} of ${total} questions are recorded`;
}

/** The backend was unavailable when the run started (nothing was asked). */
export class RunUnavailableError extends UserError {
  constructor(
    readonly endpoint: string | null,
    readonly reason: string,
    readonly recorded: number,
    readonly total: number,
  ) {
    super(unavailableMessage(endpoint, reason, recorded, total), EXIT_UNAVAILABLE);
    this.name = "RunUnavailableError";
  }
}

/** Why a backend is unavailable, in one line, without the endpoint its message may start with. */
function unavailableReason(err: BackendUnavailableError): string {
  const line = firstLine(err);
  const prefix = err.endpoint ? `${err.endpoint}: ` : undefined;
  return (prefix && line.startsWith(prefix) ? line.slice(prefix.length) : line) || "no reason given";
}

/** The one-line reason of an error (its message up to the first line break). */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0]!.trim();
}

/**
 * Run (or resume) a benchmark into `opts.out`, holding the run directory's lock for the whole
 * run (src/runs/lock.ts): one writer per run directory. `--resume` needs a run to resume.
 */
export async function runBenchmark(opts: RunOptions): Promise<RunResult> {
  const out = path.resolve(opts.out);
  if (opts.resume && !existsSync(out)) {
    throw new UserError(
      `--resume: ${out} does not exist, so there is no run to resume; check --out, or drop --resume to start a new run`,
    );
  }
  return withRunLock(out, { log: opts.log }, () => runLocked(opts));
}

async function runLocked(opts: RunOptions): Promise<RunResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const { config, dataset } = opts;
  const out = path.resolve(opts.out);
  const digest = configDigest(config);
  const recordsFile = path.join(out, "records.jsonl");

  // The run directory: new, resumed, or a finished run re-run with the same config.
  const state = inspectRunDirectory(out);
  if (state.kind === "other") throw foreignDirectoryError(out, state.entries);
  if (opts.resume && (state.kind === "empty" || state.kind === "missing")) {
    throw new UserError(
      `--resume: ${out} holds no run (no manifest.json, no records.jsonl); check --out, or drop --resume to start a new run`,
    );
  }
  const previous = state.manifest;
  if (previous) {
    if (previous.imported)
      throw new UserError(
        `${out} holds outputs imported by \`valuelens import\`, not a run to continue; choose another --out`,
      );
    if (previous.configDigest !== digest) {
      const diff = configDifferences(previous.config, config);
      throw new UserError(
        `${out} holds a run with a different config (${diff.join(", ") || "config digest"} differ); use another --out directory`,
      );
    }
    if (previous.dataset.sha256 !== dataset.sha256) {
      throw new UserError(
        `${out} holds a run of another dataset (sha256 ${previous.dataset.sha256.slice(0, 12)}… at ${previous.dataset.path}; ${dataset.path} has ${dataset.sha256.slice(0, 12)}…); restore the run's dataset, or use another --out`,
      );
    }
    if (previous.status !== "complete" && !opts.resume) {
      throw new UserError(
        `${out} holds an unfinished run (${previous.status}); pass --resume to continue it, or choose another --out`,
      );
    }
  }
  const suite = suiteOf(config);
  const all = buildRunQuestions(config, dataset);
  if (all.length === 0)
    throw new UserError("no questions match the given --countries/--topics/--values in the dataset");
  const questions = config.shard ? all.filter((q) => inShard(q.id, config.shard)) : all;
  if (questions.length === 0) {
    throw new UserError(
      `shard ${formatShard(config.shard!)} holds none of this run's ${all.length} questions; use fewer shards (the other shards still cover every question)`,
    );
  }
  const position = new Map(questions.map((q, i) => [q.id, i]));

  // What is already recorded (a torn last line is cut off and asked again).
  // One record per question of this config (src/runs/load.ts); identical duplicates are dropped.
  // Without a manifest nothing is cut or written before the records are known to be this run's.
  const repaired = readRunRecords(out, {
    questions: position,
    foreign: "this config does not ask; use another --out",
    repair: previous !== undefined,
  });
  if (!previous && state.kind === "records-only" && repaired.records.length === 0)
    throw foreignDirectoryError(out, state.entries);
  for (const note of repaired.notes) log(note);
  const done = new Map<string, RunRecord>(repaired.records.map((r) => [r.id, r]));
  // --retry-failed: failed questions are asked again (their records are dropped from
  // records.jsonl below, once the run directory is known to be this run's).
  const retried = opts.retryFailed ? [...done.values()].filter((r) => r.failed !== undefined).map((r) => r.id) : [];
  for (const id of retried) done.delete(id);
  const todo = questions.filter((q) => !done.has(q.id));

  const cache = AnswerCache.open(opts.cacheDir);
  let backend: Backend;
  try {
    backend = await opts.openBackend();
  } catch (err) {
    if (err instanceof BackendUnavailableError)
      throw new RunUnavailableError(err.endpoint ?? null, unavailableReason(err), done.size, questions.length);
    throw err;
  }
  // A backend that cannot send this suite's prompts (a chat API and an answer prefix) says so
  // before the run directory is touched.
  if (questions.length > 0) {
    try {
      promptFor(backend, questions[0]!);
    } catch (err) {
      await backend.close();
      throw err;
    }
  }
  ensureDir(out);
  if (previous && previous.backend.modelSha256 !== backend.info.model.sha256) {
    await backend.close();
    throw new UserError(
      `${out} was run with model sha256 ${String(previous.backend.modelSha256).slice(0, 12)}…, not this file's ${backend.info.model.sha256.slice(0, 12)}…; use another --out`,
    );
  }
  // The records kept must be this run's answers: each one's cache key, recomputed for this
  // config, model and prompt, is the key it was recorded with (a lost manifest.json hides nothing).
  const foreignRecords = [...done.values()].filter((r) => {
    const q = questions[position.get(r.id)!]!;
    return r.cacheKey !== keyFor(backend, q, promptFor(backend, q));
  });
  if (foreignRecords.length > 0) {
    await backend.close();
    throw new UserError(
      `${recordsFile}: ${foreignRecords.length} of its ${done.size} records were not made by this run (another model, engine, config or prompt; first: ${foreignRecords[0]!.id})${previous ? "" : " and manifest.json is missing"}; they belong to another run: choose a new --out`,
    );
  }
  if (!previous && done.size > 0)
    log(
      `note: ${out} has no manifest.json; its ${done.size} records were checked (cache keys) and are this run's, so they are kept`,
    );
  if (!previous && repaired.tornLines > 0) repairRecords(recordsFile);
  if (retried.length > 0) writeRecordsSorted(recordsFile, [...done.values()], (id) => position.get(id) ?? Infinity);

  const now = new Date().toISOString();
  // A finished run re-run (nothing to ask) stays "complete" on disk throughout.
  const stillComplete = previous?.status === "complete" && todo.length === 0;
  const byTask: Record<string, number> = {};
  for (const q of questions) byTask[q.task] = (byTask[q.task] ?? 0) + 1;
  const session = {
    startedAt: now,
    finishedAt: null as string | null,
    evaluations: 0,
    evaluatedTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    cacheHits: 0,
    answered: 0,
    failed: 0,
  };
  const manifest: Manifest = {
    tool: { name: "valuelens", version: TOOL_VERSION },
    status: stillComplete ? "complete" : "running",
    imported: false,
    config,
    configDigest: digest,
    dataset: suite.datasetEntry(dataset),
    backend: {
      engine: backend.info.engine,
      engineVersion: backend.info.engineVersion,
      model: backend.info.model,
      modelSha256: backend.info.model.sha256,
      outputOptions: backend.info.outputOptions,
      otherOptions: backend.info.otherOptions,
      chatWrapper: backend.info.chatWrapper,
      reasoning: backend.info.reasoning,
      ...(backend.info.letterMethod ? { letterMethod: backend.info.letterMethod } : {}),
    },
    questions: { total: questions.length, byTask },
    notes: runNotes(config, backend.info),
    versions: toolVersions(backend.info.engineVersion),
    hardware: backend.info.hardware,
    startedAt: previous?.startedAt ?? now,
    finishedAt: stillComplete ? previous.finishedAt : null,
    sessions: [...(previous?.sessions ?? []), session],
  };
  manifest.records = recordsDigest(recordsFile);
  writeManifest(out, manifest);

  const progress = createProgress(opts.progress ?? "auto");
  const doneByTask: Record<string, number> = {};
  for (const r of done.values()) doneByTask[r.task] = (doneByTask[r.task] ?? 0) + 1;
  progress.start(byTask, doneByTask);
  const massCheck = letterMassCheck(minLetterMassOf(config), (message) => progress.warn(message));
  for (const r of repaired.records) massCheck.add(r);
  const writer = new RecordWriter(recordsFile);
  const counters0 = { ...backend.counters };
  let interrupted = false;
  // The first error of any lane stops every lane: none takes another question, and answers
  // already in flight are still recorded when they arrive.
  let unavailable: BackendUnavailableError | undefined;
  let failure: { error: unknown } | undefined;
  const stopping = () => unavailable !== undefined || failure !== undefined;
  let backendAnswers = 0; // answers the backend gave in this session (not from the cache)

  // Lanes take whole prefix groups (one country x topic x task), so a lane's KV cache holds
  // the shared segments while it works through the group; with few groups per lane, a
  // question's repeats at a time (groups.ts laneUnits), so every lane has work.
  const groups = backend.reusesPrefixes ? laneUnits(todo, backend.laneCount) : todo.map((q) => [q]);
  let next = 0;
  const lane = async (laneIndex: number) => {
    try {
      await laneWork(laneIndex);
    } catch (err) {
      failure ??= { error: err }; // e.g. records.jsonl could not be written
    }
  };
  const laneWork = async (laneIndex: number) => {
    while (next < groups.length && !stopping()) {
      const group = groups[next++]!;
      for (const q of group) {
        if (stopping()) return;
        if (opts.signal?.aborted) {
          interrupted = true;
          return;
        }
        let asked: Awaited<ReturnType<typeof ask>>;
        try {
          asked = await ask(backend, cache, q, laneIndex);
        } catch (err) {
          // Never recorded: the question is asked again on --resume.
          if (err instanceof BackendUnavailableError) unavailable ??= err;
          else failure ??= { error: err };
          return;
        }
        const { record, cacheHit, failed } = asked;
        writer.append(record);
        done.set(q.id, record);
        massCheck.add(record);
        if (failed) {
          session.failed += 1;
          if (backendAnswers === 0 && session.failed >= SETUP_FAILURE_LIMIT)
            failure ??= { error: setupFailure(session.failed, failed.reason) };
        } else {
          session.answered += 1;
          if (!cacheHit) backendAnswers += 1;
        }
        if (cacheHit) session.cacheHits += 1;
        progress.tick({
          task: q.task,
          cacheHit,
          evaluatedTokens: record.meta.evaluatedTokens,
          failed: failed !== undefined,
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, backend.laneCount) }, (_, i) => lane(i)));
    // Durable before the manifest records how the session ended (and before records.jsonl is rewritten).
    if (!failure) {
      writer.sync();
      cache.sync();
    }
    if (failure) {
      manifest.status = "failed";
      manifest.lastError = {
        kind: "error",
        message: firstLine(failure.error),
        endpoint: null,
        at: new Date().toISOString(),
      };
      throw failure.error;
    }
    if (unavailable) {
      interrupted = true;
      manifest.lastError = {
        kind: "backend-unavailable",
        message: unavailableReason(unavailable),
        endpoint: unavailable.endpoint ?? null,
        at: new Date().toISOString(),
      };
    }
  } catch (err) {
    manifest.status = "failed";
    manifest.lastError ??= { kind: "error", message: firstLine(err), endpoint: null, at: new Date().toISOString() };
    throw err;
  } finally {
    massCheck.finish();
    progress.stop();
    const c = backend.counters;
    session.evaluations = c.evaluations - counters0.evaluations;
    session.evaluatedTokens = c.evaluatedTokens - counters0.evaluatedTokens;
    session.reusedTokens = c.reusedTokens - counters0.reusedTokens;
    session.generatedTokens = c.generatedTokens - counters0.generatedTokens;
    session.finishedAt = new Date().toISOString();
    const failedNow = [...done.values()].filter((r) => r.failed !== undefined).length;
    if (failedNow > 0) manifest.questions.failed = failedNow;
    else delete manifest.questions.failed;
    if (manifest.status === "running" && interrupted) manifest.status = "interrupted";
    writer.close();
    cache.close();
    manifest.records = recordsDigest(recordsFile);
    // A failure is recorded if the disk allows; the error the user sees stays the first one.
    if (manifest.status === "failed") writeManifestQuietly(out, manifest);
    else if (manifest.status !== "running") writeManifest(out, manifest);
    await backend.close();
  }

  const records = questions.map((q) => done.get(q.id)).filter((r): r is RunRecord => r !== undefined);
  const complete = records.length === questions.length;
  try {
    if (complete) {
      writeRecordsSorted(recordsFile, records, (id) => position.get(id) ?? Infinity);
      manifest.records = recordsDigest(recordsFile);
    }
    if (complete) {
      manifest.status = "complete";
      manifest.finishedAt = new Date().toISOString();
    } else {
      manifest.status = "interrupted";
    }
    writeManifest(out, manifest);
  } catch (err) {
    writeManifestQuietly(out, {
      ...manifest,
      status: "failed",
      finishedAt: null,
      lastError: { kind: "error", message: firstLine(err), endpoint: null, at: new Date().toISOString() },
    });
    throw err;
  }
  const result: RunResult = {
    out,
    manifest,
    records,
    answered: session.answered,
    cacheHits: session.cacheHits,
    evaluations: session.evaluations,
    interrupted: !complete,
    total: questions.length,
    recorded: records.length,
    failed: manifest.questions.failed ?? 0,
    ...(unavailable && !complete
      ? { stopped: { endpoint: unavailable.endpoint ?? null, reason: unavailableReason(unavailable) } }
      : {}),
  };
  await opts.whenDone?.(result);
  return result;
}

/** Record a failure in manifest.json if the disk allows (a full disk may not): never replaces the error being thrown. */
function writeManifestQuietly(out: string, manifest: Manifest): void {
  try {
    writeManifest(out, manifest);
  } catch {
    // the first error is the one the user sees; writeManifest left no temporary file
  }
}

/** The error that stops a run whose backend rejected every question it was asked. */
function setupFailure(failed: number, lastReason: string): UserError {
  return new UserError(
    `the backend rejected the first ${failed} questions it was asked and answered none (last: ${lastReason}); ` +
      "this is its setup (models.yaml entry, server options), not these questions: fix it and continue with --resume --retry-failed",
  );
}

/**
 * The run's one letter-mass check: over the first EARLY_LETTER_ANSWERS letter answers of the
 * run (those recorded by earlier sessions first), checked once when that many are in, or at
 * the end with however many there are; `warn` gets the warning when their mean is below the
 * threshold.
 */
function letterMassCheck(threshold: number, warn: (message: string) => void) {
  const first: RunRecord[] = [];
  let checked = false;
  const check = () => {
    checked = true;
    const message = earlyLetterMassWarning(first, threshold);
    if (message) warn(message);
  };
  return {
    add(r: RunRecord) {
      if (checked || !r.letters) return;
      first.push(r);
      if (first.length >= EARLY_LETTER_ANSWERS) check();
    },
    finish() {
      if (!checked && first.length > 0) check();
    },
  };
}

/** The manifest's notes: how answers were obtained (elicitation), the suite's own, then the engine's. */
export function runNotes(config: RunConfig, info: BackendInfo): string[] {
  const notes: string[] = [];
  const letters = elicitationOf(config) === "letters";
  if (letters && info.letterMethod === "sampled") {
    notes.push(
      "Letters protocol, SAMPLED: the server returned no logprobs (Ollama before v0.12.11, or a model without them), so each answer distribution is the share of K sampled answers starting with each letter (see each record's letters.method), not the model's probabilities.",
    );
  } else if (letters) {
    notes.push(
      info.letterMethod === "logprobs"
        ? "Letters protocol: each answer is the probability of each option letter read from the server's top logprobs of the first answer token (letters outside the top N get 0; see letters.method); optionProbs are renormalized over the letters and `mass` is what the letters received together."
        : "Letters protocol: each answer is the probability of each option letter from one forward pass, counting every single-token spelling of a letter; optionProbs are renormalized over the letters and `mass` is what the letters received together.",
    );
  }
  notes.push(...suiteOf(config).notes(config, info));
  if (info.reasoning === "empty-thinking-block")
    notes.push(
      letters
        ? "Reasoning model: letters were scored after an empty thinking block (<think></think>)."
        : "Reasoning model: it was allowed to think first; the final answer after the thinking block was parsed.",
    );
  if (info.reasoning === "final-channel")
    notes.push(
      letters
        ? "Reasoning model (harmony): letters were scored at the start of the final channel."
        : "Reasoning model (harmony): it was allowed to reason in the analysis channel; the final channel's answer was parsed.",
    );
  if (config.shard)
    notes.push(
      `${SHARD_NOTE} ${formatShard(config.shard)}: only this shard's questions were asked (a fixed split by question id); \`valuelens merge\` joins the shards into the whole run.`,
    );
  if (info.outputOptions.concurrentSequences) {
    notes.push(
      `Several context sequences shared llama.cpp batches (${String(info.outputOptions.batching ?? "batching: shared")}): which questions share a batch depends on timing, so probabilities may differ from a one-sequence run in their last digits (measured at most 7.5e-5 at batch size 512, 1.9e-4 at 64, tiny model; 6.6e-4 on the bench model, make bench); these answers are cached apart from one-sequence answers.`,
    );
  }
  if (typeof info.outputOptions.concurrentSlots === "number")
    notes.push(
      `llama-server answered ${info.outputOptions.concurrentSlots} requests at once (slots): the server batches them together, so which questions share a batch depends on timing and probabilities differ between runs in their last digits (about 1e-4 measured with 4 slots); these answers are cached apart from one-request-at-a-time answers. For records that repeat bit for bit, set concurrency: 1 in the models.yaml entry (or start the server with -np 1).`,
    );
  return notes;
}

export type { Question };
