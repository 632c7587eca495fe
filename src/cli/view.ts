/**
 * `valuelens view DIR`: the path of a run's report.html (or a comparison's compare.html),
 * written first when it is missing or older than metrics.json / report.md (from those files and
 * the records, which it leaves as they are); `--serve` serves the directory on a loopback port.
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { Command } from "commander";
import { loadRunDirectory, requireRunDirectory } from "../runs/load.js";
import { withRunLock } from "../runs/lock.js";
import { REPORT_HTML, reportHtmlStale, writeRunHtml } from "../runs/html.js";
import { suiteOf } from "../suites/registry.js";
import { UserError } from "../util/errors.js";
import { intOption } from "./common.js";

interface ViewFlags {
  serve?: boolean;
  port: number;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".json": "application/json",
  ".jsonl": "application/x-ndjson",
  ".svg": "image/svg+xml",
  ".pdf": "application/pdf",
  ".csv": "text/csv; charset=utf-8",
  ".png": "image/png",
};

/** report.html of a run directory, written when missing or stale; or compare.html of a compare --out directory. */
export async function pageOf(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const compare = path.join(abs, "compare.html");
  if (!existsSync(path.join(abs, "manifest.json")) && existsSync(compare)) return compare;
  requireRunDirectory(abs);
  const file = path.join(abs, REPORT_HTML);
  if (!reportHtmlStale(abs)) return file;
  const metricsFile = path.join(abs, "metrics.json");
  const reportFile = path.join(abs, "report.md");
  if (!existsSync(metricsFile) || !existsSync(reportFile)) {
    throw new UserError(
      `${dir} has no metrics.json or report.md yet: run valuelens report ${dir} (it writes report.html too)`,
    );
  }
  await withRunLock(abs, { advice: "wait for it to finish, then run valuelens view again" }, async () => {
    const run = loadRunDirectory(abs);
    const metrics = JSON.parse(readFileSync(metricsFile, "utf8")) as object;
    // the notes `valuelens report` adds (how the records were read)
    const notes = [...run.notes.map((n) => `${n}.`), ...(run.unchecked ? [run.unchecked] : [])];
    const manifest = notes.length ? { ...run.manifest, notes: [...run.manifest.notes, ...notes] } : run.manifest;
    const suite = suiteOf(manifest.config);
    await writeRunHtml(abs, {
      manifest,
      metrics,
      records: run.records,
      figures: suite.figures(metrics, run.records, run.manifest),
      markdown: readFileSync(reportFile, "utf8"),
    });
  });
  return file;
}

/** Serves `dir` on host:port (0: a free port) until the process is stopped; resolves with the server's URL. */
export function serveDirectory(dir: string, port: number, host = "127.0.0.1") {
  const root = path.resolve(dir);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400).end("bad path\n");
      return;
    }
    const file = path.resolve(root, `.${rel === "/" ? `/${REPORT_HTML}` : rel}`);
    if (file !== root && !file.startsWith(root + path.sep)) {
      res.writeHead(403).end("outside the directory\n");
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    createReadStream(file).pipe(res);
  });
  return new Promise<{ server: typeof server; url: string }>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === "object" && addr ? addr.port : port;
      resolve({ server, url: `http://${host}:${p}/` });
    });
  });
}

export function viewCommand(): Command {
  return new Command("view")
    .description(
      "print the path of a run's report.html (written first when missing or stale), or serve the directory on a loopback port",
    )
    .argument("<dir>", "run directory (or a compare --out directory)")
    .option("--serve", "serve the directory over HTTP on 127.0.0.1 until Ctrl-C, and print the page's URL")
    .option("--port <n>", "port of --serve (0: a free port)", intOption("--port"), 0)
    .addHelpText(
      "after",
      `
Examples:
  valuelens view runs/gemma-q8                 # prints runs/gemma-q8/report.html; open it in a browser
  valuelens view runs/gemma-q8 --serve         # http://127.0.0.1:<free port>/report.html until Ctrl-C
  valuelens view runs/cmp --serve --port 8080  # a compare --out directory: compare.html`,
    )
    .action(async (dir: string, flags: ViewFlags) => {
      const page = await pageOf(dir);
      if (!flags.serve) {
        process.stdout.write(`${page}\n`);
        return;
      }
      if (flags.port > 65535) throw new UserError(`--port must be at most 65535 (got ${flags.port})`);
      let served: Awaited<ReturnType<typeof serveDirectory>>;
      try {
        served = await serveDirectory(path.dirname(page), flags.port);
      } catch (err) {
        throw new UserError(`cannot serve on 127.0.0.1:${flags.port}: ${(err as Error).message}`);
      }
      process.stdout.write(`${served.url}${path.basename(page)}\n`);
      process.stderr.write("serving; press Ctrl-C to stop\n");
      await new Promise<void>((resolve) => {
        const stop = () => {
          served.server.close();
          served.server.closeAllConnections();
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
