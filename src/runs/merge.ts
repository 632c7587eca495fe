/**
 * Joining run directories (the shards of one run, made with `valuelens run --shard I/N`,
 * possibly on different machines) into one ordinary run directory.
 *
 * The runs must be the same run: the same config apart from the shard (and the dataset's path,
 * when its sha256 is the same), the same model file and the same dataset. The full question
 * list is rebuilt from the config and the dataset, so a question that no shard holds is found
 * (a gap), and a question held by two shards is kept once if both answers are identical
 * (ignoring `meta`) and refused if they differ.
 *
 * The result has the config, digest, record order and outputs of the unsharded run: with no
 * gap it is "complete"; with a gap it is written "interrupted", and `valuelens run ... --out
 * MERGED --resume` (the unsharded command) asks exactly the missing questions.
 */
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { SUITES, suiteOf } from "../suites/registry.js";
import type { AnySuite } from "../suites/suite.js";
import { configDigest } from "../records/manifest.js";
import { buildRunQuestions } from "../suites/runQuestions.js";
import { SHARD_NOTE } from "../questions/shard.js";
import { writeRunOutputs, type RunOutputOptions } from "./outputs.js";
import { formatShard, shardOfId, type Shard } from "../questions/shard.js";
import { FileWriteError, writeFileAtomic } from "../util/durableFiles.js";
import { UserError } from "../util/errors.js";
import { shellQuote } from "../util/shell.js";
import { canonicalJson } from "../util/hash.js";
import { inspectRunDirectory, loadRunDirectory, uniqueRecords } from "./load.js";
import { withRunLock } from "./lock.js";
import { configDifferences, writeManifest, type Manifest, type RunConfig } from "../records/manifest.js";
import { writeRecordsSorted, type RunRecord } from "../records/records.js";
import { recordsDigest } from "../records/recordsDigest.js";

export interface MergeOptions {
  dirs: string[];
  out: string;
  /** Where to read the dataset when the path in the runs' config is not there (another machine). */
  via?: string;
  /** Dilemma runs: the dilemma file, when the path in their config is not on this machine. */
  dilemmas?: string;
  outputs?: RunOutputOptions;
  log?: (line: string) => void;
}

export interface MergeResult {
  out: string;
  manifest: Manifest;
  metrics: object;
  /** Questions of the full run, and how many the merged run holds. */
  total: number;
  recorded: number;
  /** Ids of the full run that no directory holds, in canonical order. */
  missing: string[];
  /** Shards (`I/N`) that hold missing questions, when every input was a shard of the same N. */
  missingShards: string[];
  /** Identical records held by more than one directory (kept once). */
  duplicates: number;
}

interface Input {
  dir: string;
  manifest: Manifest;
  records: RunRecord[];
}

/** The config without what may differ between the shards of one run: the shard and the dataset's path. */
function sharedConfig(config: RunConfig): Partial<RunConfig> {
  const rest: Partial<RunConfig> = { ...config };
  delete rest.shard;
  for (const suite of SUITES) delete rest[suite.dataset.configField];
  return rest;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "all";
  if (Array.isArray(v)) return v.join(",");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function short(digest: unknown): string {
  const s = String(digest);
  return /^[0-9a-f]{64}$/.test(s) ? `${s.slice(0, 12)}…` : s;
}

export async function mergeRuns(opts: MergeOptions): Promise<MergeResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  if (opts.dirs.length === 0) throw new UserError("merge needs at least one run directory");
  const out = path.resolve(opts.out);
  const dirs = opts.dirs.map((d) => path.resolve(d));
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (dir === out)
      throw new UserError(`--out ${opts.out} is one of the directories to merge; choose a new directory`);
    if (seen.has(dir)) throw new UserError(`${dir} is named twice; name each run directory once`);
    seen.add(dir);
  }
  checkNewOut(out);
  // The merged directory has one writer: this merge holds its lock (src/runs/lock.ts).
  return withRunLock(out, { log, advice: "wait for it to finish, or merge into another --out" }, () => {
    checkNewOut(out);
    return mergeLocked(opts, dirs, out, log);
  });
}

/**
 * Marks a merge's --out until its manifest is written: a merge killed before that left only
 * this marker and records.jsonl (or less), which the next merge into that --out replaces.
 */
const MERGE_MARKER = ".merge-incomplete";

/** What a merge killed before its manifest leaves in --out (lock and temporary files aside). */
function killedMergeLeftovers(out: string, entries: readonly string[]): boolean {
  return existsSync(path.join(out, MERGE_MARKER)) && entries.every((e) => e === MERGE_MARKER || e === "records.jsonl");
}

/** `--out` must be new or empty (lock files aside), or hold only a killed merge's leftovers: a merge never writes over anything else. */
function checkNewOut(out: string): void {
  const state = inspectRunDirectory(out);
  if (state.kind === "missing" || state.kind === "empty") return;
  if (killedMergeLeftovers(out, state.entries)) return;
  throw new UserError(`--out ${out} already exists and is not empty; merge into a new directory`);
}

