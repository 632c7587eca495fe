/**
 * Reading a run directory: the one loader every reader goes through (`report`, `compare`,
 * `merge`, a resumed `run`, `import`'s check of its --out), so that every reader sees the same
 * validated records:
 *
 * - records.jsonl holds one record per question: an identical duplicate (the same
 *   deterministic content, `deterministicPart`) is dropped, with a note; a conflicting one
 *   (the same id, a different answer) is refused naming the id;
 * - every record is a question of the run: the question ids are rebuilt from the manifest's
 *   config and dataset as the runner builds them (its shard's, for a shard), and a record of
 *   any other id is refused naming it. Where the dataset is not on this machine (or is not the
 *   file the run was made on) the check cannot be made and a note says so;
 * - a torn last line (an interrupted run) is skipped, with a note.
 *
 * `inspectRunDirectory` tells what a directory holds before anything is written into it.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { isAtomicTempFile } from "../util/durableFiles.js";
import { suiteOf, suiteOfProtocol } from "../suites/registry.js";
import { runQuestionsOf, type RunDataset } from "../suites/runQuestions.js";
import type { Suite } from "../suites/suite.js";
import type { Question } from "../questions/question.js";
import { isUserError, UserError } from "../util/errors.js";
import { canonicalJson } from "../util/hash.js";
import { isLockFile } from "./lock.js";
import { readManifest, type Manifest } from "../records/manifest.js";
import { deterministicPart, readRecords, repairRecords, type RunRecord } from "../records/records.js";
import { recordsDigest } from "../records/recordsDigest.js";

export const RECORDS_FILE = "records.jsonl";

/** What a directory holds: nothing (missing, empty), a run, records without their manifest, or something else. */
export type RunDirectoryKind = "missing" | "empty" | "run" | "records-only" | "other";

export interface RunDirectoryState {
  kind: RunDirectoryKind;
  /** kind "run": its manifest (a damaged one is a UserError). */
  manifest?: Manifest;
  /** What the directory holds, apart from lock files and temporary files of an interrupted write. */
  entries: string[];
}

/** Leftovers of an atomic write cut short (`manifest.json.<pid>.tmp`): never a reason to call a directory foreign. */
function isTempFile(name: string): boolean {
  return isAtomicTempFile(name);
}

export function inspectRunDirectory(dir: string): RunDirectoryState {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) return { kind: "missing", entries: [] };
  if (!statSync(abs).isDirectory()) throw new UserError(`${dir} is a file, not a run directory; choose a directory`);
  const entries = readdirSync(abs).filter((n) => !isLockFile(n) && !isTempFile(n));
  if (entries.includes("manifest.json")) return { kind: "run", manifest: readManifest(abs), entries };
  if (entries.includes(RECORDS_FILE)) return { kind: "records-only", entries };
  return { kind: entries.length === 0 ? "empty" : "other", entries };
}

