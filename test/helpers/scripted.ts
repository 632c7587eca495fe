// What a scripted backend in a test says about itself (a Backend's info), and how a test
// rewrites a file in place (same inode, no truncation), as a model swapped under a run.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import type { BackendInfo } from "../../src/backends/backend.js";

export const SCRIPTED_INFO: BackendInfo = {
  engine: "scripted",
  engineVersion: "1",
  model: { name: "s", sha256: "s" },
  outputOptions: {},
  otherOptions: {},
  chatWrapper: "none",
  reasoning: "none",
  hardware: {},
};

/**
 * `target` given `source`'s bytes in place: the same inode, written over without truncating it
 * first (plain cp truncates, and a mapped file that shrinks kills its reader with SIGBUS).
 */
export function rewriteInPlace(target: string, source: string): void {
  const bytes = readFileSync(source);
  const fd = openSync(target, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * A test that edits a run's records.jsonl on purpose (to make a state to test) drops the
 * manifest's digest of the records valuelens wrote, which readers otherwise check (runs/load.ts).
 */
export function dropRecordsDigest(dir: string): void {
  const file = `${dir}/manifest.json`;
  const { records: _digest, ...manifest } = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}