async function mergeLocked(
  opts: MergeOptions,
  dirs: string[],
  out: string,
  log: (line: string) => void,
): Promise<MergeResult> {
  // Every input and its records, read and validated by the run-directory loader.
  const inputs: Input[] = dirs.map((dir) => {
    const run = loadRunDirectory(dir, { via: opts.via, dilemmas: opts.dilemmas });
    const { manifest, records } = run;
    if (manifest.imported)
      throw new UserError(`${dir} holds imported outputs; only runs made by valuelens run can be merged`);
    for (const note of run.notes) log(`note: ${dir}: ${note}`);
    if (manifest.status !== "complete")
      log(
        `note: ${dir} is ${manifest.status} (${records.length} of its ${manifest.questions.total} questions recorded); its records are merged`,
      );
    return { dir, manifest, records };
  });

  // The same run: config (except shard and the dataset path), model file, dataset, engine.
  const ref = inputs[0]!;
  for (const other of inputs.slice(1)) {
    const a = ref.manifest;
    const b = other.manifest;
    const diff = configDifferences(sharedConfig(a.config) as RunConfig, sharedConfig(b.config) as RunConfig);
    if (diff.length > 0) {
      const k = diff[0] as keyof RunConfig;
      throw new UserError(
        `${other.dir} is not a shard of the same run as ${ref.dir}: ${diff.join(", ")} differ${diff.length === 1 ? "s" : ""} (${k}: ${show(a.config[k])} vs ${show(b.config[k])})`,
      );
    }
    if (String(a.backend.modelSha256) !== String(b.backend.modelSha256)) {
      throw new UserError(
        `${other.dir} was run with another model file than ${ref.dir} (model sha256 ${short(b.backend.modelSha256)} vs ${short(a.backend.modelSha256)})`,
      );
    }
    if (a.dataset.sha256 !== b.dataset.sha256) {
      throw new UserError(
        `${other.dir} was run on another dataset than ${ref.dir} (dataset sha256 ${short(b.dataset.sha256)} vs ${short(a.dataset.sha256)})`,
      );
    }
    for (const field of ["engine", "outputOptions"] as const) {
      if (canonicalJson(a.backend[field] ?? null) !== canonicalJson(b.backend[field] ?? null)) {
        throw new UserError(
          `${other.dir} used other backend ${field} than ${ref.dir} (${show(b.backend[field])} vs ${show(a.backend[field])}); their answers are not the same run's`,
        );
      }
    }
  }

  // The full question list, from the config and the dataset.
  const suite = suiteOf(ref.manifest.config);
  const field = suite.dataset.configField;
  const { file, label } = locateDataset(inputs, opts[field], suite);
  const dataset = suite.loadDataset(file);
  // The dataset field (`via`, `dilemmas`) names the dataset as found on this machine, so the
  // unsharded command resumes a gap here.
  const config: RunConfig = { ...ref.manifest.config, [field]: label, shard: null };
  if (dataset.sha256 !== ref.manifest.dataset.sha256) {
    throw new UserError(
      `${dataset.path} has sha256 ${short(dataset.sha256)}, but the runs were made on a dataset with sha256 ${short(ref.manifest.dataset.sha256)}; pass the right file with ${suite.dataset.option}`,
    );
  }
  const questions = buildRunQuestions(config, dataset);
  const position = new Map(questions.map((q, i) => [q.id, i]));

  // Join the records: every id asked by the config, each once (identical copies kept once).
  for (const input of inputs) {
    const foreign = input.records.find((record) => !position.has(record.id));
    if (foreign)
      throw new UserError(
        `${input.dir} holds record ${foreign.id}, which the runs' config does not ask; it is not a shard of this run`,
      );
  }
  const joined = uniqueRecords(
    inputs.flatMap((input) => input.records.map((record) => ({ record, where: input.dir }))),
    (id, first, again) =>
      new UserError(
        `${id} is recorded in ${first} and in ${again} with different answers; remove one of the two runs and merge again`,
      ),
    { answerSupersedesFailure: true },
  );
  if (joined.supersededFailures > 0) {
    log(
      `note: ${joined.supersededFailures} question${joined.supersededFailures === 1 ? "" : "s"} failed in one directory and ${joined.supersededFailures === 1 ? "was" : "were"} answered in another (or failed in both); the answer is kept`,
    );
  }
  const merged = new Map(joined.records.map((r) => [r.id, r]));
  const duplicates = joined.duplicates;
  if (merged.size === 0) throw new UserError(`the directories hold no records yet; run the shards first`);

  const missing = questions.filter((q) => !merged.has(q.id)).map((q) => q.id);
  const counts = new Set(inputs.map((i) => i.manifest.config.shard?.count ?? 0));
  const count = counts.size === 1 ? [...counts][0]! : 0;
  const missingShards =
    count > 0
      ? [...new Set(missing.map((id) => shardOfId(id, count)))]
          .sort((a, b) => a - b)
          .map((i) => formatShard({ index: i, count }))
      : [];

  // An ordinary run directory, as the unsharded run would have written it.
  const records = questions.map((q) => merged.get(q.id)).filter((r): r is RunRecord => r !== undefined);
  const complete = missing.length === 0;
  // Failed questions (no answer) stay failed in the merged run: counted, left out of the
  // metrics, and asked again by the unsharded command with --resume --retry-failed.
  const failed = records.filter((r) => r.failed !== undefined).length;
  const byTask: Record<string, number> = {};
  for (const q of questions) byTask[q.task] = (byTask[q.task] ?? 0) + 1;
  const now = new Date().toISOString();
  const startedAt = inputs.map((i) => i.manifest.startedAt).sort()[0]!;
  const finished = inputs
    .map((i) => i.manifest.finishedAt)
    .filter((f): f is string => f !== null)
    .sort();
  const shards = inputs.map((i) => ({
    dir: i.dir,
    shard: (i.manifest.config.shard ?? null) as Shard | null,
    status: i.manifest.status,
    records: i.records.length,
  }));
  const notes = ref.manifest.notes.filter((n) => !n.startsWith(`${SHARD_NOTE} `));
  notes.push(
    `Merged from ${inputs.length} run directories (${shards.map((s) => (s.shard ? `shard ${formatShard(s.shard)}` : "whole run")).join(", ")}) by valuelens merge.`,
  );
  const engineVersions = [...new Set(inputs.map((i) => String(i.manifest.backend.engineVersion)))];
  if (engineVersions.length > 1)
    notes.push(`The shards ran on different engine versions (${engineVersions.join(", ")}).`);
  if (failed > 0)
    notes.push(
      `${failed} question${failed === 1 ? "" : "s"} failed in every directory that holds ${failed === 1 ? "it" : "them"} (no answer; left out of the metrics); \`valuelens run --out <this directory> --resume --retry-failed\` asks ${failed === 1 ? "it" : "them"} again.`,
    );
  if (!complete)
    notes.push(
      `${missing.length} of ${questions.length} questions are missing from every shard; resume this directory with the unsharded valuelens run command to ask them.`,
    );
  const manifest: Manifest = {
    ...ref.manifest,
    status: complete ? "complete" : "interrupted",
    imported: false,
    config,
    configDigest: configDigest(config),
    dataset: { ...ref.manifest.dataset, path: dataset.path },
    questions: { total: questions.length, byTask, ...(failed > 0 ? { failed } : {}) },
    notes,
    startedAt,
    finishedAt: complete ? (finished.at(-1) ?? now) : null,
    sessions: inputs.flatMap((i) => i.manifest.sessions),
    merged: { from: dirs, shards, duplicates, missing: missing.length },
  };
  delete manifest.lastError;

  try {
    // Under the lock: a killed merge's leftovers go (checkNewOut let them through), the marker
    // stays until the manifest, the merge's commit point, is written.
    const leftovers = inspectRunDirectory(out).entries.length > 0;
    if (leftovers) {
      rmSync(path.join(out, "records.jsonl"), { force: true });
      log(`note: ${out} held the records of a merge that was killed before it finished; merging again`);
    }
    writeFileAtomic(path.join(out, MERGE_MARKER), `${process.pid}\n`);
    writeRecordsSorted(path.join(out, "records.jsonl"), records, (id) => position.get(id) ?? Infinity);
    manifest.records = recordsDigest(path.join(out, "records.jsonl"));
    writeManifest(out, manifest);
    rmSync(path.join(out, MERGE_MARKER), { force: true });
  } catch (err) {
    // --out was new or empty: leave it so (a merge again then starts afresh), never half a run.
    try {
      rmSync(path.join(out, "records.jsonl"), { force: true });
      rmSync(path.join(out, MERGE_MARKER), { force: true });
    } catch {
      // the error below is the one to report
    }
    throw err;
  }
  let metrics: object;
  try {
    metrics = await writeRunOutputs(out, manifest, records, opts.outputs);
  } catch (err) {
    // The merged run is in place; only its report is missing.
    if (err instanceof FileWriteError) throw err.withNext(`write the report with: valuelens report ${shellQuote(out)}`);
    throw err;
  }
  return {
    out,
    manifest,
    metrics,
    total: questions.length,
    recorded: records.length,
    missing,
    missingShards,
    duplicates,
  };
}

/**
 * The runs' dataset file and its label for the merged config: the option's path, else the first
 * path in the runs' configs that exists on this machine ("sample" = the file shipped with valuelens).
 */
function locateDataset(
  inputs: readonly Input[],
  given: string | undefined,
  suite: AnySuite,
): { file: string; label: string } {
  const { option, what, configField, samplePath } = suite.dataset;
  const label = (v: string) => (v === "sample" ? "sample" : path.resolve(v));
  const file = (l: string) => (l === "sample" ? samplePath : l);
  if (given !== undefined) {
    if (!existsSync(file(label(given))))
      throw new UserError(`${option} ${given}: file not found; pass the ${what} the runs were made on`);
    return { file: file(label(given)), label: label(given) };
  }
  const candidates = [...new Set(inputs.map((i) => label(i.manifest.config[configField] ?? "sample")))];
  const found = candidates.find((l) => existsSync(file(l)));
  if (!found)
    throw new UserError(
      `the runs' ${what} ${candidates[0]} is not on this machine; pass the same file with ${option} PATH`,
    );
  return { file: file(found), label: found };
}
