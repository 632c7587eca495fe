// Shared by the fault tests: one-line errors, spawned runs, and reading run directories.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, watch } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { deterministicPart, readRecords, type RunRecord } from "../../src/records/records.js";
import type { CliResult } from "../helpers/cli.js";

/** The tiny model on two countries of the sample: 90 questions, several seconds on a cold cache. */
export const SLICE = [
  "--model",
  "tiny",
  "--countries",
  "Nigeria,Germany",
  "--repeats",
  "3",
  "--seed",
  "11",
  "--progress",
  "quiet",
  "--bootstrap",
  "50",
];

/** The one line of a refused command (exit 1, no stack trace); checks each needle. */
export function oneLineError(r: CliResult, ...needles: (string | RegExp)[]): string {
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, `stderr was:\n${r.stderr}`).toHaveLength(1);
  expect(r.code, `stderr was:\n${r.stderr}`).toBe(1);
  const line = lines[0]!;
  expect(line).toMatch(/^valuelens: /);
  expect(line).not.toContain("internal error");
  for (const n of needles) {
    if (typeof n === "string") expect(line).toContain(n);
    else expect(line).toMatch(n);
  }
  return line;
}

export function recordsOf(dir: string): RunRecord[] {
  return readRecords(path.join(dir, "records.jsonl")).records;
}

export function deterministicOf(dir: string) {
  return recordsOf(dir).map(deterministicPart);
}

export function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Everything a spawned valuelens printed, and how it ended. */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/**
 * Resolves once `file` has at least `lines` lines; rejects if the child ends first. Woken by file
 * system events (a recursive watch on the run directory's parent, which exists before the run makes
 * the directory), not by polling.
 */
export function whenLines(file: string, lines: number, child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(path.dirname(path.dirname(file)), { recursive: true }, () => check());
    const done = () => {
      watcher.close();
      child.off("exit", early);
    };
    const check = () => {
      if (lineCount(file) < lines) return;
      done();
      resolve();
    };
    const early = (code: number | null) => {
      done();
      reject(new Error(`the run ended (exit ${code}) before ${file} had ${lines} lines`));
    };
    child.once("exit", early);
    check();
  });
}

const children: ChildProcess[] = [];

/** Remember a spawned valuelens, so that `killLeftovers` ends it when a test failed before it did. */
export function tracked(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

/** End the spawned processes still running (call in afterEach). */
export function killLeftovers(): void {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
