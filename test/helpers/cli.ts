// Run the valuelens command as a user runs it: the package's bin (bin/valuelens.js -> dist/).
// dist/ is current: `npm test` builds it first, and vitest's globalSetup (test/helpers/globalSetup.ts)
// compiles it again when a source file is newer than its output. (Through tsx instead, every
// command took about a second more to start.)
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT, TEST_CACHE_ROOT } from "./models.js";

/** The command's entry point, as `valuelens` runs it. */
export const VALUELENS_BIN = path.join(PROJECT_ROOT, "bin", "valuelens.js");
const NODE_ARGS = [VALUELENS_BIN];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `valuelens ...args` to completion. */
export function valuelens(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    // Tests use the shipped sample unless they pass --via, even where the full VIA was fetched,
    // and the project's cache root (never the user's ~/.cache) unless opts.env says otherwise.
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: TEST_CACHE_ROOT, ...opts.env },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start `valuelens ...args` in the background (to kill it mid-run). */
export function valuelensSpawn(args: string[], opts: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: TEST_CACHE_ROOT },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Run `valuelens ...args` to completion without blocking this process: for tests whose loopback
 * servers run in the test process (a blocking spawnSync would stop them from answering).
 */
export function valuelensAsync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", VALUELENS_CACHE_DIR: TEST_CACHE_ROOT, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
