/**
 * Can this GPU run the CUDA build that loaded? Checked before a model loads, because a GPU the
 * binary has no code for aborts the process inside ggml at the first kernel (GGML_ABORT), with
 * no error node-llama-cpp could catch.
 *
 * - The binary: the SASS (compiled, sm_XY) and PTX (compute_XY, compiled by the driver at first
 *   use, "JIT") entries of libggml-cuda.so's `.nv_fatbin` section, read from the ELF file.
 *   node-llama-cpp 3.21.1's prebuilt: SASS sm_86, sm_89, sm_120a, sm_121a; PTX compute_75, 80
 *   and 90 of ISA 9.1 (CUDA 13.1).
 * - The device and driver: `nvidia-smi` (name, compute capability, driver, its CUDA version).
 * - The rule: SASS sm_XY runs on compute capability X.Z with Z >= Y (an arch-specific
 *   "a" build, sm_XYa, only on X.Y); PTX compute_XY runs on any capability >= X.Y when the
 *   driver knows its ISA (ISA 9.1 needs a CUDA 13.1 driver).
 */
import { spawnSync } from "node:child_process";
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";

export interface FatbinEntry {
  kind: "sass" | "ptx";
  /** Compute capability times 10: 86 = 8.6, 120 = 12.0. */
  arch: number;
  /** An arch-specific build (sm_120a): runs on that exact capability only. */
  specific: boolean;
  /** PTX: its ISA version ("9.1"). */
  isa?: string;
}

export interface CudaBinary {
  file: string;
  sass: string[];
  ptx: string[];
  entries: FatbinEntry[];
}

export interface NvidiaDevice {
  name: string;
  /** "9.0" */
  computeCapability: string;
  driver: string;
  /** The CUDA version the driver supports ("13.0"). */
  driverCuda: string | null;
}

/** The CUDA version whose driver first understands a PTX ISA version (NVIDIA's PTX ISA release notes). */
const PTX_ISA_CUDA: Record<string, string> = {
  "7.8": "11.8",
  "8.0": "12.0",
  "8.1": "12.1",
  "8.2": "12.2",
  "8.3": "12.3",
  "8.4": "12.4",
  "8.5": "12.5",
  "8.6": "12.7",
  "8.7": "12.8",
  "8.8": "12.9",
  "9.0": "13.0",
  "9.1": "13.1",
};

export function cudaForPtxIsa(isa: string): string {
  const known = PTX_ISA_CUDA[isa];
  if (known) return known;
  // Past the table: ISA 9.x came with CUDA 13.x; assume the pattern holds.
  const [major, minor] = isa.split(".").map(Number);
  return `${major! + 4}.${minor}`;
}

function versionAtLeast(have: string, need: string): boolean {
  const [a, b] = have.split(".").map(Number);
  const [c, d] = need.split(".").map(Number);
  return a! > c! || (a === c && (b ?? 0) >= (d ?? 0));
}

const archName = (e: FatbinEntry) =>
  e.kind === "sass" ? `sm_${e.arch}${e.specific ? "a" : ""}` : `compute_${e.arch} (PTX ISA ${e.isa})`;

/** The SASS and PTX entries of an ELF file's `.nv_fatbin` section (empty when it has none). */
export function readFatbin(file: string): CudaBinary {
  const fd = openSync(file, "r");
  try {
    const read = (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      readSync(fd, b, 0, length, offset);
      return b;
    };
    const header = read(0, 64);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2) throw new Error(`${file} is not a 64-bit ELF file`);
    const shoff = Number(header.readBigUInt64LE(0x28));
    const shentsize = header.readUInt16LE(0x3a);
    const shnum = header.readUInt16LE(0x3c);
    const sections = read(shoff, shentsize * shnum);
    const section = (i: number) => ({
      name: sections.readUInt32LE(i * shentsize),
      offset: Number(sections.readBigUInt64LE(i * shentsize + 0x18)),
      size: Number(sections.readBigUInt64LE(i * shentsize + 0x20)),
    });
    const names = section(header.readUInt16LE(0x3e));
    const strings = read(names.offset, names.size);
    let fatbin: { offset: number; size: number } | undefined;
    for (let i = 0; i < shnum; i++) {
      const s = section(i);
      if (strings.toString("latin1", s.name, strings.indexOf(0, s.name)) === ".nv_fatbin") fatbin = s;
    }
    const entries = new Map<string, FatbinEntry>();
    if (fatbin) {
      const data = read(fatbin.offset, Math.min(fatbin.size, fstatSync(fd).size - fatbin.offset));
      let p = 0;
      while (p + 16 <= data.length) {
        if (data.readUInt32LE(p) !== 0xba55ed50) {
          p += 8;
          continue;
        }
        const end = p + data.readUInt16LE(p + 6) + Number(data.readBigUInt64LE(p + 8));
        let e = p + data.readUInt16LE(p + 6);
        while (e + 48 <= Math.min(end, data.length)) {
          const kind = data.readUInt16LE(e);
          const headerSize = data.readUInt32LE(e + 4);
          const size = Number(data.readBigUInt64LE(e + 8));
          const minor = data.readUInt16LE(e + 24);
          const major = data.readUInt16LE(e + 26);
          const arch = data.readUInt32LE(e + 28);
          const flags = data.readBigUInt64LE(e + 40);
          if (kind === 1 || kind === 2) {
            const entry: FatbinEntry = {
              kind: kind === 1 ? "ptx" : "sass",
              arch,
              // The arch-specific ("a") builds carry these flag bits (sm_120a, sm_121a in node-llama-cpp's build).
              specific: (flags & 0x1100000n) !== 0n,
              ...(kind === 1 ? { isa: `${major}.${minor}` } : {}),
            };
            entries.set(archName(entry), entry);
          }
          if (headerSize === 0) break;
          e += headerSize + size;
        }
        p = Math.max(end, p + 8);
      }
    }
    const list = [...entries.values()].sort((a, b) => a.arch - b.arch);
    return {
      file,
      sass: list.filter((e) => e.kind === "sass").map(archName),
      ptx: list.filter((e) => e.kind === "ptx").map(archName),
      entries: list,
    };
  } finally {
    closeSync(fd);
  }
}

