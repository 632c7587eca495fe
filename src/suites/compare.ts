/**
 * What `valuelens compare` hands a suite and gets back (`Suite.compare`). The engine loads the
 * run directories (src/compare/load.ts), checks that they belong to one suite and gives them
 * to it; the suite compares them and renders compare.md and its tables.
 */
import type { Manifest, RunConfig } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import type { Figure } from "../report/figure.js";
import type { Table } from "../report/table.js";

export interface CompareOptions {
  /** compare only the questions all runs share, instead of refusing runs that differ */
  allowPartial?: boolean;
  /** bootstrap resamples per interval (default 1000; 0 = no intervals) */
  bootstrap?: number;
  /** bootstrap seed (default: the first run's --seed, as `valuelens report` uses) */
  seed?: number;
  /** interval level (default 0.95) */
  level?: number;
}

/** A run directory loaded for `compare` (src/compare/load.ts `LoadedRun`). */
export interface RunToCompare<R extends RunRecord = RunRecord> {
  /** the directory as given (used in messages) */
  dir: string;
  /** the model's name (manifest backend.model.name, else config.model) */
  model: string;
  manifest: Manifest;
  /** records, one per question id, validated by the run-directory loader */
  records: R[];
  /** what the loader dropped or could not check, one sentence each */
  notes: string[];
}

/** Whether runs asked the same questions, by question id and question-defining config fields. */
export interface Comparability {
  protocol: RunConfig["protocol"];
  /** question ids every run holds, in the first run's record order */
  sharedIds: string[];
  /** what differs between the runs, one phrase each; empty when none */
  differences: string[];
  /** true when the runs differ and were restricted to the shared questions (--allow-partial) */
  partial: boolean;
  /** per run: records held, and records left out because another run lacks their id */
  perRun: { records: number; dropped: number }[];
  /** differences that do not bear on comparability (e.g. generation caps), for the notes */
  notes: string[];
}

export interface CompareInput<R extends RunRecord = RunRecord> {
  /** two or more runs of the suite */
  runs: readonly RunToCompare<R>[];
  /** one label per run for tables: the model name, disambiguated by directory or position */
  labels: readonly string[];
  /**
   * The engine's check by question id and the suite's question fields (src/compare/load.ts).
   * Throws a one-line UserError when the runs differ and `allowPartial` is not set, or share
   * no question. A suite that matches questions its own way need not call it.
   */
  checkComparability(opts: { allowPartial?: boolean }): Comparability;
  options: CompareOptions;
}

/** A suite's comparison, ready to print and write. */
export interface Comparison {
  /** what compare.json holds */
  result: { questions: { partial: boolean; shared: number } };
  /** compare.md */
  markdown: string;
  /** every table as data (`--format csv|json`) */
  tables: Table[];
  /** the table printed after writing (markdown) */
  headline: Table;
  /** the comparison's figures (compare.html; `compare --figures svg,pdf`) */
  figures?: Figure[];
}
