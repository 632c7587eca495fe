import os from "node:os";
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";

/**
 * The CPU threads llama.cpp uses when the models.yaml entry sets none: $VALUELENS_THREADS, else
 * the physical cores. Two llama.cpp processes whose threads together outnumber the cores spin
 * against each other (measured on 2 cores: two runs of 2 threads each at once took 3.6x as long
 * as one after the other); several runs on one machine, or the test suite's parallel files, set 1.
 * The thread count does not change the numbers.
 */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.VALUELENS_THREADS;
  if (raw === undefined || raw === "") return physicalCores();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UserError(
      `VALUELENS_THREADS=${JSON.stringify(raw)} is not a positive whole number of CPU threads; set it to e.g. 1, or unset it to use the physical cores`,
    );
  return n;
}

/**
 * The machine's physical cores (hyper-threads not counted), the default thread count.
 * node-llama-cpp's own default, max(cores, 4), oversubscribes small machines: measured on a
 * 2-core CPU, 4 threads ran about 6x slower than 2.
 */
export function physicalCores(): number {
  const logical = os.availableParallelism?.() ?? os.cpus().length;
  try {
    const cores = new Set<string>();
    let physicalId = "0";
    for (const line of readFileSync("/proc/cpuinfo", "utf8").split("\n")) {
      const [key, value] = line.split(":").map((s) => s.trim());
      if (key === "physical id") physicalId = value ?? "0";
      if (key === "core id") cores.add(`${physicalId}/${value}`);
    }
    if (cores.size > 0) return Math.max(1, Math.min(cores.size, logical));
  } catch {
    // not Linux: fall through
  }
  // macOS and Windows report logical CPUs; Apple silicon has no SMT, x86 usually 2-way.
  return Math.max(1, os.arch() === "arm64" ? logical : Math.ceil(logical / 2));
}

/** CUDA's largest JIT cache (CUDA_CACHE_MAXSIZE is capped at 4 GiB). */
export const CUDA_JIT_CACHE_BYTES = 4 * 1024 ** 3;

/**
 * CUDA_CACHE_MAXSIZE for a process about to load llama.cpp, unless the user set one: a GPU whose
 * code the binary carries only as PTX (node-llama-cpp 3.21.1's CUDA prebuilt on an sm_90 card)
 * JIT-compiles about 259 MB of kernels, more than CUDA's default cache keeps (256 MiB), and would
 * compile them again, about 2,800 CPU-seconds, in every run. Returns the environment to set (empty
 * when the user chose).
 */
export function cudaJitCacheEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.CUDA_CACHE_MAXSIZE === undefined || env.CUDA_CACHE_MAXSIZE === ""
    ? { CUDA_CACHE_MAXSIZE: String(CUDA_JIT_CACHE_BYTES) }
    : {};
}

export function hardwareSummary(): Record<string, unknown> {
  return {
    cpuModel: os.cpus()[0]?.model,
    logicalCpus: os.availableParallelism?.() ?? os.cpus().length,
    physicalCores: physicalCores(),
    memoryBytes: os.totalmem(),
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
  };
}
