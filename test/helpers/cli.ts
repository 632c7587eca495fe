// Run the valuelens command from source (node + tsx), as a user would run the built bin.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "./models.js";

const ENTRY = path.join(PROJECT_ROOT, "src", "cli", "main.ts");
const NODE_ARGS = ["--import", "tsx", ENTRY];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `valuelens ...args` to completion. */
export function valuelens(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    // Tests use the shipped sample unless they pass --via, even where the full VIA was fetched.
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample", ...opts.env },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start `valuelens ...args` in the background (to kill it mid-run). */
export function valuelensSpawn(args: string[], opts: { cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, CI: "1", VALUELENS_VIA: "sample" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
