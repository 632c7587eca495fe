import os from "node:os";
import { readFileSync } from "node:fs";

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
