/**
 * make bench-gpu: the paper's full VIA letters protocol on a GPU box, on Llama-3-8B's exact
 * shape (a random-weight stand-in with Llama 3's vocabulary and chat template, Q4_0), against
 * the engine's own limit and against the peer a user would pick instead.
 *
 * Prints and writes bench/results/gpu.json:
 * - valuelens: wall time, questions/s, evaluated prompt tokens/s, prompt tokens reused from
 *   the KV cache, peak GPU memory and SM utilisation (nvidia-smi -lms), how letters were read,
 *   prefix copies, the CUDA device / driver / binary check (manifest hardware.cuda);
 * - 1 sequence against `--sequences` (auto) on a smaller baseline slice (--baseline-countries,
 *   --baseline-repeats; --skip-baseline);
 * - llama-bench (built from the exact llama.cpp source node-llama-cpp embeds: `make
 *   llama-server CMAKE_ARGS=-DGGML_CUDA=ON` builds it too): raw prefill tokens/s of the same
 *   file at the same batch size, the engine's limit;
 * - the peer: llama-server from the same source with many parallel slots (`-np`), answering the
 *   same questions through valuelens' llama-server backend with as many requests in flight.
 * Goals: full VIA (5 repeats) in 10 minutes or less on one H100-class GPU; evaluated tokens/s at
 * least 0.7 of llama-bench's prefill; faster than the peer.
 *
 * Usage (on a GPU box, after `npm ci && make llama-server CMAKE_ARGS=-DGGML_CUDA=ON`):
 *   node --import tsx bench/gpu.ts [--via PATH] [--repeats 5] [--sequences auto] [--batching shared]
 *        [--slots 16] [--type q4_0] [--countries A,B] [--skip-peer] [--skip-llama-bench]
 * Smoke test of the script on a CPU (small slice, the tiny model):
 *   node --import tsx bench/gpu.ts --allow-cpu --model-shape tiny --countries Nigeria --repeats 2 --skip-llama-bench
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "../src/util/paths.js";

const root = packageRoot();
const BIN = path.join(root, "bin", "valuelens.js");
const { values: args } = parseArgs({
  options: {
    via: { type: "string" },
    repeats: { type: "string", default: "5" },
    sequences: { type: "string", default: "auto" },
    batching: { type: "string", default: "shared" },
    slots: { type: "string", default: "16" },
    type: { type: "string", default: "q4_0" },
    "model-shape": { type: "string", default: "llama3-8b" },
    "batch-size": { type: "string", default: "2048" },
    "context-size": { type: "string", default: "4096" },
    countries: { type: "string" },
    "allow-cpu": { type: "boolean", default: false },
    "skip-peer": { type: "boolean", default: false },
    "skip-llama-bench": { type: "boolean", default: false },
    "skip-baseline": { type: "boolean", default: false },
    "baseline-countries": { type: "string", default: "Nigeria" },
    "baseline-repeats": { type: "string", default: "1" },
  },
});

const cacheRoot = process.env.VALUELENS_CACHE_DIR ?? path.join(root, ".cache");
const work = mkdtempSync(path.join(tmpdir(), "vl-bench-gpu-"));
const LLAMA_BIN = path.join(root, ".cache", "llama.cpp-build", "build", "bin");

function log(line: string): void {
  process.stdout.write(line + "\n");
}

function fail(message: string): never {
  process.stderr.write(`bench-gpu: ${message}\n`);
  process.exit(2);
}

// 1. The GPU.
const smi = spawnSync("nvidia-smi", ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], {
  encoding: "utf8",
});
const gpu = smi.status === 0 ? smi.stdout.trim().split("\n")[0]! : null;
if (!gpu && !args["allow-cpu"])
  fail(
    "no NVIDIA GPU found (nvidia-smi); this benchmark is for a GPU box (--allow-cpu runs it anyway, as a smoke test)",
  );
log(`GPU: ${gpu ?? "none (CPU smoke test)"}`);

// 2. The dataset: the full VIA.
const SHARED_VIA = path.resolve(root, "../shared/datasets/via/value_action_gap_full_data_generation.csv");
const FETCHED_VIA = path.resolve(root, "datasets/cache/value_action_gap_full_data_generation.csv");
const via = [args.via, process.env.VALUELENS_VIA, FETCHED_VIA, SHARED_VIA].find(
  (p) => p && p !== "sample" && existsSync(p),
);
if (!via) fail("the full VIA CSV is needed: `valuelens datasets fetch via`, or pass --via PATH");

function valuelens(
  argv: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    cwd: root,
    env: { ...process.env, CI: "1", VALUELENS_CACHE_DIR: cacheRoot, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: "", ms: Date.now() - t };
}

// 3. The model: the 8B stand-in (written once, then reused from the cache root).
let modelFile: string;
let writeSeconds: number | null = null;
if (args["model-shape"] === "llama3-8b") {
  modelFile = path.join(cacheRoot, "models", `bench-gpu-llama3-8b-${args.type}.gguf`);
  if (!existsSync(modelFile)) {
    log(`writing the Llama-3-8B stand-in (${args.type}) to ${modelFile} ...`);
    mkdirSync(path.dirname(modelFile), { recursive: true });
    const w = valuelens([
      "models",
      "make-test-model",
      "--shape",
      "llama3-8b",
      "--type",
      args.type!,
      "--out",
      modelFile,
    ]);
    if (w.code !== 0) fail(`could not write the stand-in (exit ${w.code})`);
    writeSeconds = w.ms / 1000;
    log(`  written in ${writeSeconds.toFixed(0)} s`);
  }
} else {
  modelFile = path.join(cacheRoot, "models", `bench-gpu-${args["model-shape"]}-${args.type}.gguf`);
  if (!existsSync(modelFile)) {
    const w = valuelens([
      "models",
      "make-test-model",
      "--shape",
      args["model-shape"]!,
      "--type",
      args.type!,
      "--out",
      modelFile,
    ]);
    if (w.code !== 0) fail(`could not write the ${args["model-shape"]} model (exit ${w.code})`);
  }
}

// 4. GPU memory and SM utilisation while a command runs: nvidia-smi polls on its own (-lms) into a
// file, because valuelens runs with spawnSync and this process's timers do not fire meanwhile.
function gpuWatch(): { stop: () => { peakMiB: number; smMean: number; smMax: number } | null } {
  if (!gpu) return { stop: () => null };
  const file = path.join(work, `nvidia-smi-${Date.now()}.csv`);
  const fd = openSync(file, "w");
  const child = spawn(
    "nvidia-smi",
    ["--query-gpu=memory.used,utilization.gpu", "--format=csv,noheader,nounits", "-lms", "500", "-i", "0"],
    { stdio: ["ignore", fd, "ignore"] },
  );
  return {
    stop: () => {
      child.kill("SIGTERM");
      closeSync(fd);
      const rows = readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.split(",").map((x) => Number(x.trim())))
        .filter((r) => r.length === 2 && r.every(Number.isFinite));
      if (rows.length === 0) return null;
      return {
        peakMiB: Math.max(...rows.map((r) => r[0]!)),
        smMean: rows.reduce((a, r) => a + r[1]!, 0) / rows.length,
        smMax: Math.max(...rows.map((r) => r[1]!)),
      };
    },
  };
}

interface RunFigures {
  wallSeconds: number;
  questions: number;
  questionsPerSecond: number;
  evaluatedTokens: number;
  evaluatedTokensPerSecond: number;
  reusedTokens: number;
  peakGpuMemoryMiB: number | null;
  /** SM utilisation (nvidia-smi utilization.gpu, %), mean and max over the run. */
  smUtilisation: { mean: number; max: number } | null;
  sequences: unknown;
  /** How letters were read and whether lanes copied prefixes (manifest backend). */
  letters: unknown;
  copyPrefixes: unknown;
  cuda: unknown;
}