/** The refusal for a non-empty directory that is not a run directory (nothing in it is touched). */
export function foreignDirectoryError(dir: string, entries: readonly string[], option = "--out"): UserError {
  const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, ... (${entries.length} entries)` : "");
  return new UserError(
    `${option} ${dir} is not empty and holds no valuelens run (it has ${shown}); nothing was written: choose a new or empty directory`,
  );
}

export interface RecordsRead {
  /** One record per question id, in file order. */
  records: RunRecord[];
  tornLines: number;
  /** Identical duplicates dropped. */
  duplicates: number;
  /** What was dropped or skipped, one sentence each (for stderr and report.md). */
  notes: string[];
}

export interface ReadRecordsOptions {
  /** The run's question ids; a record of another id is refused. Absent: not checked. */
  questions?: { has(id: string): boolean };
  /** How a record of another id is refused: "<file> holds record <id>, which <foreign>". */
  foreign?: string;
  /** Cut a torn last line off the file (the runner, holding the lock, before it appends). */
  repair?: boolean;
}

/** The schema of a record of this protocol: its suite's. */
function suiteRecordSchema(protocol: string) {
  return suiteOfProtocol(protocol).suite.recordSchema;
}

/** A letters record's score as its suite computes it from optionProbs (records/consistency.ts). */
function letterScoreOf(record: RunRecord): number | null | undefined {
  if (!record.letters || !record.optionProbs) return undefined;
  // The suites' letterScore reads the question's task, which the record carries.
  return suiteOfProtocol(record.protocol).suite.letterScore(
    record as unknown as Question,
    record.optionProbs,
    record.letters.mass,
  );
}

/** records.jsonl of a run directory, validated (see the module comment). */
export function readRunRecords(dir: string, opts: ReadRecordsOptions = {}): RecordsRead {
  const file = path.join(path.resolve(dir), RECORDS_FILE);
  // Each record is checked against the envelope and its suite's schema (Suite.recordSchema).
  const read = opts.repair
    ? repairRecords(file, suiteRecordSchema, letterScoreOf)
    : readRecords(file, suiteRecordSchema, letterScoreOf);
  const notes: string[] = [];
  if (read.tornLines > 0) {
    notes.push(
      opts.repair
        ? "records.jsonl: dropped a torn last line left by an interrupted run; it is asked again"
        : "records.jsonl ends in a torn line (an interrupted run); it was skipped",
    );
  }
  if (opts.questions) {
    const foreign = read.records.find((r) => !opts.questions!.has(r.id));
    if (foreign) {
      throw new UserError(
        `${file} holds record ${foreign.id}, which ${opts.foreign ?? "its run's config does not ask (a record of another run); remove that line, or restore the run's own records.jsonl"}`,
      );
    }
  }
  const unique = uniqueRecords(
    read.records.map((record, i) => ({ record, where: i + 1 })),
    (id, a, b) =>
      new UserError(
        `${file} holds two different records for ${id} (records #${a} and #${b}): one question has one answer, so two processes wrote this directory or it was edited; delete the wrong line, or run again into a new --out`,
      ),
  );
  if (unique.duplicates > 0) {
    notes.push(
      `records.jsonl holds ${unique.duplicates} identical duplicate record${unique.duplicates === 1 ? "" : "s"} (first: ${unique.firstDuplicate}); each question is counted once`,
    );
  }
  return { records: unique.records, tornLines: read.tornLines, duplicates: unique.duplicates, notes };
}

/**
 * One record per id from records that may repeat: identical repeats (ignoring `meta`) are
 * dropped, a repeat with another answer is refused with `conflict(id, where first, where again)`.
 * With `answerSupersedesFailure` (merging runs), a failed record (no answer) and an answer for
 * the same question are no conflict: the answer is kept; two failures keep the first.
 */
export function uniqueRecords<W>(
  items: Iterable<{ record: RunRecord; where: W }>,
  conflict: (id: string, first: W, again: W) => Error,
  opts: { answerSupersedesFailure?: boolean } = {},
): {
  records: RunRecord[];
  duplicates: number;
  firstDuplicate?: string;
  whereOf: Map<string, W>;
  supersededFailures: number;
} {
  const held = new Map<string, { record: RunRecord; where: W; json: string }>();
  let duplicates = 0;
  let supersededFailures = 0;
  let firstDuplicate: string | undefined;
  for (const { record, where } of items) {
    const json = canonicalJson(deterministicPart(record));
    const first = held.get(record.id);
    if (!first) {
      held.set(record.id, { record, where, json });
      continue;
    }
    if (first.json !== json) {
      const firstFailed = first.record.failed !== undefined;
      const againFailed = record.failed !== undefined;
      if (!opts.answerSupersedesFailure || (!firstFailed && !againFailed))
        throw conflict(record.id, first.where, where);
      supersededFailures += 1;
      if (firstFailed && !againFailed) held.set(record.id, { record, where, json });
      continue;
    }
    duplicates += 1;
    firstDuplicate ??= record.id;
  }
  return {
    records: [...held.values()].map((h) => h.record),
    duplicates,
    supersededFailures,
    ...(firstDuplicate !== undefined ? { firstDuplicate } : {}),
    whereOf: new Map([...held].map(([id, h]) => [id, h.where])),
  };
}

/**
 * The dataset file of a run, by its suite's config field (`via`: the VIA CSV, `dilemmas`: the
 * dilemma file), when the path in the run's config is not on this machine.
 */
export type LoadRunOptions = { [F in Suite["dataset"]["configField"]]?: string };

