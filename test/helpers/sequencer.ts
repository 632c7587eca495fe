// The order test files start in: longest first, by the durations measured last and committed in
// bench/results/tests.json (`bench/tests.ts` writes it), so that with two files at a time the
// long ones (a family's stand-in against llama-server, the predict lifecycle) start early and no
// long file is left running alone at the end. vitest's own order uses a duration cache that a
// clean clone (CI) does not have, and falls back to file size. Files not measured yet go first.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const RESULTS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "bench",
  "results",
  "tests.json",
);

/** Seconds per test file (project-relative path), from the newest entry of bench/results/tests.json. */
export function measuredDurations(file: string = RESULTS): Map<string, number> {
  if (!existsSync(file)) return new Map();
  const all = JSON.parse(readFileSync(file, "utf8")) as Record<
    string,
    { date?: string; perFile?: { file: string; seconds: number }[] }
  >;
  const newest = Object.values(all)
    .filter((e) => e.perFile && e.date)
    .sort((a, b) => (b.date ?? "").localeCompare(a.date ?? ""))[0];
  return new Map((newest?.perFile ?? []).map((f) => [f.file, f.seconds]));
}

export class DurationSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = measuredDurations();
    const root = this.ctx.config.root;
    const of = (spec: TestSpecification) =>
      seconds.get(path.relative(root, spec.moduleId).split(path.sep).join("/")) ?? Number.POSITIVE_INFINITY;
    return [...files].sort((a, b) => of(b) - of(a));
  }
}
