#!/usr/bin/env node
// `make cuda`: llama.cpp's CUDA backend (libggml-cuda.so) compiled with nvcc for this machine's
// GPU, from the exact llama.cpp source node-llama-cpp ships (llama/gitRelease.bundle, with its
// patches), no download. It replaces the prebuilt one in @node-llama-cpp/linux-x64-cuda (kept
// beside it as libggml-cuda.upstream.so); node-llama-cpp loads backends as modules
// (GGML_BACKEND_DL), so nothing else changes.
//
// Why: node-llama-cpp 3.21.1's prebuilt carries compiled code for sm_86, sm_89, sm_120a and
// sm_121a only, plus PTX that needs a CUDA 13.1 driver; an H100/H200 (sm_90) with a CUDA 13.0
// driver cannot run it (valuelens refuses before loading: src/backends/cuda.ts).
//
// Usage: node scripts/build-cuda.mjs [--arch 90] [--jobs N] [--restore]
//   --arch: compute capability x 10 (default: the first GPU's, from nvidia-smi); CUDA_ARCH works too.
//   --restore: put node-llama-cpp's own libggml-cuda.so back.
// Needs: nvcc (CUDA 13, as the prebuilt's runtime), cmake, g++, git. About 10-30 minutes on 16 cores.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    arch: { type: "string", default: process.env.CUDA_ARCH || undefined },
    jobs: { type: "string", default: String(os.availableParallelism?.() ?? os.cpus().length) },
    restore: { type: "boolean", default: false },
  },
});

function fail(line) {
  console.error(`make cuda: ${line}`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  console.log(`$ ${cmd} ${argv.join(" ")}`);
  const r = spawnSync(cmd, argv, { stdio: "inherit", ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} failed (exit ${r.status})`);
}

const nlc = path.join(root, "node_modules", "node-llama-cpp");
const bins = path.join(root, "node_modules", "@node-llama-cpp", "linux-x64-cuda", "bins", "linux-x64-cuda");
const target = path.join(bins, "libggml-cuda.so");
const upstream = path.join(bins, "libggml-cuda.upstream.so");

if (args.restore) {
  if (!existsSync(upstream)) fail(`nothing to restore: ${path.relative(root, upstream)} does not exist`);
  renameSync(upstream, target);
  console.log(`restored node-llama-cpp's own ${path.relative(root, target)}`);
  process.exit(0);
}
if (process.platform !== "linux" || process.arch !== "x64")
  fail("builds the CUDA backend of node-llama-cpp's linux-x64-cuda prebuilt only");
if (!existsSync(path.join(bins, "libggml-base.so")))
  fail(
    `${path.relative(root, bins)} not found: node-llama-cpp's CUDA prebuilt is not installed (npm ci installs it on linux x64)`,
  );

let arch = args.arch;
if (!arch) {
  const smi = spawnSync("nvidia-smi", ["--query-gpu=compute_cap", "--format=csv,noheader"], { encoding: "utf8" });
  const cc = smi.status === 0 ? smi.stdout.trim().split("\n")[0]?.trim() : undefined;
  if (!cc || !/^\d+\.\d+$/.test(cc))
    fail("no GPU found by nvidia-smi: say which with --arch 90 (compute capability x 10) or CUDA_ARCH=90");
  arch = cc.replace(".", "");
}
if (!/^\d{2,3}a?$/.test(arch)) fail(`--arch ${arch}: expected a compute capability x 10, such as 90 or 120a`);
for (const tool of ["nvcc", "cmake", "git"]) {
  if (spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0)
    fail(`${tool} not found${tool === "nvcc" ? " (install the CUDA 13 toolkit, or put its bin/ on PATH)" : ""}`);
}
const nvcc = spawnSync("nvcc", ["--version"], { encoding: "utf8" }).stdout;
const release = /release (\d+)\.(\d+)/.exec(nvcc);
if (release && release[1] !== "13")
  fail(
    `nvcc is CUDA ${release[1]}.${release[2]}; node-llama-cpp's prebuilt links CUDA 13's runtime (libcudart.so.13): use a CUDA 13 toolkit`,
  );

// ggml-cuda links cuBLAS: its headers must be there (a minimal toolkit install lacks them).
const nvccDir = path.dirname(
  realpathSync(spawnSync("sh", ["-c", "command -v nvcc"], { encoding: "utf8" }).stdout.trim()),
);
const includeDirs = [
  process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, "include"),
  path.join(nvccDir, "..", "include"),
  path.join(nvccDir, "..", "targets", "x86_64-linux", "include"),
  ...readdirSync("/usr/local")
    .filter((d) => d.startsWith("cuda"))
    .flatMap((d) => [
      path.join("/usr/local", d, "include"),
      path.join("/usr/local", d, "targets", "x86_64-linux", "include"),
    ]),
  "/usr/include",
].filter(Boolean);
if (!includeDirs.some((d) => existsSync(path.join(d, "cublas_v2.h"))))
  fail(
    `cuBLAS headers (cublas_v2.h) not found beside nvcc (${includeDirs.join(", ")}): install the toolkit's cuBLAS, e.g. NVIDIA's libcublas-dev-13-0 package, or the full CUDA 13 toolkit`,
  );

const work = path.join(root, ".cache", "cuda-build");
const src = path.join(work, "src");
const build = path.join(work, `build-sm${arch}`);
rmSync(src, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
run("git", ["clone", "-q", path.join(nlc, "llama", "gitRelease.bundle"), src]);
// node-llama-cpp's own patches of that source, as its prebuilt libraries have them.
const patches = path.join(nlc, "llama", "patches");
for (const patch of existsSync(patches)
  ? readdirSync(patches)
      .filter((f) => f.endsWith(".diff"))
      .sort()
  : [])
  run("git", ["-C", src, "apply", path.join(patches, patch)]);
run("cmake", [
  "-S",
  src,
  "-B",
  build,
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=ON",
  "-DGGML_BACKEND_DL=ON",
  "-DGGML_NATIVE=OFF",
  "-DGGML_CUDA=ON",
  `-DCMAKE_CUDA_ARCHITECTURES=${arch}-real`,
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_BUILD_SERVER=OFF",
  "-DLLAMA_BUILD_TOOLS=OFF",
]);
run("cmake", ["--build", build, "--target", "ggml-cuda", "-j", args.jobs]);
const built = [
  path.join(build, "bin", "libggml-cuda.so"),
  path.join(build, "ggml", "src", "ggml-cuda", "libggml-cuda.so"),
].find(existsSync);
if (!built) fail(`the build did not produce libggml-cuda.so under ${path.relative(root, build)}`);
if (!existsSync(upstream)) copyFileSync(target, upstream);
copyFileSync(built, target);
console.log(
  `installed ${path.relative(root, target)} with compiled code for sm_${arch} (node-llama-cpp's own kept as ${path.basename(upstream)}; \`make cuda-restore\` puts it back). Check it: valuelens check --model <entry>`,
);
