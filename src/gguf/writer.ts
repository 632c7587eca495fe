// A minimal GGUF v3 writer: header, typed metadata, tensor infos, aligned tensor data.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
//
// Layout (all little-endian):
//   "GGUF" u32 version=3 | u64 tensor_count | u64 kv_count
//   kv*:     string key | u32 value_type | value
//   tensor*: string name | u32 n_dims | u64 dims[n_dims] (fastest-varying first) | u32 ggml_type | u64 offset
//   padding to `alignment`, then the data section; every tensor starts at an aligned offset
//   (relative to the data section) and is followed by zero padding up to the next boundary.
// Strings are u64 byte length + UTF-8 bytes (no terminator).
//
// Tensor types: F32, F16, and ggml's block quantizations Q8_0, Q4_0 and Q6_K (quant.ts), which
// encode runs of 32 or 256 consecutive values (so a row, dims[0], must be a whole number of
// blocks); a tensor's size is (values / block values) * block bytes.
//
// The file is streamed tensor by tensor into a temporary file that is renamed into place, so
// a crash never leaves a half-written model at the target path.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { f32ArrayToF16 } from "./f16.js";
import { QUANT_BLOCKS, quantizeBlocks, type QuantType } from "./quant.js";

export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf_type). */
enum ValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A typed metadata value. llama.cpp checks key types strictly, so the type is explicit. */
export type GgufValue =
  | { type: "u8"; value: number }
  | { type: "i8"; value: number }
  | { type: "u16"; value: number }
  | { type: "i16"; value: number }
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "u64"; value: bigint }
  | { type: "i64"; value: bigint }
  | { type: "f32"; value: number }
  | { type: "f64"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "f32[]"; value: ArrayLike<number> }
  | { type: "i32[]"; value: ArrayLike<number> }
  | { type: "u32[]"; value: ArrayLike<number> };

/** Constructors for metadata values: `gguf.u32(4096)`, `gguf.strings([...])`. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: "u8", value }),
  i8: (value: number): GgufValue => ({ type: "i8", value }),
  u16: (value: number): GgufValue => ({ type: "u16", value }),
  i16: (value: number): GgufValue => ({ type: "i16", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  u64: (value: bigint): GgufValue => ({ type: "u64", value }),
  i64: (value: bigint): GgufValue => ({ type: "i64", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  f64: (value: number): GgufValue => ({ type: "f64", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  string: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "string[]", value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: "f32[]", value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: "i32[]", value }),
  u32s: (value: ArrayLike<number>): GgufValue => ({ type: "u32[]", value }),
} as const;

export type GgufTensorType = "f32" | "f16" | QuantType;

/** ggml_type ids, values per block and bytes per block of the supported tensor types. */
export const GGUF_TENSOR_TYPES: Readonly<
  Record<GgufTensorType, { id: number; blockValues: number; blockBytes: number }>
> = {
  f32: { id: 0, blockValues: 1, blockBytes: 4 },
  f16: { id: 1, blockValues: 1, blockBytes: 2 },
  q4_0: { id: 2, blockValues: QUANT_BLOCKS.q4_0.values, blockBytes: QUANT_BLOCKS.q4_0.bytes },
  q8_0: { id: 8, blockValues: QUANT_BLOCKS.q8_0.values, blockBytes: QUANT_BLOCKS.q8_0.bytes },
  q6_k: { id: 14, blockValues: QUANT_BLOCKS.q6_k.values, blockBytes: QUANT_BLOCKS.q6_k.bytes },
};

/** The tensor type of a ggml_type id, or undefined for one the writer cannot write. */
export function ggufTensorTypeOfId(id: number): GgufTensorType | undefined {
  return (Object.keys(GGUF_TENSOR_TYPES) as GgufTensorType[]).find((t) => GGUF_TENSOR_TYPES[t].id === id);
}

/** Bytes of a tensor's data (without the padding after it); throws if a row is not whole blocks. */
export function tensorDataBytes(name: string, dims: readonly number[], type: GgufTensorType): number {
  const { blockValues, blockBytes } = GGUF_TENSOR_TYPES[type];
  if ((dims[0] ?? 1) % blockValues !== 0) {
    throw new Error(
      `GGUF: tensor ${name}: ${type} needs rows (dims[0] = ${dims[0]}) to be a multiple of ${blockValues}`,
    );
  }
  return (tensorElementCount(dims) / blockValues) * blockBytes;
}

export interface GgufTensor {
  name: string;
  /** Dimensions in GGUF order, fastest-varying first (a [rows x cols] matrix is [cols, rows]). */
  dims: readonly number[];
  type: GgufTensorType;
  /**
   * The values in storage order (dims[0] fastest), as consecutive chunks. Called once, while
   * the tensor is written, so large tensors never need to be in memory at once.
   */
  data: () => Iterable<Float32Array>;
}

