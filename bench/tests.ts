/**
 * How long `npm test` takes, step by step, file by file and test by test.
 *
 *   node --import tsx bench/tests.ts [--label after]          runs npm test's steps, timed
 *   node --import tsx bench/tests.ts --json FILE [--label L]  summarises a vitest JSON report
 *
 * Without --json it runs what `npm test` runs (package.json), each step timed: `npm run build`,
 * `npm run typecheck`, `npm run lint`, then `vitest run` with vitest's JSON reporter beside the
 * default one. With --json it reads a report vitest wrote elsewhere
 * (`npx vitest run --reporter=default --reporter=json --outputFile.json=FILE`).
 *
 * Prints the ten slowest files and the totals, and writes bench/results/tests.json: one entry
 * per label (other labels are kept, so "before" stays beside "after"), with every file's and
 * every test's duration.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = path.join(ROOT, "bench", "results", "tests.json");

/** The part of vitest's JSON report read here. */
const Report = z.object({
  startTime: z.number(),
  numTotalTests: z.number(),
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  numPendingTests: z.number(),
  testResults: z.array(
    z.object({
      name: z.string(),
      startTime: z.number(),
      endTime: z.number(),
      assertionResults: z.array(
        z.object({
          fullName: z.string(),
          status: z.string(),
          duration: z.number().nullish(),
          tags: z.array(z.string()).optional(),
        }),
      ),
    }),
  ),
});
type Report = z.infer<typeof Report>;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export interface FileTime {
  file: string;
  seconds: number;
  tests: number;
}

/** The summary of one vitest report: wall time, files by duration, every test's duration. */
export function summarise(report: Report, root: string = ROOT) {
  const rel = (f: string) => path.relative(root, f).split(path.sep).join("/");
  const files: FileTime[] = report.testResults
    .map((f) => ({ file: rel(f.name), seconds: seconds(f.endTime - f.startTime), tests: f.assertionResults.length }))
    .sort((a, b) => b.seconds - a.seconds || a.file.localeCompare(b.file));
  const end = Math.max(...report.testResults.map((f) => f.endTime));
  const fidelity = report.testResults.flatMap((f) => f.assertionResults.filter((a) => a.tags?.includes("fidelity")));
  return {
    vitestSeconds: seconds(end - report.startTime),
    /** Time spent inside test files, added over the files (more than the wall time when files run side by side). */
    fileSeconds: seconds(files.reduce((s, f) => s + f.seconds * 1000, 0)),
    files: files.length,
    tests: {
      total: report.numTotalTests,
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      skipped: report.numPendingTests,
    },
    fidelity: {
      ran: fidelity.filter((a) => a.status === "passed" || a.status === "failed").length,
      skipped: fidelity.filter((a) => a.status !== "passed" && a.status !== "failed").length,
    },
    slowestFiles: files.slice(0, 10),
    perFile: files,
    /** [file, test, milliseconds], slowest first. */
    perTest: report.testResults
      .flatMap((f) =>
        f.assertionResults.map(
          (a) => [rel(f.name), a.fullName, Math.round(a.duration ?? 0)] as [string, string, number],
        ),
      )
      .sort((a, b) => b[2] - a[2]),
  };
}

/** JSON indented by one space, with each object or array of plain values on one line (one file or test a line). */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(
    /([[{])\n\s*([^[\]{}]*?)\n\s*([\]}])/g,
    (_m, open: string, body: string, close: string) => `${open}${body.replace(/\n\s*/g, " ")}${close}`,
  );
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs an npm script (or vitest), timed; exits if it fails. */
function timed(label: string, command: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(command, args, { cwd: ROOT, stdio: "inherit", env: process.env });
  const s = seconds(performance.now() - t0);
  console.log(`bench/tests: ${label} took ${s} s (exit ${r.status})`);
  if (r.status !== 0 && label !== "vitest") process.exit(r.status ?? 1);
  return s;
}

function main(): void {
  const label = arg("--label") ?? "after";
  let jsonFile = arg("--json");
  const steps: Record<string, number> = {};
  if (!jsonFile) {
    jsonFile = path.join(mkdtempSync(path.join(os.tmpdir(), "vl-bench-tests-")), "vitest.json");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    steps.build = timed("npm run build", npm, ["run", "build"]);
    steps.typecheck = timed("npm run typecheck", npm, ["run", "typecheck"]);
    steps.lint = timed("npm run lint", npm, ["run", "lint"]);
    steps.vitest = timed("vitest", process.execPath, [
      path.join(ROOT, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${jsonFile}`,
    ]);
  }
  if (!existsSync(jsonFile)) throw new Error(`no vitest JSON report at ${jsonFile}`);
  const summary = summarise(Report.parse(JSON.parse(readFileSync(jsonFile, "utf8"))));
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
  const entry = {
    date: new Date().toISOString(),
    commit,
    machine: {
      cpus: os.availableParallelism(),
      cpu: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    },
    ...(Object.keys(steps).length > 0
      ? { steps, npmTestSeconds: seconds(Object.values(steps).reduce((a, b) => a + b, 0) * 1000) }
      : {}),
    ...summary,
  };
  const all = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as Record<string, unknown>) : {};
  all[label] = entry;
  writeFileSync(RESULTS, compactJson(all) + "\n");
  console.log(
    `\n${label}: vitest ${summary.vitestSeconds} s wall, ${summary.fileSeconds} s in files, ${summary.files} files, ${summary.tests.total} tests (${summary.tests.passed} passed, ${summary.tests.failed} failed, ${summary.tests.skipped} skipped), fidelity ${summary.fidelity.ran} ran, ${summary.fidelity.skipped} skipped`,
  );
  if (entry.npmTestSeconds !== undefined) console.log(`npm test: ${entry.npmTestSeconds} s (${JSON.stringify(steps)})`);
  console.log("slowest files:");
  for (const f of summary.slowestFiles)
    console.log(`  ${String(f.seconds).padStart(7)} s  ${f.file} (${f.tests} tests)`);
  const ten = summary.slowestFiles.reduce((s, f) => s + f.seconds, 0);
  console.log(
    `  ${seconds(ten * 1000)} s in these ten; written to ${path.relative(process.cwd(), RESULTS)} as "${label}"`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
