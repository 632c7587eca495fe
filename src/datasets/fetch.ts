/**
 * Download the released VIA dataset (a zip holding one CSV) into a cache folder.
 *
 * The zip is read with node:zlib only (no dependency): the central directory gives each
 * entry's sizes and local-header offset, and the entry is stored or deflated.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { UserError } from "../util/errors.js";
import { VIA_CSV_NAME, VIA_CSV_SHA256 } from "../suites/via/dataset.js";

export { VIA_CSV_NAME };

/**
 * The upstream commit to download from.
 * Pinned to the commit of huashen218/value_action_gap that holds the released zip; the
 * unzipped CSV is also checked against its known sha256.
 */
export const VIA_PINNED_COMMIT = "a63a7d027044d5cb7e7d5c7da254b53bfd93aa22";
export const VIA_REPO = "huashen218/value_action_gap";
export const VIA_ZIP_PATH = "outputs/data_release/value_action_gap_full_data_generation.zip";
export const VIA_ZIP_URL = `https://github.com/${VIA_REPO}/raw/${VIA_PINNED_COMMIT}/${VIA_ZIP_PATH}`;
/** The zip's own sha256, when known (it is not: only the CSV's is published in PROTOCOL.md). */
export const VIA_ZIP_SHA256: string | null = null;

export interface FetchViaOptions {
  /** Folder for the downloaded CSV (created if missing). */
  cacheDir: string;
  /** Override the download address (tests, mirrors). */
  url?: string;
  /** Expected sha256 of the CSV; null skips the check. Default: the released file's. */
  expectedSha256?: string | null;
  /** Injected fetch (tests). Default: the global fetch. */
  fetchImpl?: (url: string) => Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The entries of a zip file, from its central directory. */
export function listZipEntries(zip: Buffer): ZipEntry[] {
  // End of central directory: signature 0x06054b50, within the last 22 + 65535 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip file (no end-of-central-directory record)");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      method: zip.readUInt16LE(p + 10),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      localHeaderOffset: zip.readUInt32LE(p + 42),
      name: zip.toString("utf8", p + 46, p + 46 + nameLen),
    };
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localHeaderOffset === 0xffffffff) {
      throw new Error("ZIP64 archives are not supported");
    }
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of one zip entry (stored or deflated). */
export function readZipEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const h = entry.localHeaderOffset;
  if (h + 30 > zip.length || zip.readUInt32LE(h) !== 0x04034b50)
    throw new Error(`corrupt zip local header for ${entry.name}`);
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (data.length !== entry.compressedSize) throw new Error(`zip entry ${entry.name} is truncated`);
  let out: Buffer;
  if (entry.method === 0) out = Buffer.from(data);
  else if (entry.method === 8) out = inflateRawSync(data);
  else
    throw new Error(
      `zip entry ${entry.name} uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
    );
  if (out.length !== entry.size)
    throw new Error(`zip entry ${entry.name} inflated to ${out.length} bytes, expected ${entry.size}`);
  return out;
}

/** The single CSV inside a zip (macOS "__MACOSX/" metadata entries ignored). */
export function extractCsvFromZip(zip: Buffer): { name: string; data: Buffer } {
  const csvs = listZipEntries(zip).filter(
    (e) => e.name.toLowerCase().endsWith(".csv") && !e.name.startsWith("__MACOSX/"),
  );
  if (csvs.length !== 1) throw new Error(`expected one CSV in the zip, found ${csvs.length}`);
  const entry = csvs[0]!;
  return { name: entry.name, data: readZipEntry(zip, entry) };
}

/** Write a file atomically: a temporary file in the same folder, then rename. */
async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Make sure the VIA CSV is in `cacheDir` and return its path: reuses a cached copy whose
 * sha256 matches, otherwise downloads the zip, checks it, unzips it, and writes the CSV
 * atomically. Offline or on a failed download: a one-line UserError saying how to get the
 * file by hand.
 */
export async function fetchVia(opts: FetchViaOptions): Promise<string> {
  const url = opts.url ?? VIA_ZIP_URL;
  const expected = opts.expectedSha256 === undefined ? VIA_CSV_SHA256 : opts.expectedSha256;
  const dest = join(opts.cacheDir, VIA_CSV_NAME);
  const byHand = `download ${url} by hand, unzip it, and pass --via PATH/${VIA_CSV_NAME}`;

  if (existsSync(dest)) {
    const cached = await readFile(dest);
    if (expected === null || sha256(cached) === expected) return dest;
  }

  const doFetch = opts.fetchImpl ?? ((u: string) => fetch(u));
  let zip: Buffer;
  try {
    const res = await doFetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    zip = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new UserError(`could not download the VIA dataset (${cause.replace(/\s+/g, " ")}); ${byHand}`);
  }
  if (VIA_ZIP_SHA256 !== null && url === VIA_ZIP_URL && sha256(zip) !== VIA_ZIP_SHA256) {
    throw new UserError(`the downloaded VIA zip has an unexpected sha256 ${sha256(zip)}; ${byHand}`);
  }
  let csv: Buffer;
  try {
    csv = extractCsvFromZip(zip).data;
  } catch (err) {
    throw new UserError(`the downloaded VIA zip could not be read (${(err as Error).message}); ${byHand}`);
  }
  const got = sha256(csv);
  if (expected !== null && got !== expected) {
    throw new UserError(
      `the downloaded VIA CSV has sha256 ${got}, expected ${expected} (the upstream file changed?); ${byHand}`,
    );
  }
  await mkdir(opts.cacheDir, { recursive: true });
  await writeAtomic(dest, csv);
  return dest;
}