export interface GgufFile {
  /** Metadata in file order. `general.alignment` is added by the writer if absent. */
  metadata: ReadonlyArray<readonly [key: string, value: GgufValue]>;
  tensors: readonly GgufTensor[];
  alignment?: number;
}

export interface GgufWriteResult {
  path: string;
  bytes: number;
  sha256: string;
}

export function tensorElementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  u64(v: bigint | number): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(v, this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    const n = alignUp(this.length, alignment) - this.length;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeArray(sink: ByteSink, elemType: ValueType, values: ArrayLike<number>, put: (v: number) => void): void {
  sink.u32(elemType);
  sink.u64(values.length);
  for (let i = 0; i < values.length; i++) put(values[i]!);
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case "u8":
      sink.u32(ValueType.UINT8);
      sink.u8(v.value);
      return;
    case "i8":
      sink.u32(ValueType.INT8);
      sink.i8(v.value);
      return;
    case "u16":
      sink.u32(ValueType.UINT16);
      sink.u16(v.value);
      return;
    case "i16":
      sink.u32(ValueType.INT16);
      sink.i16(v.value);
      return;
    case "u32":
      sink.u32(ValueType.UINT32);
      sink.u32(v.value);
      return;
    case "i32":
      sink.u32(ValueType.INT32);
      sink.i32(v.value);
      return;
    case "u64":
      sink.u32(ValueType.UINT64);
      sink.u64(v.value);
      return;
    case "i64":
      sink.u32(ValueType.INT64);
      sink.i64(v.value);
      return;
    case "f32":
      sink.u32(ValueType.FLOAT32);
      sink.f32(v.value);
      return;
    case "f64":
      sink.u32(ValueType.FLOAT64);
      sink.f64(v.value);
      return;
    case "bool":
      sink.u32(ValueType.BOOL);
      sink.u8(v.value ? 1 : 0);
      return;
    case "string":
      sink.u32(ValueType.STRING);
      sink.string(v.value);
      return;
    case "string[]":
      sink.u32(ValueType.ARRAY);
      sink.u32(ValueType.STRING);
      sink.u64(v.value.length);
      for (const s of v.value) sink.string(s);
      return;
    case "f32[]":
      sink.u32(ValueType.ARRAY);
      writeArray(sink, ValueType.FLOAT32, v.value, (x) => sink.f32(x));
      return;
    case "i32[]":
      sink.u32(ValueType.ARRAY);
      writeArray(sink, ValueType.INT32, v.value, (x) => sink.i32(x));
      return;
    case "u32[]":
      sink.u32(ValueType.ARRAY);
      writeArray(sink, ValueType.UINT32, v.value, (x) => sink.u32(x));
      return;
  }
}

/** Serialises everything before the data section and returns the data offsets and sizes of the tensors. */
function buildHeader(
  file: GgufFile,
  alignment: number,
): { header: Buffer; offsets: number[]; sizes: number[]; dataBytes: number } {
  const metadata = [...file.metadata];
  if (!metadata.some(([k]) => k === "general.alignment")) metadata.push(["general.alignment", gguf.u32(alignment)]);
  const keys = new Set<string>();
  for (const [k] of metadata) {
    if (keys.has(k)) throw new Error(`GGUF: duplicate metadata key ${k}`);
    keys.add(k);
  }

  const sink = new ByteSink();
  sink.u32(0x46554747); // "GGUF" read as a little-endian u32
  sink.u32(GGUF_VERSION);
  sink.u64(file.tensors.length);
  sink.u64(metadata.length);
  for (const [key, value] of metadata) {
    sink.string(key);
    writeValue(sink, value);
  }

  const offsets: number[] = [];
  const sizes: number[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of file.tensors) {
    if (names.has(t.name)) throw new Error(`GGUF: duplicate tensor ${t.name}`);
    names.add(t.name);
    const size = tensorDataBytes(t.name, t.dims, t.type);
    sink.string(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(GGUF_TENSOR_TYPES[t.type].id);
    sink.u64(offset);
    offsets.push(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  sink.pad(alignment);
  return { header: Buffer.from(sink.bytes()), offsets, sizes, dataBytes: offset };
}

/**
 * Encodes a tensor's values chunk by chunk in its storage type. Block types carry a partial
 * block over to the next chunk, so chunk boundaries need not fall on block boundaries.
 */
class TensorEncoder {
  private readonly block: number;
  private readonly carry: Float32Array;
  private carried = 0;

  constructor(private readonly type: GgufTensorType) {
    this.block = GGUF_TENSOR_TYPES[type].blockValues;
    this.carry = new Float32Array(this.block);
  }

  encode(values: Float32Array): Buffer {
    const type = this.type;
    if (type === "f32") return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    if (type === "f16") {
      const out = f32ArrayToF16(values);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    }
    const { block } = this;
    const { blockBytes } = GGUF_TENSOR_TYPES[type];
    let at = 0;
    const head = this.carried > 0 ? Math.min(block - this.carried, values.length) : 0;
    if (head > 0) {
      this.carry.set(values.subarray(0, head), this.carried);
      this.carried += head;
      at = head;
    }
    const fromCarry = this.carried === block ? 1 : 0;
    const whole = Math.floor((values.length - at) / block);
    const out = Buffer.alloc((fromCarry + whole) * blockBytes);
    if (fromCarry) {
      quantizeBlocks(type, this.carry, 0, out, 0, 1);
      this.carried = 0;
    }
    quantizeBlocks(type, values, at, out, fromCarry * blockBytes, whole);
    at += whole * block;
    if (at < values.length) {
      this.carry.set(values.subarray(at), this.carried);
      this.carried += values.length - at;
    }
    return out;
  }

  /** Throws if values are left over (cannot happen when the value count is whole blocks). */
  finish(): void {
    if (this.carried !== 0) throw new Error("GGUF: internal: partial block left over");
  }
}

/** Buffered, hashing writer over a file handle. */
class FileSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  readonly hash = createHash("sha256");
  bytes = 0;

  constructor(private readonly fh: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    // Copy: callers may reuse their buffers.
    this.pending.push(Buffer.from(chunk));
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= 1 << 22) await this.flush();
  }
  async zeros(n: number): Promise<void> {
    if (n > 0) await this.write(Buffer.alloc(n));
  }
  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buf = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let written = 0;
    while (written < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, written, buf.length - written);
      written += bytesWritten;
    }
  }
}

