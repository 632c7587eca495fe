/**
 * Loading run directories for `valuelens compare`, and deciding whether they can be compared.
 *
 * Runs are comparable when they use one protocol and asked the same questions: the same
 * question ids (which include the repeat) and the same question-defining settings (the
 * suite's `questionFields`: tasks, slice, repeats and seed of the option orders or prompt
 * variants; and the dataset). Different models,
 * quantizations and generation caps are what a comparison is for and are always allowed.
 * With `allowPartial`, runs that differ in their questions are compared on the question ids
 * all of them share; a protocol difference is never comparable.
 */
import path from "node:path";
import { loadRunDirectory } from "../runs/load.js";
import type { Manifest } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import { elicitationOf, suiteOf } from "../suites/registry.js";
import { UserError } from "../util/errors.js";

export interface LoadedRun {
  /** the directory as given (used in messages) */
  dir: string;
  /** the directory resolved */
  path: string;
  /** the model's name (manifest backend.model.name, else config.model) */
  model: string;
  manifest: Manifest;
  /** records, one per question id, validated by the run-directory loader (src/runs/load.ts) */
  records: RunRecord[];
  /** what the loader dropped or could not check (torn line, identical duplicates), one sentence each */
  notes: string[];
}

/**
 * Load a run directory through the run-directory loader (src/runs/load.ts: one record per
 * question, conflicting duplicates and records of other runs refused). Throws a one-line
 * UserError naming the dir when it is not a run or holds no records.
 */
export function loadRun(dir: string): LoadedRun {
  const run = loadRunDirectory(dir);
  if (run.records.length === 0)
    throw new UserError(
      `${dir}/records.jsonl holds no records; finish the run (valuelens run ... --resume) before comparing it`,
    );
  const manifest = run.manifest;
  const model = (manifest.backend.model as { name?: unknown } | undefined)?.name;
  return {
    dir,
    path: run.dir,
    model: typeof model === "string" && model !== "" ? model : manifest.config.model,
    manifest,
    records: run.records,
    notes: [...run.notes.map((n) => `${n}.`), ...(run.unchecked ? [run.unchecked] : [])],
  };
}

/**
 * One label per run for tables: the model name; where two runs share a name, the directory's
 * base name is added, and where that is not enough either, the run's position.
 */
export function runLabels(runs: readonly Pick<LoadedRun, "model" | "dir">[]): string[] {
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  let labels = runs.map((r) => r.model);
  let c = count(labels);
  labels = labels.map((l, i) => (c.get(l)! > 1 ? `${l} (${path.basename(path.resolve(runs[i]!.dir))})` : l));
  c = count(labels);
  return labels.map((l, i) => (c.get(l)! > 1 ? `${l} #${i + 1}` : l));
}

export interface Comparability {
  protocol: string;
  /** question ids every run holds, in the first run's record order */
  sharedIds: string[];
  /** what differs between the runs (question sets, question-defining settings), one phrase each; empty when none */
  differences: string[];
  /** true when the runs differ and were restricted to the shared questions (--allow-partial) */
  partial: boolean;
  /** per run: records held, and records left out because another run lacks their id */
  perRun: { records: number; dropped: number }[];
  /** differences that do not bear on comparability (e.g. generation caps), for the notes */
  notes: string[];
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "all";
  if (Array.isArray(v)) return v.join(",");
  return String(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function lacking(a: LoadedRun, bIds: ReadonlySet<string>): string[] {
  return a.records.map((r) => r.id).filter((id) => !bIds.has(id));
}

/**
 * Check that the runs can be compared. Throws a one-line UserError naming what differs,
 * unless `allowPartial`, which restricts the comparison to the question ids all runs share.
 * Runs of different protocols, and runs with no question in common, are never compared.
 */
export function checkComparability(runs: readonly LoadedRun[], opts: { allowPartial?: boolean } = {}): Comparability {
  if (runs.length < 2) throw new UserError("compare needs at least two run directories");
  const ref = runs[0]!;
  const protocol = ref.manifest.config.protocol;
  for (const r of runs.slice(1)) {
    const p = r.manifest.config.protocol;
    if (p !== protocol) {
      throw new UserError(
        `${ref.dir} uses the ${protocol} protocol and ${r.dir} the ${p} protocol; only runs of one protocol can be compared`,
      );
    }
  }
  const differences: string[] = [];
  const notes: string[] = [];
  const idSets = runs.map((r) => new Set(r.records.map((x) => x.id)));
  for (let i = 1; i < runs.length; i++) {
    const r = runs[i]!;
    const a = ref.manifest.config;
    const b = r.manifest.config;
    for (const k of suiteOf(a).questionFields(a)) {
      const x: unknown = a[k];
      const y: unknown = b[k];
      if (JSON.stringify(x) === JSON.stringify(y)) continue;
      if (isPlainObject(x) && isPlainObject(y)) {
        // A suite's options: name each field that differs. Those that change how answers are
        // decoded but not which questions are asked (a temperature) are a note, not a refusal.
        const answerOnly = suiteOf(a).answerOptions ?? [];
        for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])]) {
          if (JSON.stringify(x[key]) === JSON.stringify(y[key])) continue;
          const line = `${k}.${key} differ (${ref.dir}: ${JSON.stringify(x[key]) ?? "none"}; ${r.dir}: ${JSON.stringify(y[key]) ?? "none"})`;
          if (answerOnly.includes(key)) notes.push(`${line}: the same questions, answered another way.`);
          else differences.push(line);
        }
      } else differences.push(`${k} differ (${ref.dir}: ${show(x)}; ${r.dir}: ${show(y)})`);
    }
    if (ref.manifest.dataset.sha256 !== r.manifest.dataset.sha256) {
      differences.push(
        `datasets differ (${ref.dir}: ${ref.manifest.dataset.path}, sha256 ${ref.manifest.dataset.sha256.slice(0, 12)}; ${r.dir}: ${r.manifest.dataset.path}, sha256 ${r.manifest.dataset.sha256.slice(0, 12)})`,
      );
    }
    for (const [x, y, yIds] of [
      [ref, r, idSets[i]!],
      [r, ref, idSets[0]!],
    ] as const) {
      const missing = lacking(x, yIds);
      if (missing.length > 0) {
        differences.push(
          `${x.dir} has ${missing.length} question${missing.length === 1 ? "" : "s"} that ${y.dir} lacks (first: ${missing[0]})`,
        );
      }
    }
    // Generated answers: the generation caps may change them (a difference worth a note, not a refusal).
    if (elicitationOf(a) === "generate") {
      for (const k of ["statedMaxTokens", "actionMaxTokens"] as const) {
        if (a[k] !== b[k])
          notes.push(
            `${k} differ (${ref.dir}: ${a[k]}; ${r.dir}: ${b[k]}): a different generation cap can change the answers.`,
          );
      }
    }
  }
  const sharedIds = ref.records.map((r) => r.id).filter((id) => idSets.every((s) => s.has(id)));
  if (differences.length > 0 && !opts.allowPartial) {
    throw new UserError(
      `cannot compare ${runs.map((r) => r.dir).join(" and ")}: ${differences.join("; ")}; pass --allow-partial to compare only the questions all runs share`,
    );
  }
  if (sharedIds.length === 0) {
    throw new UserError(`${runs.map((r) => r.dir).join(" and ")} have no question in common; nothing to compare`);
  }
  return {
    protocol,
    sharedIds,
    differences,
    partial: differences.length > 0,
    perRun: runs.map((r) => ({ records: r.records.length, dropped: r.records.length - sharedIds.length })),
    notes,
  };
}