function slice(baseline = false): string[] {
  const countries = baseline ? args["baseline-countries"] : args.countries;
  return [
    "--via",
    via!,
    "--repeats",
    baseline ? args["baseline-repeats"]! : args.repeats!,
    "--seed",
    "0",
    "--progress",
    "lines",
    "--bootstrap",
    "0",
    ...(countries ? ["--countries", countries] : []),
  ];
}

/** One valuelens run of the slice with the given models.yaml entry; figures from its manifest. */
function measure(name: string, entry: Record<string, unknown>, baseline = false): RunFigures {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const models = path.join(dir, "models.yaml");
  writeFileSync(
    models,
    `models:\n  ${name}:\n${Object.entries(entry)
      .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
      .join("\n")}\n`,
  );
  const out = path.join(dir, "run");
  const watch = gpuWatch();
  const r = valuelens([
    "run",
    "--model",
    name,
    "--models",
    models,
    ...slice(baseline),
    "--out",
    out,
    "--cache-dir",
    path.join(dir, "cache"),
  ]);
  const watched = watch.stop();
  if (r.code !== 0) fail(`${name}: valuelens run failed (exit ${r.code}); see the output above`);
  const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")) as {
    questions: { total: number };
    sessions: { evaluatedTokens: number; reusedTokens: number }[];
    backend: { otherOptions?: Record<string, unknown> };
    hardware?: Record<string, unknown>;
  };
  const s = manifest.sessions.at(-1)!;
  const wall = r.ms / 1000;
  return {
    wallSeconds: wall,
    questions: manifest.questions.total,
    questionsPerSecond: manifest.questions.total / wall,
    evaluatedTokens: s.evaluatedTokens,
    evaluatedTokensPerSecond: s.evaluatedTokens / wall,
    reusedTokens: s.reusedTokens,
    peakGpuMemoryMiB: watched?.peakMiB ?? null,
    smUtilisation: watched ? { mean: Math.round(watched.smMean), max: watched.smMax } : null,
    letters: manifest.hardware?.letters ?? null,
    copyPrefixes: manifest.backend.otherOptions?.copyPrefixes ?? null,
    cuda: manifest.hardware?.cuda ?? null,
    sequences:
      manifest.backend.otherOptions?.sequences ??
      (manifest.backend.otherOptions?.slots !== undefined
        ? `${String(manifest.backend.otherOptions.slots)} slots`
        : null),
  };
}