/** The exact bytes before the data section, and the total file size, without generating any data. */
export function ggufLayout(file: GgufFile): { header: Buffer; totalBytes: number } {
  const { header, dataBytes } = buildHeader(file, file.alignment ?? GGUF_DEFAULT_ALIGNMENT);
  return { header, totalBytes: header.length + dataBytes };
}

export interface GgufPlannedTensor {
  name: string;
  dims: readonly number[];
  type: GgufTensorType;
  /** Offset in the file (the data section's start plus the tensor's offset in it). */
  fileOffset: number;
  /** Bytes of data, padding excluded. */
  bytes: number;
}

export interface GgufPlan {
  /** Bytes before the data section (header, metadata, tensor infos, padding). */
  headerBytes: number;
  tensors: GgufPlannedTensor[];
  /** The size of the file writeGguf would write. */
  totalBytes: number;
}

/** A dry run: every tensor's type, place and size, and the file size, without generating any data. */
export function ggufPlan(file: GgufFile): GgufPlan {
  const { header, offsets, sizes, dataBytes } = buildHeader(file, file.alignment ?? GGUF_DEFAULT_ALIGNMENT);
  return {
    headerBytes: header.length,
    tensors: file.tensors.map((t, i) => ({
      name: t.name,
      dims: [...t.dims],
      type: t.type,
      fileOffset: header.length + offsets[i]!,
      bytes: sizes[i]!,
    })),
    totalBytes: header.length + dataBytes,
  };
}

/**
 * Writes a GGUF file atomically (temporary file in the same directory, then rename).
 * Output is a pure function of `file`: the same input gives byte-identical files.
 */
export async function writeGguf(
  path: string,
  file: GgufFile,
  opts: {
    /** Called after each tensor with the bytes written so far and the file's size. */
    onProgress?: (bytesWritten: number, totalBytes: number) => void;
  } = {},
): Promise<GgufWriteResult> {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const { header, offsets, sizes, dataBytes } = buildHeader(file, alignment);

  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w");
  try {
    const sink = new FileSink(fh);
    await sink.write(header);
    const dataStart = header.length;
    for (const [i, t] of file.tensors.entries()) {
      const expected = tensorElementCount(t.dims);
      const encoder = new TensorEncoder(t.type);
      let seen = 0;
      for (const chunk of t.data()) {
        seen += chunk.length;
        if (seen > expected) break;
        await sink.write(encoder.encode(chunk));
      }
      if (seen !== expected) throw new Error(`GGUF: tensor ${t.name} produced ${seen} values, expected ${expected}`);
      encoder.finish();
      const end = sink.bytes - dataStart;
      if (end !== offsets[i]! + sizes[i]!) throw new Error("GGUF: internal offset mismatch");
      await sink.zeros(alignUp(end, alignment) - end);
      opts.onProgress?.(sink.bytes, dataStart + dataBytes);
    }
    if (sink.bytes !== dataStart + dataBytes) throw new Error("GGUF: internal size mismatch");
    await sink.flush();
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    return { path, bytes: sink.bytes, sha256: sink.hash.digest("hex") };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
