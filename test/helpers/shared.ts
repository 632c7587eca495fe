// ../shared holds what the fidelity tests check against: the byte-exact prompt vectors and
// values.json (protocol/), the released VIA CSV (datasets/via/), the paper's released model
// outputs (released-outputs/) and the prebuilt llama-server (bin/llama-server/). CI always has it;
// elsewhere those tests skip, loudly.
//
// One mechanism for every such test: a describe/it that needs ../shared passes FIDELITY as its
// options (the vitest tag "fidelity", declared in vitest.config.ts) and skips with
// `skipIf(!haveShared(...))`. The fidelity reporter (test/helpers/fidelityReporter.ts) counts the
// tagged tests that ran and those skipped, and says so in the summary of every run.
// `npx vitest run --tags-filter fidelity` runs only them.
//
// This file imports nothing from src/: the reporter loads it in vitest's main process.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The shared folder: <project>/../shared, or $VALUELENS_SHARED_DIR (read by the tests only; e.g.
 * point it at a missing folder to see what a run without ../shared skips).
 */
export const SHARED_DIR = process.env.VALUELENS_SHARED_DIR
  ? path.resolve(process.env.VALUELENS_SHARED_DIR)
  : path.resolve(PROJECT_ROOT, "..", "shared");

/** The vitest tag of the tests that need ../shared. */
export const FIDELITY_TAG = "fidelity";

/** Test options of a describe/it that needs ../shared: `describe.skipIf(!have)("name", FIDELITY, () => ...)`. */
export const FIDELITY = { tags: [FIDELITY_TAG] };

/** A path inside ../shared. */
export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/** The files of ../shared the tests read. */
export const SHARED = {
  values: sharedPath("protocol", "values.json"),
  promptVectors: sharedPath("protocol", "prompt-vectors.json"),
  viaCsv: sharedPath("datasets", "via", "value_action_gap_full_data_generation.csv"),
  releasedOutputs: sharedPath("released-outputs"),
  llamaServerDir: sharedPath("bin", "llama-server"),
};

/**
 * Whether every path exists. If one does not, prints one line saying which fidelity checks are
 * skipped and why: `haveShared("datasets.test", "the checks on the released VIA CSV", SHARED.viaCsv)`.
 */
export function haveShared(who: string, skipping: string, ...paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  console.warn(
    `SKIPPED [${who}] ${missing.join(", ")} not found: skipping ${skipping} (fidelity tests against ../shared)`,
  );
  return false;
}