export type CudaVerdict = { ok: true; how: string; jit: boolean } | { ok: false; reason: string; fix: string };

/** Whether `binary` can run on `device` with its driver, and how (compiled code, or PTX the driver compiles). */
export function cudaVerdict(device: NvidiaDevice, binary: Pick<CudaBinary, "entries">): CudaVerdict {
  const [major, minor] = device.computeCapability.split(".").map(Number) as [number, number];
  const cc = major * 10 + minor;
  const sm = `sm_${cc}`;
  const sass = binary.entries
    .filter(
      (e) =>
        e.kind === "sass" && (e.specific ? e.arch === cc : Math.floor(e.arch / 10) === major && e.arch % 10 <= minor),
    )
    .sort((a, b) => b.arch - a.arch)[0];
  if (sass) return { ok: true, how: `compiled code for ${archName(sass)}`, jit: false };
  const ptx = binary.entries.filter((e) => e.kind === "ptx" && e.arch <= cc).sort((a, b) => b.arch - a.arch);
  const fix = `build the CUDA backend for ${sm} with \`make cuda CUDA_ARCH=${cc}\` (nvcc, no download), update the NVIDIA driver, or run on the CPU (gpu: false in models.yaml)`;
  const has = [
    ...binary.entries.filter((e) => e.kind === "sass").map(archName),
    ...binary.entries.filter((e) => e.kind === "ptx").map(archName),
  ].join(", ");
  if (ptx.length === 0)
    return {
      ok: false,
      reason: `the CUDA build has no code for ${device.name} (compute capability ${device.computeCapability}, ${sm}): it carries ${has || "nothing"}`,
      fix,
    };
  const usable = ptx.find(
    (e) => device.driverCuda === null || versionAtLeast(device.driverCuda, cudaForPtxIsa(e.isa!)),
  );
  if (!usable) {
    const best = ptx[0]!;
    return {
      ok: false,
      reason: `${device.name} (compute capability ${device.computeCapability}) could only run the CUDA build's ${archName(best)}, which needs a CUDA ${cudaForPtxIsa(best.isa!)} driver; this driver (${device.driver}) supports CUDA ${device.driverCuda}`,
      fix,
    };
  }
  return {
    ok: true,
    how: `${archName(usable)}, compiled by the driver at first use (minutes once; kept in the CUDA JIT cache)`,
    jit: true,
  };
}

/** The one-line refusal for a device the binary cannot run. */
export function cudaRefusal(verdict: Extract<CudaVerdict, { ok: false }>): string {
  return `cannot use this GPU: ${verdict.reason} (llama.cpp would abort at its first kernel); ${verdict.fix}`;
}

/** The NVIDIA GPUs and driver `nvidia-smi` reports (undefined: no nvidia-smi, or it failed). */
export function nvidiaDevices(run = runNvidiaSmi): NvidiaDevice[] | undefined {
  const query = run(["--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"]);
  if (query === undefined) return undefined;
  const cuda = /CUDA Version\s*:?\s*([0-9]+\.[0-9]+)/.exec(run(["-q"]) ?? "")?.[1] ?? null;
  return query
    .split("\n")
    .map((line) => line.split(",").map((s) => s.trim()))
    .filter((f) => f.length >= 3 && /^\d+\.\d+$/.test(f[1]!))
    .map(([name, computeCapability, driver]) => ({
      name: name!,
      computeCapability: computeCapability!,
      driver: driver!,
      driverCuda: cuda,
    }));
}

function runNvidiaSmi(args: string[]): string | undefined {
  const r = spawnSync("nvidia-smi", args, { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout : undefined;
}

/** The libggml-cuda library this process loaded (Linux: /proc/self/maps). */
export function loadedCudaLibrary(maps = "/proc/self/maps"): string | undefined {
  try {
    const match = /\s(\/\S*libggml-cuda[^/\s]*\.so[^/\s]*)\s*$/m.exec(readFileSync(maps, "utf8"));
    return match?.[1];
  } catch {
    return undefined;
  }
}

export interface CudaReport {
  devices: (NvidiaDevice & { runs: string | null })[];
  binary: { file: string; sass: string[]; ptx: string[] } | null;
}

/**
 * What the manifest and `valuelens check` record about CUDA, and the refusal when a device cannot
 * run the loaded binary (thrown by the backend before the model loads).
 */
export function cudaReport(
  devices: NvidiaDevice[] | undefined,
  binaryFile: string | undefined,
  read: (file: string) => CudaBinary = readFatbin,
): { report: CudaReport; refusal?: string } {
  let binary: CudaBinary | null = null;
  try {
    binary = binaryFile ? read(binaryFile) : null;
  } catch {
    binary = null;
  }
  const report: CudaReport = {
    devices: [],
    binary: binary ? { file: binary.file, sass: binary.sass, ptx: binary.ptx } : null,
  };
  let refusal: string | undefined;
  for (const device of devices ?? []) {
    const verdict = binary && binary.entries.length > 0 ? cudaVerdict(device, binary) : null;
    report.devices.push({ ...device, runs: verdict?.ok ? verdict.how : null });
    if (verdict && !verdict.ok && refusal === undefined) refusal = cudaRefusal(verdict);
  }
  return { report, ...(refusal ? { refusal } : {}) };
}
