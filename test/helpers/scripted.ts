// What a scripted backend in a test says about itself (a Backend's info), and how a test
// rewrites a file in place (same inode, no truncation), as a model swapped under a run.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
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