function figures(label: string, f: RunFigures): void {
  log(
    `${label}: ${f.questions} questions in ${f.wallSeconds.toFixed(1)} s (${(f.wallSeconds / 60).toFixed(1)} min), ${f.questionsPerSecond.toFixed(1)} q/s, ` +
      `${Math.round(f.evaluatedTokensPerSecond)} evaluated tok/s, ${f.reusedTokens} tokens reused, sequences ${String(f.sequences)}` +
      (f.peakGpuMemoryMiB !== null ? `, peak GPU memory ${f.peakGpuMemoryMiB} MiB` : "") +
      (f.smUtilisation ? `, SM utilisation mean ${f.smUtilisation.mean} % (max ${f.smUtilisation.max} %)` : ""),
  );
}

// 5. valuelens, embedded engine.
const sequences = args.sequences === "auto" ? "auto" : Number(args.sequences);
const entry = {
  backend: "llama.cpp",
  source: modelFile,
  gpuLayers: gpu ? "max" : 0,
  contextSize: Number(args["context-size"]),
  batchSize: Number(args["batch-size"]),
  sequences,
  batching: args.batching,
  flashAttention: Boolean(gpu),
};
log(`\nvaluelens (embedded llama.cpp, sequences ${String(sequences)}, batching ${args.batching}) on ${via} ...`);
const ours = measure("valuelens-embedded", entry);
figures("valuelens", ours);
log(`  letters: ${String(ours.letters)}; prefix copies: ${String(ours.copyPrefixes)}`);
if (ours.cuda) log(`  cuda: ${JSON.stringify(ours.cuda)}`);

// 5b. One sequence against the same entry's sequences, on a smaller baseline slice (both runs on it).
let baseline: { one: RunFigures; several: RunFigures; ratio: number } | null = null;
if (!args["skip-baseline"]) {
  log(
    `\nbaseline slice (${args["baseline-countries"]}, ${args["baseline-repeats"]} repeat(s)): 1 sequence against ${String(sequences)} ...`,
  );
  const one = measure("valuelens-one-sequence", { ...entry, sequences: 1, batching: "isolated" }, true);
  figures("  1 sequence", one);
  const several = measure("valuelens-baseline-auto", entry, true);
  figures(`  ${String(several.sequences)} sequences`, several);
  baseline = { one, several, ratio: several.questionsPerSecond / one.questionsPerSecond };
  log(`  questions/s, ${String(several.sequences)} sequences over 1: ${baseline.ratio.toFixed(2)}x`);
}

