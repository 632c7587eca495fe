#!/usr/bin/env node
// valuelens' build of node-llama-cpp's native addon with two more functions (native/valuelensLetters.cpp):
// `letterLogits` reads the logits of a few tokens plus the max, argmax and sum of exp over the
// whole vocabulary (letters in O(letters) on the JS side, no vocabulary-sized array, no sort),
// and `copySequence` copies KV cells between sequences (llama_memory_seq_cp).
//
// Run by `npm ci` / `npm install` (package.json "postinstall", after patch-node-llama-cpp.mjs).
// It compiles only the addon (about 20 small C++ files, a minute on 2 cores) with g++ against
// node-llama-cpp's own prebuilt llama.cpp libraries and the headers of the llama.cpp source
// node-llama-cpp ships (llama/gitRelease.bundle, the exact source of those libraries): no
// llama.cpp or CUDA compile, no download. Each installed prebuilt Linux variant (CPU, CUDA) is
// linked the same way; the upstream binary is kept beside it as `llama-addon.upstream.node`.
//
// Never fails the install: without a compiler, Node's headers, git or a known node-llama-cpp,
// it says so in one line and leaves the upstream addon; valuelens then reads letters through
// node-llama-cpp's full-vocabulary softmax (records say which: `letters.method`).
//
// Back to plain upstream: `node scripts/build-addon.mjs --restore` (puts every
// llama-addon.upstream.node back), or `npm ci --ignore-scripts && npm run build`.
// VALUELENS_NATIVE=0 skips the build.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const KNOWN_VERSION = "3.21.1";
const STAMP = ".valuelens-addon.json";
const UPSTREAM = "llama-addon.upstream.node";
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const nativeSource = path.join(root, "native", "valuelensLetters.cpp");

function say(line) {
  console.log(`valuelens: ${line}`);
}

function packageDir(name, from = root) {
  let dir = path.dirname(createRequire(path.join(from, "package.json")).resolve(name));
  while (
    !existsSync(path.join(dir, "package.json")) ||
    JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).name !== name
  ) {
    if (dir === path.dirname(dir)) throw new Error(`no package.json for ${name}`);
    dir = path.dirname(dir);
  }
  return dir;
}

/** The installed prebuilt variants of this machine's architecture whose addon can be rebuilt: CPU and CUDA (Vulkan's needs its SDK headers). */
function variantBinDirs(nlcDir) {
  const dirs = [];
  const scope = path.join(path.dirname(nlcDir), "@node-llama-cpp");
  const scopes = [scope, path.join(nlcDir, "node_modules", "@node-llama-cpp")];
  for (const s of scopes) {
    if (!existsSync(s)) continue;
    for (const name of readdirSync(s)) {
      if (name !== `linux-${process.arch}` && name !== `linux-${process.arch}-cuda`) continue;
      const bins = path.join(s, name, "bins", name);
      if (existsSync(path.join(bins, "llama-addon.node"))) dirs.push(bins);
    }
  }
  return dirs;
}

function restore(nlcDir) {
  for (const bins of variantBinDirs(nlcDir)) {
    const upstream = path.join(bins, UPSTREAM);
    if (!existsSync(upstream)) continue;
    renameSync(upstream, path.join(bins, "llama-addon.node"));
    rmSync(path.join(bins, STAMP), { force: true });
    rmSync(path.join(bins, ".valuelens-binary-test.json"), { force: true });
    say(`restored node-llama-cpp's own addon in ${path.relative(root, bins)}`);
  }
}