export interface LoadedRunDirectory {
  /** The directory, resolved. */
  dir: string;
  manifest: Manifest;
  /** Validated records: one per question of the run, in file order. */
  records: RunRecord[];
  tornLines: number;
  duplicates: number;
  /** What was dropped or skipped while reading (torn line, identical duplicates). */
  notes: string[];
  /** Why the records could not be checked against the run's question list, when they could not. */
  unchecked?: string;
}

/** The manifest of a run directory, or a one-line UserError saying why `dir` is not one. */
export function requireRunDirectory(dir: string): Manifest {
  const abs = path.resolve(dir);
  if (!existsSync(abs))
    throw new UserError(`${dir}: no such directory (not a run directory); pass the --out directory of a valuelens run`);
  if (!statSync(abs).isDirectory())
    throw new UserError(`${dir} is not a run directory (it is a file); pass the --out directory of a valuelens run`);
  const manifest = readManifest(abs);
  if (manifest) return manifest;
  if (existsSync(path.join(abs, RECORDS_FILE))) {
    throw new UserError(
      `${dir} has records.jsonl but no manifest.json, so nothing says which run its records belong to; restore manifest.json, or resume it with the valuelens run command that made it (--resume checks each record)`,
    );
  }
  throw new UserError(`${dir} is not a run directory (no manifest.json); pass the --out directory of a valuelens run`);
}

/**
 * The run's records are the ones valuelens wrote (records/recordsDigest.ts): the first
 * `manifest.records.bytes` bytes of records.jsonl still have their sha256. Records a killed
 * session appended after the last manifest are beyond them (a resume checks their cache keys).
 */
function checkRecordsDigest(dir: string, manifest: Manifest): void {
  const expected = manifest.records;
  if (!expected) return;
  const file = path.join(dir, RECORDS_FILE);
  const now = recordsDigest(file, expected.bytes);
  if (now?.sha256 !== expected.sha256)
    throw new UserError(
      `${file} is not what valuelens wrote for this run (${now === undefined ? `it is shorter than the ${expected.bytes} bytes manifest.json records` : `its first ${expected.bytes} bytes differ from what manifest.json records`}): a record was edited, replaced or removed; restore the file, or run the questions again into a new --out`,
    );
}

/** A run directory: its manifest and its validated records (see the module comment). */
export function loadRunDirectory(dir: string, opts: LoadRunOptions = {}): LoadedRunDirectory {
  const abs = path.resolve(dir);
  const manifest = requireRunDirectory(dir);
  const { ids, unchecked } = questionIdsOf(manifest, opts);
  checkRecordsDigest(abs, manifest);
  const read = readRunRecords(abs, ids ? { questions: ids } : {});
  return {
    dir: abs,
    manifest,
    records: read.records,
    tornLines: read.tornLines,
    duplicates: read.duplicates,
    notes: read.notes,
    ...(unchecked ? { unchecked: `The records were not checked against the run's question list: ${unchecked}.` } : {}),
  };
}

/**
 * The ids of the questions a run asks, rebuilt from its config and dataset as the runner builds
 * them; or why they cannot be (imported runs hold the released files' questions).
 */
function questionIdsOf(manifest: Manifest, opts: LoadRunOptions): { ids?: Set<string>; unchecked?: string } {
  if (manifest.imported) return {};
  const config = manifest.config;
  const suite = suiteOf(config);
  const field = suite.dataset.configField;
  const label = opts[field] ?? config[field] ?? "sample";
  if (label === "none") return { unchecked: "its config names no dataset" };
  const file = label === "sample" ? suite.dataset.samplePath : path.resolve(label);
  if (!existsSync(file)) return { unchecked: `its dataset ${file} is not on this machine` };
  let dataset: RunDataset;
  try {
    dataset = suite.loadDataset(file);
  } catch (err) {
    if (isUserError(err)) return { unchecked: `its dataset ${file} could not be read (${err.message})` };
    throw err;
  }
  if (dataset.sha256 !== manifest.dataset.sha256) {
    return {
      unchecked: `the dataset at ${file} is not the file the run was made on (sha256 ${dataset.sha256.slice(0, 12)}, the run's ${manifest.dataset.sha256.slice(0, 12)})`,
    };
  }
  try {
    return { ids: new Set(runQuestionsOf(config, dataset).map((q) => q.id)) };
  } catch (err) {
    if (isUserError(err)) return { unchecked: `its question list could not be rebuilt (${err.message})` };
    throw err;
  }
}
