// A real llama-server for tests: the prebuilt one in ../shared/bin/llama-server (CI always has
// it; elsewhere tests skip with one loud line), started on a free port with a given GGUF.
import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import { PROJECT_ROOT, TEST_THREADS } from "./models.js";
import { SHARED } from "./shared.js";

export const SHARED_LLAMA_SERVER_DIR = SHARED.llamaServerDir;

/**
 * A runnable copy of the prebuilt server under .cache/llama-server/. The shared folder's library
 * links (libX.so.0 -> libX.so.0.N) may arrive as small text files naming their target; the copy
 * makes them links again. Undefined when the prebuilt server is not there.
 */
export function llamaServerBinary(): string | undefined {
  const fromEnv = process.env.VALUELENS_LLAMA_SERVER;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const source = path.join(SHARED_LLAMA_SERVER_DIR, "llama-server");
  if (!existsSync(source)) return undefined;
  const dir = path.join(PROJECT_ROOT, ".cache", "llama-server");
  const binary = path.join(dir, "llama-server");
  const stamp = path.join(dir, ".source-mtime");
  const mtime = String(statSync(source).mtimeMs);
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, "utf8") === mtime) return binary;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(SHARED_LLAMA_SERVER_DIR)) {
    const from = path.join(SHARED_LLAMA_SERVER_DIR, name);
    const st = statSync(from);
    if (!st.isFile()) continue;
    const target = st.size < 256 ? readFileSync(from, "utf8").trim() : "";
    if (target && /^[\w.+-]+$/.test(target) && existsSync(path.join(SHARED_LLAMA_SERVER_DIR, target))) {
      symlinkSync(target, path.join(dir, name));
    } else {
      copyFileSync(from, path.join(dir, name));
      chmodSync(path.join(dir, name), 0o755);
    }
  }
  copyFileSync(source, binary);
  chmodSync(binary, 0o755);
  // Written last: a copy interrupted halfway is redone.
  writeFileSync(stamp, mtime);
  return binary;
}

/** Skip message for tests that need the server. */
export const NO_LLAMA_SERVER = `SKIPPED: no llama-server at ${SHARED_LLAMA_SERVER_DIR} (CI has one; set VALUELENS_LLAMA_SERVER to a llama-server binary to run these tests)`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  url: string;
  process: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts llama-server with a model (flash attention off, as the embedded backend's default;
 * TEST_THREADS threads; one slot unless told otherwise) and waits until it answers /health.
 */
export async function startLlamaServer(
  model: string,
  opts: { slots?: number; ctx?: number; args?: string[]; port?: number } = {},
): Promise<RunningServer> {
  const binary = llamaServerBinary();
  if (!binary) throw new Error(NO_LLAMA_SERVER);
  const port = opts.port ?? (await freePort());
  const args = [
    "-m",
    model,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "-fa",
    "off",
    "-t",
    String(TEST_THREADS),
    "-np",
    String(opts.slots ?? 1),
    "-c",
    String((opts.ctx ?? 4096) * (opts.slots ?? 1)),
    "--no-webui",
    ...(opts.args ?? []),
  ];
  // The server's log goes to a file, not a pipe: a test that blocks on spawnSync (a CLI run against
  // this server) would otherwise stop reading the pipe, and the server would block writing to it.
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), "vl-llama-server-")), "server.log");
  const fd = openSync(logFile, "w");
  const child = spawn(binary, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const output = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`llama-server exited with ${child.exitCode}:\n${output().slice(-2000)}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`llama-server did not become healthy in 120 s:\n${output().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    log: output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5000).unref();
      }),
  };
}
