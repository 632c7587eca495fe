// CUDA works or says why (src/backends/cuda.ts): the SASS/PTX list of node-llama-cpp's prebuilt
// CUDA library, read from its ELF file, and the refusal for a described device (CI has no GPU).
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  cudaForPtxIsa,
  cudaReport,
  cudaVerdict,
  loadedCudaLibrary,
  nvidiaDevices,
  readFatbin,
  type CudaBinary,
  type FatbinEntry,
} from "../src/backends/cuda.js";
import { PROJECT_ROOT } from "./helpers/models.js";

/** node-llama-cpp 3.21.1's prebuilt CUDA build, as readFatbin reads it (checked below when installed). */
const PREBUILT: FatbinEntry[] = [
  { kind: "ptx", arch: 75, specific: false, isa: "9.1" },
  { kind: "ptx", arch: 80, specific: false, isa: "9.1" },
  { kind: "sass", arch: 86, specific: false },
  { kind: "sass", arch: 89, specific: false },
  { kind: "ptx", arch: 90, specific: false, isa: "9.1" },
  { kind: "sass", arch: 120, specific: true },
  { kind: "sass", arch: 121, specific: true },
];
const binary = { entries: PREBUILT };
const h100 = (driverCuda: string) => ({
  name: "NVIDIA H100 80GB HBM3",
  computeCapability: "9.0",
  driver: driverCuda === "13.0" ? "580.65.06" : "590.44.01",
  driverCuda,
});

function prebuiltCudaLibrary(): string | undefined {
  const file = path.join(
    PROJECT_ROOT,
    "node_modules",
    "@node-llama-cpp",
    "linux-x64-cuda",
    "bins",
    "linux-x64-cuda",
    "libggml-cuda.so",
  );
  return existsSync(file) ? file : undefined;
}

describe("CUDA: the binary, the device, the refusal", () => {
  it("reads the SASS and PTX list of node-llama-cpp's prebuilt libggml-cuda.so", () => {
    const file = prebuiltCudaLibrary();
    if (!file) {
      console.warn("SKIPPED: @node-llama-cpp/linux-x64-cuda is not installed here (an optional dependency)");
      return;
    }
    const read = readFatbin(file);
    expect(read.entries).toEqual(PREBUILT);
    expect(read.sass).toEqual(["sm_86", "sm_89", "sm_120a", "sm_121a"]);
    expect(read.ptx).toEqual(["compute_75 (PTX ISA 9.1)", "compute_80 (PTX ISA 9.1)", "compute_90 (PTX ISA 9.1)"]);
  });

  it("an H100 with a CUDA 13.0 driver is refused in one line naming the fix; 13.1 runs the PTX", () => {
    const refused = cudaVerdict(h100("13.0"), binary);
    expect(refused.ok).toBe(false);
    const { refusal } = cudaReport([h100("13.0")], "libggml-cuda.so", () => ({
      ...binary,
      file: "x",
      sass: [],
      ptx: [],
    }));
    expect(refusal).toBeDefined();
    expect(refusal!.split("\n")).toHaveLength(1);
    expect(refusal).toContain("compute capability 9.0");
    expect(refusal).toContain("needs a CUDA 13.1 driver");
    expect(refusal).toContain("supports CUDA 13.0");
    expect(refusal).toContain("make cuda CUDA_ARCH=90");
    const jit = cudaVerdict(h100("13.1"), binary);
    expect(jit).toMatchObject({ ok: true, jit: true });
    expect(jit.ok && jit.how).toContain("compute_90");
  });

  it("compiled code where it exists: sm_86 on 8.6 and 8.7, sm_89 on 8.9; sm_120a only on 12.0", () => {
    const device = (cc: string) => ({ name: "GPU", computeCapability: cc, driver: "580", driverCuda: "13.0" });
    expect(cudaVerdict(device("8.9"), binary)).toMatchObject({ ok: true, jit: false, how: "compiled code for sm_89" });
    expect(cudaVerdict(device("8.7"), binary)).toMatchObject({ ok: true, jit: false, how: "compiled code for sm_86" });
    expect(cudaVerdict(device("12.0"), binary)).toMatchObject({ ok: true, how: "compiled code for sm_120a" });
    // 10.0 (B200): no SASS of major 10, PTX 9.1 needs a 13.1 driver.
    expect(cudaVerdict(device("10.0"), binary).ok).toBe(false);
    expect(cudaVerdict({ ...device("10.0"), driverCuda: "13.2" }, binary)).toMatchObject({ ok: true, jit: true });
    // Older than every entry: nothing to run.
    const old = cudaVerdict(device("7.0"), binary);
    expect(old.ok).toBe(false);
    expect(!old.ok && old.reason).toContain("has no code for");
  });

  it("PTX ISA versions map to the CUDA driver that reads them", () => {
    expect(cudaForPtxIsa("9.1")).toBe("13.1");
    expect(cudaForPtxIsa("8.8")).toBe("12.9");
    expect(cudaForPtxIsa("9.4")).toBe("13.4");
  });

  it("nvidia-smi's answers become devices; no nvidia-smi, no devices; the loaded library from the process's maps", () => {
    const smi = (args: string[]) =>
      args[0] === "-q"
        ? "==============NVSMI LOG==============\nDriver Version                            : 580.65.06\nCUDA Version                              : 13.0\n"
        : "NVIDIA H100 80GB HBM3, 9.0, 580.65.06\nNVIDIA H100 80GB HBM3, 9.0, 580.65.06\n";
    expect(nvidiaDevices(smi)).toEqual([h100("13.0"), h100("13.0")]);
    expect(nvidiaDevices(() => undefined)).toBeUndefined();
    const maps = path.join(mkdtempSync(path.join(tmpdir(), "vl-cuda-")), "maps");
    writeFileSync(
      maps,
      "7f00-7f01 r--p 00000000 00:00 1 /usr/lib/libc.so.6\n7f10-7f20 r-xp 00000000 00:00 2 /opt/nlc/bins/linux-x64-cuda/libggml-cuda.so\n",
    );
    expect(loadedCudaLibrary(maps)).toBe("/opt/nlc/bins/linux-x64-cuda/libggml-cuda.so");
    expect(loadedCudaLibrary(path.join(tmpdir(), "no-such-maps"))).toBeUndefined();
  });

  it("the report records every device and the binary; an unreadable binary decides nothing", () => {
    const read = (): CudaBinary => ({ file: "lib.so", sass: ["sm_89"], ptx: [], entries: PREBUILT });
    const ok = cudaReport(
      [{ name: "RTX 4090", computeCapability: "8.9", driver: "580", driverCuda: "13.0" }],
      "lib.so",
      read,
    );
    expect(ok.refusal).toBeUndefined();
    expect(ok.report.devices[0]!.runs).toBe("compiled code for sm_89");
    expect(ok.report.binary).toEqual({ file: "lib.so", sass: ["sm_89"], ptx: [] });
    const unreadable = cudaReport([h100("13.0")], "missing.so", () => {
      throw new Error("ENOENT");
    });
    expect(unreadable.refusal).toBeUndefined();
    expect(unreadable.report.devices[0]!.runs).toBeNull();
  });
});
