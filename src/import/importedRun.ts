/**
 * What every import writes: the manifest of a run that asked no model (`imported: true`, engine
 * "imported", the files read) and the run directory (records, manifest, metrics.json, report.md,
 * report.html), under --out's lock. `import official` and `import explanations` differ only in
 * how they read their files into records.
 */
import path from "node:path";
import { configDigest, type ImportFile, type Manifest, type RunConfig, writeManifest } from "../records/manifest.js";
import { type RunRecord, writeRecordsSorted } from "../records/records.js";
import { withRunLock } from "../runs/lock.js";
import { writeRunOutputs } from "../runs/outputs.js";
import type { SuiteMetrics } from "../suites/suite.js";
import { sha256 } from "../util/hash.js";
import { TOOL_VERSION, toolVersions } from "../util/version.js";
import { foreignDirectoryError, inspectRunDirectory } from "../runs/load.js";
import { UserError } from "../util/errors.js";

export function importedManifest(p: {
  files: ImportFile[];
  cacheKeyRule: string;
  config: RunConfig;
  dataset: Manifest["dataset"];
  modelName: string;
  records: readonly RunRecord[];
  notes: string[];
}): Manifest {
  // One file: its sha256; several: the sha256 of their sha256s, one per line in the order read.
  const filesSha256 = p.files.length === 1 ? p.files[0]!.sha256 : sha256(p.files.map((f) => f.sha256).join("\n"));
  const byTask: Record<string, number> = {};
  for (const r of p.records) byTask[r.task] = (byTask[r.task] ?? 0) + 1;
  const now = new Date().toISOString();
  return {
    tool: { name: "valuelens", version: TOOL_VERSION },
    status: "complete",
    imported: true,
    import: { files: p.files, cacheKeyRule: p.cacheKeyRule },
    config: p.config,
    configDigest: configDigest(p.config),
    dataset: p.dataset,
    backend: { engine: "imported", model: { name: p.modelName, sha256: filesSha256 }, modelSha256: filesSha256 },
    questions: { total: p.records.length, byTask },
    notes: p.notes,
    versions: toolVersions("imported"),
    hardware: {},
    startedAt: now,
    finishedAt: now,
    sessions: [],
  };
}

/** Writes the imported run into `out` (an earlier import there is replaced; anything else refused). */
export async function writeImportedRun(out: string, manifest: Manifest, records: RunRecord[]): Promise<SuiteMetrics> {
  const position = new Map(records.map((r, i) => [r.id, i]));
  // One writer per run directory: the import holds --out's lock while it writes (src/runs/lock.ts).
  return withRunLock(out, { advice: "wait for it to finish, or choose another --out" }, async () => {
    checkImportOut(out);
    writeRecordsSorted(path.join(out, "records.jsonl"), records, (id) => position.get(id) ?? Infinity);
    writeManifest(out, manifest);
    return writeRunOutputs(out, manifest, records);
  });
}

/**
 * What --out may hold: nothing, or an earlier import (replaced). A valuelens run, records
 * without their manifest, or anything else is refused and left as it is.
 */
export function checkImportOut(out: string): void {
  const state = inspectRunDirectory(out);
  if (state.kind === "run" && !state.manifest!.imported) {
    throw new UserError(
      `${out} holds a run of valuelens (not an import); choose another --out so it is not overwritten`,
    );
  }
  if (state.kind === "records-only")
    throw new UserError(
      `${out} holds records.jsonl without a manifest.json (a run's records); choose another --out so they are not overwritten`,
    );
  if (state.kind === "other") throw foreignDirectoryError(out, state.entries);
}