function nodeHeaders() {
  const candidates = [
    process.env.VALUELENS_NODE_HEADERS,
    path.join(path.dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter(Boolean);
  return candidates.find((d) => existsSync(path.join(d, "node_api.h")));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.slice(0, 3).join(" ")}...: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`,
    );
  return r.stdout;
}

/** NEEDED entries of an ELF file that live beside it (the llama.cpp libraries the addon links). */
function neededBeside(file) {
  const out = run("readelf", ["-d", file]);
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)]
    .map((m) => m[1])
    .filter((lib) => existsSync(path.join(path.dirname(file), lib)));
}

async function compileAll(jobs, parallel) {
  let next = 0;
  const { spawn } = await import("node:child_process");
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await new Promise((resolve, reject) => {
        const child = spawn(job.cmd, job.args, { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("close", (code) =>
          code === 0
            ? resolve()
            : reject(new Error(`${path.basename(job.source)}: ${err.trim().split("\n").slice(-3).join(" | ")}`)),
        );
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function main() {
  if (process.env.VALUELENS_NATIVE === "0") return say("VALUELENS_NATIVE=0: node-llama-cpp's own addon kept");
  let nlcDir;
  try {
    nlcDir = packageDir("node-llama-cpp");
  } catch {
    return say("node-llama-cpp is not installed; no addon to build");
  }
  if (process.argv.includes("--restore")) return restore(nlcDir);
  const fallback = "letters are read through node-llama-cpp's full-vocabulary softmax (slower, same numbers)";
  const version = JSON.parse(readFileSync(path.join(nlcDir, "package.json"), "utf8")).version;
  if (version !== KNOWN_VERSION)
    return say(
      `node-llama-cpp ${version} is not ${KNOWN_VERSION}, whose addon this build knows; addon not rebuilt: ${fallback}`,
    );
  if (process.platform !== "linux") return say(`addon rebuild is Linux-only here; ${fallback}`);
  const variants = variantBinDirs(nlcDir);
  if (variants.length === 0) return say(`no prebuilt Linux CPU/CUDA addon of node-llama-cpp found; ${fallback}`);
  const headers = nodeHeaders();
  if (!headers) return say(`Node's C headers (node_api.h) not found (set VALUELENS_NODE_HEADERS); ${fallback}`);
  const cxx = process.env.CXX || "g++";
  try {
    run(cxx, ["--version"]);
    run("git", ["--version"]);
    run("readelf", ["--version"]);
  } catch (err) {
    return say(`cannot build the addon (${err.message}); ${fallback}`);
  }
  const addonDir = path.join(nlcDir, "llama", "addon");
  const bundle = path.join(nlcDir, "llama", "gitRelease.bundle");
  const sources = [
    ...readdirSync(addonDir)
      .filter((f) => f.endsWith(".cpp"))
      .map((f) => path.join(addonDir, f)),
    ...readdirSync(path.join(addonDir, "globals"))
      .filter((f) => f.endsWith(".cpp"))
      .map((f) => path.join(addonDir, "globals", f)),
  ];
  const hash = createHash("sha256");
  for (const f of [...sources, nativeSource, fileURLToPath(import.meta.url)]) hash.update(readFileSync(f));
  hash.update(statSync(bundle).size.toString());
  hash.update(process.version + cxx);
  const digest = hash.digest("hex").slice(0, 16);

  const todo = variants.filter((bins) => {
    try {
      return JSON.parse(readFileSync(path.join(bins, STAMP), "utf8")).digest !== digest;
    } catch {
      return true;
    }
  });
  if (todo.length === 0) return;

  const work = path.join(nlcDir, "llama", ".valuelens-build");
  const started = Date.now();
  try {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    // The llama.cpp source of node-llama-cpp's prebuilt libraries: only its headers are used.
    run("git", ["clone", "-q", "--no-checkout", bundle, path.join(work, "llama.cpp")]);
    run("git", [
      "-C",
      path.join(work, "llama.cpp"),
      "checkout",
      "-q",
      "HEAD",
      "--",
      "include",
      "ggml/include",
      "common",
      "src",
      "vendor",
    ]);
    const addon = path.join(work, "addon");
    cpSync(addonDir, addon, { recursive: true });
    cpSync(nativeSource, path.join(addon, "valuelensLetters.cpp"));
    const addonCpp = path.join(addon, "addon.cpp");
    const anchor = "    AddonSampler::init(exports);\n";
    const text = readFileSync(addonCpp, "utf8");
    if (!text.includes(anchor) || !text.includes("Napi::Object registerCallback("))
      throw new Error("node-llama-cpp's addon.cpp is not the one this build knows");
    writeFileSync(
      addonCpp,
      text
        .replace(
          "Napi::Object registerCallback(",
          "void valuelensInit(Napi::Object exports);\n\nNapi::Object registerCallback(",
        )
        .replace(anchor, `${anchor}    valuelensInit(exports);\n`),
    );
    const napiInclude = packageDir("node-addon-api", nlcDir);
    const llamaSrc = path.join(work, "llama.cpp");
    const flags = [
      "-std=c++17",
      "-O3",
      "-fPIC",
      "-fexceptions",
      "-DNAPI_VERSION=7",
      "-DNDEBUG",
      "-Wno-psabi",
      `-I${napiInclude}`,
      `-I${headers}`,
      `-I${addon}`,
      `-I${llamaSrc}`,
      `-I${path.join(llamaSrc, "common")}`,
      `-I${path.join(llamaSrc, "include")}`,
      `-I${path.join(llamaSrc, "ggml", "include")}`,
      `-I${path.join(llamaSrc, "src")}`,
      `-I${path.join(llamaSrc, "vendor")}`,
    ];
    const objects = [];
    const jobs = [];
    for (const f of readdirSync(addon, { recursive: true })) {
      if (!String(f).endsWith(".cpp")) continue;
      const source = path.join(addon, String(f));
      const object = path.join(
        work,
        "obj",
        String(f)
          .replace(/[\\/]/g, "_")
          .replace(/\.cpp$/, ".o"),
      );
      objects.push(object);
      jobs.push({ source, cmd: cxx, args: [...flags, "-c", source, "-o", object] });
    }
    mkdirSync(path.join(work, "obj"), { recursive: true });
    say(`building node-llama-cpp's addon with valuelens' letter reader (${jobs.length} files, about a minute)...`);
    await compileAll(jobs, Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8)));

    for (const bins of todo) {
      const upstream = path.join(bins, UPSTREAM);
      const current = path.join(bins, "llama-addon.node");
      if (!existsSync(upstream)) cpSync(current, upstream);
      const libs = neededBeside(upstream);
      // Linked beside the libraries it needs ($ORIGIN), probed, then moved over the addon.
      const built = path.join(bins, "llama-addon.valuelens-new.node");
      run(cxx, [
        "-shared",
        "-o",
        built,
        ...objects,
        `-L${bins}`,
        ...libs.map((l) => `-l:${l}`),
        "-Wl,-rpath,$ORIGIN:$ORIGIN/../bin",
      ]);
      // The built addon must load wherever the upstream one loads (a CUDA build needs a driver).
      const probe = (file) =>
        spawnSync(
          process.execPath,
          [
            "-e",
            `const m={exports:{}};process.dlopen(m,${JSON.stringify(file)});console.log(JSON.stringify(m.exports.valuelens?m.exports.valuelens.features():null))`,
          ],
          { encoding: "utf8", timeout: 60_000 },
        );
      const upstreamLoads = probe(upstream).status === 0;
      const ours = probe(built);
      if (upstreamLoads && (ours.status !== 0 || !ours.stdout.includes("letterLogits/1"))) {
        rmSync(built, { force: true });
        throw new Error(
          `the built addon for ${path.basename(bins)} does not load: ${(ours.stderr || ours.stdout).trim().split("\n")[0]}`,
        );
      }
      renameSync(built, current);
      rmSync(path.join(bins, ".valuelens-binary-test.json"), { force: true });
      writeFileSync(path.join(bins, STAMP), JSON.stringify({ digest, built: new Date().toISOString() }) + "\n");
    }
    say(
      `node-llama-cpp's addon rebuilt with valuelens' letter reader for ${todo.map((b) => path.basename(b)).join(", ")} in ${((Date.now() - started) / 1000).toFixed(0)} s (upstream kept as ${UPSTREAM})`,
    );
  } catch (err) {
    say(`addon not rebuilt (${String(err.message ?? err).split("\n")[0]}); ${fallback}`);
  } finally {
    if (process.env.VALUELENS_KEEP_BUILD !== "1") rmSync(work, { recursive: true, force: true });
  }
}

await main();
