// Files of the exact llama.cpp source that node-llama-cpp embeds, read from the git bundle
// node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle): vocabularies
// (models/ggml-vocab-*.gguf with their .inp/.out tokenizer tests), chat templates
// (models/templates/*.jinja), sources.
//
// The bundle is cloned once (bare) to <root>/.cache/llama.cpp/<commit>.git and each file is
// extracted once to <root>/.cache/llama.cpp/<commit>/<path> (or <cacheDir>/... when given). Both steps write to a temporary
// name and rename it into place, so concurrent callers are safe. Needs `git` on the PATH.

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, posix, resolve } from "node:path";
import { UserError } from "../util/errors.js";

export interface LlamaCppSourceOptions {
  /** Project root: the cache is `<root>/.cache/llama.cpp` (default: the working directory). */
  root?: string;
  /** The cache directory itself, instead of `<root>/.cache/llama.cpp` (the CLI: `<cache root>/llama.cpp`). */
  cacheDir?: string;
  /** The git bundle (default: node-llama-cpp's llama/gitRelease.bundle). */
  bundle?: string;
  /** The git executable (default: `git` on the PATH). */
  git?: string;
}

/** The directory of the installed node-llama-cpp package. */
function nodeLlamaCppDir(): string {
  const entry = createRequire(import.meta.url).resolve("node-llama-cpp");
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "node-llama-cpp") return dir;
      } catch {
        // not the package's own package.json; keep looking
      }
    }
  }
  throw new UserError(
    `cannot find the node-llama-cpp package directory (from ${entry}); reinstall dependencies with \`npm ci\``,
  );
}

/** Path of node-llama-cpp's llama.cpp source bundle (it may not exist: check before use). */
export function llamaCppBundlePath(): string {
  return join(nodeLlamaCppDir(), "llama", "gitRelease.bundle");
}

/** The environment for git, without variables that would point it at another repository. */
function gitEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
  ]) {
    delete env[k];
  }
  return env;
}

const GIT_MISSING = (git: string) =>
  `cannot run \`${git}\`: git is needed to read llama.cpp's tokenizers and chat templates from node-llama-cpp's source bundle; install git (or put it on the PATH)`;

/** Runs git and returns its stdout; throws a one-line error with git's stderr on failure. */
function gitSync(git: string, args: string[]): string {
  const r = spawnSync(git, args, { env: gitEnv(), encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT") throw new UserError(GIT_MISSING(git));
    throw new UserError(`\`git ${args[0]}\` failed: ${r.error.message}`);
  }
  if (r.status !== 0)
    throw new UserError(`\`git ${args.join(" ")}\` failed: ${firstLine(r.stderr) || `exit status ${r.status}`}`);
  return r.stdout;
}

function firstLine(text: string | undefined): string {
  return (text ?? "").trim().split("\n")[0]!.trim();
}

interface Resolved {
  git: string;
  bundle: string;
  commit: string;
  cacheDir: string;
}

/** Bundle commit by git executable and bundle path (a bundle's head does not change while we run). */
const commitMemo = new Map<string, string>();

function resolveSource(opts: LlamaCppSourceOptions): Resolved {
  const git = opts.git ?? "git";
  const bundle = resolve(opts.bundle ?? llamaCppBundlePath());
  if (!existsSync(bundle)) {
    throw new UserError(
      `llama.cpp source bundle not found: ${bundle}; reinstall node-llama-cpp (\`npm ci\`), which ships it`,
    );
  }
  const memoKey = `${git}\u0000${bundle}`;
  let commit = commitMemo.get(memoKey);
  if (!commit) {
    // The head of the bundle names the commit (reads the bundle header only: fast).
    const heads = gitSync(git, ["bundle", "list-heads", bundle]);
    commit = /^([0-9a-f]{40})\s/m.exec(heads)?.[1];
    if (!commit)
      throw new UserError(
        `${bundle}: not a git bundle with a commit (git bundle list-heads printed ${JSON.stringify(firstLine(heads))}); reinstall node-llama-cpp`,
      );
    commitMemo.set(memoKey, commit);
  }
  const cacheDir =
    opts.cacheDir !== undefined
      ? resolve(opts.cacheDir)
      : join(resolve(opts.root ?? process.cwd()), ".cache", "llama.cpp");
  return { git, bundle, commit, cacheDir };
}

/** The llama.cpp commit of the bundle (the version of llama.cpp node-llama-cpp runs). */
export function llamaCppSourceCommit(opts: LlamaCppSourceOptions = {}): string {
  return resolveSource(opts).commit;
}

const tmpSuffix = () => `.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;

/** `<cache>/<commit>.git`, cloned from the bundle if missing. */
async function ensureClone(s: Resolved): Promise<string> {
  const repo = join(s.cacheDir, `${s.commit}.git`);
  if (existsSync(join(repo, "HEAD"))) return repo;
  await mkdir(s.cacheDir, { recursive: true });
  const tmp = repo + tmpSuffix();
  try {
    gitSync(s.git, ["clone", "--bare", "--quiet", s.bundle, tmp]);
    await rename(tmp, repo).catch(async (err: NodeJS.ErrnoException) => {
      // Another process cloned it first.
      if (!existsSync(join(repo, "HEAD"))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return repo;
}

/** Streams `git cat-file blob <commit>:<path>` into `file`. */
async function catFile(s: Resolved, repo: string, relPath: string, file: string): Promise<void> {
  const fh = await open(file, "w");
  try {
    await new Promise<void>((ok, fail) => {
      const child = spawn(s.git, ["-C", repo, "cat-file", "blob", `${s.commit}:${relPath}`], {
        env: gitEnv(),
        stdio: ["ignore", fh.fd, "pipe"],
      });
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (err: NodeJS.ErrnoException) =>
        fail(err.code === "ENOENT" ? new UserError(GIT_MISSING(s.git)) : err),
      );
      child.on("close", (code) => {
        if (code === 0) ok();
        else if (/does not exist|not a valid object|bad revision|invalid object name/i.test(stderr)) {
          fail(
            new UserError(`llama.cpp ${s.commit.slice(0, 12)} (node-llama-cpp's source bundle) has no file ${relPath}`),
          );
        } else
          fail(new UserError(`\`git cat-file\` failed for ${relPath}: ${firstLine(stderr) || `exit status ${code}`}`));
      });
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The local path of `relPath` (e.g. `models/templates/google-gemma-2-2b-it.jinja`) in the
 * llama.cpp source that node-llama-cpp runs, extracted from the bundle on first use.
 * Throws a one-line UserError if git or the bundle is missing, or the file is not there.
 */
export async function llamaCppSourceFile(relPath: string, opts: LlamaCppSourceOptions = {}): Promise<string> {
  const clean = posix.normalize(relPath.replace(/\\/g, "/"));
  if (clean.startsWith("/") || clean === ".." || clean.startsWith("../") || clean === ".") {
    throw new UserError(
      `llama.cpp source path must be relative to the repository root, got ${JSON.stringify(relPath)}`,
    );
  }
  const s = resolveSource(opts);
  const file = join(s.cacheDir, s.commit, ...clean.split("/"));
  if (existsSync(file)) return file;
  const repo = await ensureClone(s);
  await mkdir(dirname(file), { recursive: true });
  const tmp = file + tmpSuffix();
  try {
    await catFile(s, repo, clean, tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** The text (UTF-8) of a llama.cpp source file; see llamaCppSourceFile. */
export async function llamaCppSourceText(relPath: string, opts: LlamaCppSourceOptions = {}): Promise<string> {
  return readFile(await llamaCppSourceFile(relPath, opts), "utf8");
}
