/**
 * `valuelens compare`, whatever the suite: the runs (loaded by ./load.ts) must belong to one
 * suite, which compares them (`Suite.compare`, src/suites/compare.ts).
 */
import { suiteOf, SUITES } from "../suites/registry.js";
import type { CompareInput, CompareOptions, Comparison } from "../suites/compare.js";
import { UserError } from "../util/errors.js";
import { checkComparability, loadRun, runLabels, type LoadedRun } from "./load.js";

/** What a suite's comparison is given: the runs, their labels and the engine's comparability check. */
export function compareInput(runs: readonly LoadedRun[], options: CompareOptions = {}): CompareInput {
  return {
    runs,
    labels: runLabels(runs),
    checkComparability: (opts) => checkComparability(runs, opts),
    options,
  };
}

/**
 * Compare loaded runs through their suite. Runs of different suites are a one-line UserError
 * naming the first run of each (the suite registered later first, so the message reads the same
 * whichever order the runs are given in).
 */
export function compareRuns(runs: readonly LoadedRun[], options: CompareOptions = {}): Comparison {
  const suites = runs.map((r) => suiteOf(r.manifest.config));
  const present = SUITES.filter((s) => suites.includes(s)).reverse();
  if (present.length > 1) {
    const [a, b] = present.map((s) => runs[suites.indexOf(s)]!);
    const [sa, sb] = present;
    throw new UserError(
      `${a!.dir} is a ${sa!.runNoun} run (${a!.manifest.config.protocol} protocol) and ${b!.dir} a ${sb!.runNoun} run (${b!.manifest.config.protocol} protocol); compare runs of one suite only`,
    );
  }
  const suite = suites[0];
  if (suite === undefined) throw new UserError("compare needs at least two run directories");
  return suite.compare(compareInput(runs, options));
}

/** Load run directories (./load.ts) and compare them; see `compareRuns`. */
export function compareDirs(dirs: readonly string[], options: CompareOptions = {}): Comparison {
  return compareRuns(
    dirs.map((d) => loadRun(d)),
    options,
  );
}
