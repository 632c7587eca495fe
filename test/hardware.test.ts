// The machine defaults a llama.cpp process starts with (src/backends/hardware.ts).
import { describe, expect, it } from "vitest";
import { CUDA_JIT_CACHE_BYTES, cudaJitCacheEnv, defaultThreads, physicalCores } from "../src/backends/hardware.js";
import { UserError } from "../src/util/errors.js";
import { thrown } from "./helpers/errors.js";

describe("hardware defaults", () => {
  it("threads: $VALUELENS_THREADS, else the physical cores; a bad value is one line naming the variable", () => {
    expect(defaultThreads({})).toBe(physicalCores());
    expect(defaultThreads({ VALUELENS_THREADS: "" })).toBe(physicalCores());
    expect(defaultThreads({ VALUELENS_THREADS: "1" })).toBe(1);
    expect(defaultThreads({ VALUELENS_THREADS: "12" })).toBe(12);
    for (const bad of ["0", "-2", "1.5", "two"]) {
      const err = thrown(() => defaultThreads({ VALUELENS_THREADS: bad }));
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain(`VALUELENS_THREADS=${JSON.stringify(bad)}`);
      expect(err.message).not.toContain("\n");
    }
  });

  it("CUDA's JIT cache is raised to its largest unless the user set one", () => {
    expect(cudaJitCacheEnv({})).toEqual({ CUDA_CACHE_MAXSIZE: String(CUDA_JIT_CACHE_BYTES) });
    expect(cudaJitCacheEnv({ CUDA_CACHE_MAXSIZE: "" })).toEqual({ CUDA_CACHE_MAXSIZE: "4294967296" });
    expect(cudaJitCacheEnv({ CUDA_CACHE_MAXSIZE: "1000" })).toEqual({});
  });
});