// 6. llama-bench: the engine's raw prefill.
let prefill: { tokensPerSecond: number; promptTokens: number; batchSize: number } | null = null;
const llamaBench = path.join(LLAMA_BIN, "llama-bench");
if (!args["skip-llama-bench"]) {
  if (!existsSync(llamaBench))
    fail(
      `${llamaBench} not found: build it with \`make llama-server CMAKE_ARGS=-DGGML_CUDA=ON\` (or pass --skip-llama-bench)`,
    );
  const r = spawnSync(
    llamaBench,
    [
      "-m",
      modelFile,
      "-p",
      "512",
      "-n",
      "0",
      "-b",
      String(entry.batchSize),
      "-ngl",
      gpu ? "99" : "0",
      "-fa",
      gpu ? "1" : "0",
      "-o",
      "json",
    ],
    { encoding: "utf8", maxBuffer: 16 << 20 },
  );
  if (r.status !== 0) fail(`llama-bench failed: ${r.stderr.split("\n").slice(-3).join(" ")}`);
  const rows = JSON.parse(r.stdout) as { n_prompt: number; avg_ts: number }[];
  const row = rows.find((x) => x.n_prompt > 0)!;
  prefill = { tokensPerSecond: row.avg_ts, promptTokens: row.n_prompt, batchSize: entry.batchSize };
  log(
    `llama-bench: prefill ${Math.round(prefill.tokensPerSecond)} tok/s (pp${prefill.promptTokens}, batch ${prefill.batchSize})`,
  );
}

// 7. The peer: llama-server with many slots, the same questions.
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null)
      fail(
        `llama-server exited (${child.exitCode}) before it was ready; its log: ${path.join(work, "llama-server.log")}`,
      );
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  fail("llama-server did not become ready in 10 minutes");
}

let peer: RunFigures | null = null;
if (!args["skip-peer"]) {
  const server = process.env.VALUELENS_LLAMA_SERVER ?? path.join(LLAMA_BIN, "llama-server");
  if (!existsSync(server))
    fail(`${server} not found: build it with \`make llama-server CMAKE_ARGS=-DGGML_CUDA=ON\` (or pass --skip-peer)`);
  const slots = Number(args.slots);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serverLogFile = path.join(work, "llama-server.log");
  const serverLogFd = openSync(serverLogFile, "w");
  const child = spawn(
    server,
    [
      "-m",
      modelFile,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "-np",
      String(slots),
      "-c",
      String(slots * entry.contextSize),
      "-b",
      String(entry.batchSize),
      "-ngl",
      gpu ? "99" : "0",
      ...(gpu ? ["-fa", "on"] : []),
      "--grammar",
      "root ::= [ -~]*",
    ],
    // Its log goes to a file: valuelens runs below with spawnSync, which would leave a pipe
    // undrained and stall the server once the pipe is full.
    { stdio: ["ignore", serverLogFd, serverLogFd] },
  );
  try {
    await waitHealthy(url, child);
    log(
      `\nthe peer: llama-server -np ${slots} (${url}), valuelens' llama-server backend with ${slots} requests in flight ...`,
    );
    peer = measure("llama-server-peer", {
      backend: "llama-server",
      baseUrl: url,
      concurrency: slots,
      timeoutMs: 600000,
    });
    figures("llama-server peer", peer);
  } finally {
    child.kill("SIGTERM");
    closeSync(serverLogFd);
  }
}

// 8. Figures, ratios, goals.
const result = {
  when: new Date().toISOString(),
  gpu,
  model: { file: modelFile, shape: args["model-shape"], type: args.type, writeSeconds },
  dataset: via,
  repeats: Number(args.repeats),
  valuelens: ours,
  baseline,
  llamaBench: prefill,
  peer,
  ratios: {
    evaluatedTokensPerSecondOverPrefill: prefill ? ours.evaluatedTokensPerSecond / prefill.tokensPerSecond : null,
    speedupOverPeer: peer ? peer.wallSeconds / ours.wallSeconds : null,
  },
  goals: {
    fullViaWithin10Minutes: ours.wallSeconds <= 600,
    atLeast07OfPrefill: prefill ? ours.evaluatedTokensPerSecond / prefill.tokensPerSecond >= 0.7 : null,
    fasterThanPeer: peer ? ours.wallSeconds < peer.wallSeconds : null,
  },
};
log("");
log(
  `full VIA letters (${ours.questions} questions): ${(ours.wallSeconds / 60).toFixed(1)} min (goal <= 10 min on one H100-class GPU)`,
);
if (result.ratios.evaluatedTokensPerSecondOverPrefill !== null)
  log(
    `evaluated tok/s over llama-bench prefill: ${result.ratios.evaluatedTokensPerSecondOverPrefill.toFixed(2)} (goal >= 0.70)`,
  );
if (result.ratios.speedupOverPeer !== null)
  log(`speed-up over the llama-server peer: ${result.ratios.speedupOverPeer.toFixed(2)}x (goal > 1)`);
mkdirSync(path.join(root, "bench", "results"), { recursive: true });
writeFileSync(path.join(root, "bench", "results", "gpu.json"), JSON.stringify(result, null, 2) + "\n");
log(`\nwrote bench/results/gpu.json`);
