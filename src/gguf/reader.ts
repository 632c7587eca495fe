// Reads the metadata of a GGUF file back as typed values (the writer's GgufValue), so metadata
// can be copied from one file to another with its exact GGUF types (token_type stays INT32,
// scores FLOAT32, ids UINT32, ...), and the tensor infos and one tensor's data, decoded to
// float32 as llama.cpp decodes it (dequantize_row_* for the block types, quant.ts).
// Layout: see writer.ts.

import { open, readFile } from "node:fs/promises";
import { f16BitsToF32 } from "./f16.js";
import { dequantize } from "./quant.js";
import {
  GGUF_DEFAULT_ALIGNMENT,
  ggufTensorTypeOfId,
  tensorDataBytes,
  type GgufTensorType,
  type GgufValue,
} from "./writer.js";

const GGUF_MAGIC = 0x46554747; // "GGUF" as a little-endian u32

/** Thrown when the buffer ends before the metadata does (a truncated read). */
export class GgufTruncatedError extends Error {}

class Cursor {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): number {
    if (this.offset + n > this.buf.length) throw new GgufTruncatedError("GGUF: unexpected end of data");
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.buf.readUInt8(this.need(1));
  }
  i8(): number {
    return this.buf.readInt8(this.need(1));
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  i16(): number {
    return this.buf.readInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  i64(): bigint {
    return this.buf.readBigInt64LE(this.need(8));
  }
  f32(): number {
    return this.buf.readFloatLE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  count(): number {
    const n = this.u64();
    if (n > BigInt(this.buf.length)) throw new GgufTruncatedError(`GGUF: length ${n} exceeds the data`);
    return Number(n);
  }
  string(): string {
    const n = this.count();
    const at = this.need(n);
    return this.buf.toString("utf8", at, at + n);
  }
  skip(n: number): void {
    this.need(n);
  }
  /** A copy of `n` little-endian 4-byte values (aligned, so typed arrays can view them). */
  words(n: number): Buffer {
    const at = this.need(n * 4);
    return Buffer.from(this.buf.subarray(at, at + n * 4));
  }
}

// gguf_type ids
const T = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

/** Element sizes of the array types the writer cannot write (read past, not returned). */
const SKIPPED_ARRAY_ELEMENT_BYTES: Record<number, number> = {
  [T.u8]: 1,
  [T.i8]: 1,
  [T.bool]: 1,
  [T.u16]: 2,
  [T.i16]: 2,
  [T.u64]: 8,
  [T.i64]: 8,
  [T.f64]: 8,
};

/** One value, or undefined for an array type the writer has no GgufValue for (its bytes are skipped). */
function readValue(c: Cursor, type: number, key: string): GgufValue | undefined {
  switch (type) {
    case T.u8:
      return { type: "u8", value: c.u8() };
    case T.i8:
      return { type: "i8", value: c.i8() };
    case T.u16:
      return { type: "u16", value: c.u16() };
    case T.i16:
      return { type: "i16", value: c.i16() };
    case T.u32:
      return { type: "u32", value: c.u32() };
    case T.i32:
      return { type: "i32", value: c.i32() };
    case T.f32:
      return { type: "f32", value: c.f32() };
    case T.bool:
      return { type: "bool", value: c.u8() !== 0 };
    case T.string:
      return { type: "string", value: c.string() };
    case T.u64:
      return { type: "u64", value: c.u64() };
    case T.i64:
      return { type: "i64", value: c.i64() };
    case T.f64:
      return { type: "f64", value: c.f64() };
    case T.array: {
      const elem = c.u32();
      const n = c.count();
      if (elem === T.string) {
        const out = new Array<string>(n);
        for (let i = 0; i < n; i++) out[i] = c.string();
        return { type: "string[]", value: out };
      }
      // The writer's array types; copies are made so the typed arrays are 4-byte aligned.
      if (elem === T.f32) {
        const b = c.words(n);
        return { type: "f32[]", value: new Float32Array(b.buffer, b.byteOffset, n) };
      }
      if (elem === T.i32) {
        const b = c.words(n);
        return { type: "i32[]", value: new Int32Array(b.buffer, b.byteOffset, n) };
      }
      if (elem === T.u32) {
        const b = c.words(n);
        return { type: "u32[]", value: new Uint32Array(b.buffer, b.byteOffset, n) };
      }
      const size = SKIPPED_ARRAY_ELEMENT_BYTES[elem];
      if (size === undefined) throw new Error(`GGUF: ${key}: arrays of gguf_type ${elem} are not supported`);
      c.skip(n * size);
      return undefined;
    }
    default:
      throw new Error(`GGUF: ${key}: unknown gguf_type ${type}`);
  }
}

export interface GgufMetadata {
  version: number;
  tensorCount: bigint;
  /** Key-value pairs in file order. */
  metadata: Array<[key: string, value: GgufValue]>;
  /** Keys whose values are arrays of a type GgufValue cannot hold (u8, bool, u64, ...): not in `metadata`. */
  skipped: string[];
}

/**
 * Parses the header and metadata of a GGUF file held in `buf` (the whole file or a prefix).
 * `stopAfter` ends the parse early once it returns true for a key (the pairs read so far,
 * that key included, are returned), so a prefix of the file is enough to check a few keys.
 */
export function parseGgufMetadata(buf: Buffer, opts: { stopAfter?: (key: string) => boolean } = {}): GgufMetadata {
  return parseMetadata(new Cursor(buf), opts);
}

function parseMetadata(c: Cursor, opts: { stopAfter?: (key: string) => boolean } = {}): GgufMetadata {
  if (c.u32() !== GGUF_MAGIC) throw new Error("GGUF: not a GGUF file (bad magic)");
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`GGUF: unsupported version ${version}`);
  const tensorCount = c.u64();
  const kvCount = Number(c.u64());
  const metadata: Array<[string, GgufValue]> = [];
  const skipped: string[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = c.string();
    const value = readValue(c, c.u32(), key);
    if (value === undefined) skipped.push(key);
    else metadata.push([key, value]);
    if (opts.stopAfter?.(key)) break;
  }
  return { version, tensorCount, metadata, skipped };
}

/** Reads a GGUF file's metadata (reads the whole file: meant for vocabulary-only files). */
export async function readGgufMetadata(path: string): Promise<GgufMetadata> {
  return parseGgufMetadata(await readFile(path));
}

/** The first `bytes` bytes of a file (fewer if the file is shorter). */
export async function readFilePrefix(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface GgufTensorInfo {
  name: string;
  /** Fastest-varying first, as in the file. */
  dims: number[];
  /** The ggml_type id. */
  typeId: number;
  /** The type, if it is one the writer writes (F32, F16, Q8_0, Q4_0, Q6_K). */
  type: GgufTensorType | undefined;
  /** Offset of the data in the file. */
  fileOffset: number;
  /** Bytes of data (known for the writer's types). */
  bytes: number | undefined;
}

export interface GgufHeader extends GgufMetadata {
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Offset of the data section in the file. */
  dataOffset: number;
}

/** Parses the metadata and the tensor infos (throws GgufTruncatedError if `buf` ends first). */
export function parseGgufHeader(buf: Buffer): GgufHeader {
  const c = new Cursor(buf);
  const md = parseMetadata(c);
  const alignmentValue = md.metadata.find(([k]) => k === "general.alignment")?.[1];
  const alignment = alignmentValue?.type === "u32" ? alignmentValue.value : GGUF_DEFAULT_ALIGNMENT;
  const infos: Array<Omit<GgufTensorInfo, "fileOffset"> & { offset: number }> = [];
  for (let i = 0n; i < md.tensorCount; i++) {
    const name = c.string();
    const nDims = c.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(Number(c.u64()));
    const typeId = c.u32();
    const offset = Number(c.u64());
    const type = ggufTensorTypeOfId(typeId);
    infos.push({
      name,
      dims,
      typeId,
      type,
      offset,
      bytes: type === undefined ? undefined : tensorDataBytes(name, dims, type),
    });
  }
  const dataOffset = Math.ceil(c.offset / alignment) * alignment;
  const tensors = infos.map(({ offset, ...t }) => ({ ...t, fileOffset: dataOffset + offset }));
  return { ...md, tensors, alignment, dataOffset };
}

/** Reads a GGUF file's metadata and tensor infos (only as much of the file as they take). */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  for (let bytes = 1 << 20; ; bytes *= 4) {
    const buf = await readFilePrefix(path, bytes);
    try {
      return parseGgufHeader(buf);
    } catch (err) {
      if (!(err instanceof GgufTruncatedError) || buf.length < bytes) throw err;
    }
  }
}

/** One tensor of a GGUF file: its info, its raw bytes, and its values decoded to float32 as llama.cpp decodes them. */
export async function readGgufTensor(
  path: string,
  name: string,
): Promise<{ info: GgufTensorInfo; raw: Buffer; values: Float32Array }> {
  const header = await readGgufHeader(path);
  const info = header.tensors.find((t) => t.name === name);
  if (!info) throw new Error(`GGUF: ${path} has no tensor ${name}`);
  if (info.type === undefined || info.bytes === undefined)
    throw new Error(`GGUF: tensor ${name} has ggml_type ${info.typeId}, which this reader cannot decode`);
  const raw = Buffer.alloc(info.bytes);
  const fh = await open(path, "r");
  try {
    const { bytesRead } = await fh.read(raw, 0, raw.length, info.fileOffset);
    if (bytesRead !== raw.length) throw new GgufTruncatedError(`GGUF: tensor ${name} ends after the end of the file`);
  } finally {
    await fh.close();
  }
  const count = info.dims.reduce((a, b) => a * b, 1);
  let values: Float32Array;
  if (info.type === "f32") {
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = raw.readFloatLE(i * 4);
  } else if (info.type === "f16") {
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = f16BitsToF32(raw.readUInt16LE(i * 2));
  } else {
    values = dequantize(info.type, raw, count);
  }
  return { info, raw, values };
}
