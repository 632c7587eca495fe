import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { VIA_CSV_NAME, VIA_ZIP_URL, extractCsvFromZip, fetchVia, listZipEntries } from "../src/datasets/fetch.js";
import { UserError } from "../src/util/errors.js";

/** A minimal zip (local headers + central directory) built with node:zlib. */
function makeZip(files: { name: string; data: Buffer; method: 0 | 8 }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.method === 8 ? deflateRawSync(f.data) : f.data;
    const name = Buffer.from(f.name, "utf8");
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(f.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(f.method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(files.length, 8);
  eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const CSV = Buffer.from(
  ",Unnamed: 0,country,topic,value,polarity,generation_prompt\n" +
    "0,0,Nigeria,Politics,Equality,positive,x\n".repeat(200),
);
const CSV_SHA = createHash("sha256").update(CSV).digest("hex");

function fakeFetch(body: Buffer | Error, calls: string[] = []) {
  return async (url: string) => {
    calls.push(url);
    if (body instanceof Error) throw body;
    return {
      ok: true,
      status: 200,
      arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
    };
  };
}

function hasPython(): boolean {
  try {
    execFileSync("python3", ["-c", "import zipfile"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("zip reading", () => {
  const dir = mkdtempSync(join(tmpdir(), "valuelens-zip-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("extracts a deflated or stored CSV entry", () => {
    for (const method of [8, 0] as const) {
      const zip = makeZip([
        { name: "__MACOSX/._data.csv", data: Buffer.from("junk"), method: 0 },
        { name: "data/via.csv", data: CSV, method },
      ]);
      expect(listZipEntries(zip).map((e) => e.name)).toEqual(["__MACOSX/._data.csv", "data/via.csv"]);
      const out = extractCsvFromZip(zip);
      expect(out.name).toBe("data/via.csv");
      expect(out.data.equals(CSV)).toBe(true);
    }
  });

  it.skipIf(!hasPython())("reads a zip written by Python's zipfile", () => {
    const csvPath = join(dir, "in.csv");
    const zipPath = join(dir, "py.zip");
    writeFileSync(csvPath, CSV);
    execFileSync("python3", [
      "-c",
      "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], 'value_action_gap_full_data_generation.csv')",
      csvPath,
      zipPath,
    ]);
    const out = extractCsvFromZip(readFileSync(zipPath));
    expect(out.name).toBe("value_action_gap_full_data_generation.csv");
    expect(out.data.equals(CSV)).toBe(true);
  });

  it("rejects a file that is not a zip, or a zip without exactly one CSV", () => {
    expect(() => extractCsvFromZip(Buffer.from("hello, this is not a zip file at all"))).toThrow(/not a zip/);
    expect(() => extractCsvFromZip(makeZip([{ name: "readme.txt", data: Buffer.from("x"), method: 8 }]))).toThrow(
      /one CSV/,
    );
  });
});

describe("fetchVia", () => {
  const dir = mkdtempSync(join(tmpdir(), "valuelens-fetch-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("downloads the pinned zip, verifies and caches the CSV atomically", async () => {
    const cacheDir = join(dir, "cache", "via");
    const calls: string[] = [];
    const zip = makeZip([{ name: VIA_CSV_NAME, data: CSV, method: 8 }]);
    const path = await fetchVia({ cacheDir, expectedSha256: CSV_SHA, fetchImpl: fakeFetch(zip, calls) });
    expect(path).toBe(join(cacheDir, VIA_CSV_NAME));
    expect(readFileSync(path).equals(CSV)).toBe(true);
    expect(calls).toEqual([VIA_ZIP_URL]);
    expect(readdirSync(cacheDir)).toEqual([VIA_CSV_NAME]);
    // A second call reuses the verified copy.
    expect(await fetchVia({ cacheDir, expectedSha256: CSV_SHA, fetchImpl: fakeFetch(zip, calls) })).toBe(path);
    expect(calls).toHaveLength(1);
  });

  it("refuses a CSV whose sha256 does not match (default: the released file's)", async () => {
    const cacheDir = join(dir, "bad");
    const zip = makeZip([{ name: VIA_CSV_NAME, data: CSV, method: 8 }]);
    const p = fetchVia({ cacheDir, fetchImpl: fakeFetch(zip) });
    await expect(p).rejects.toBeInstanceOf(UserError);
    await expect(fetchVia({ cacheDir, fetchImpl: fakeFetch(zip) })).rejects.toThrow(
      /has sha256 [0-9a-f]{64}, expected 892e5258.*--via PATH/,
    );
    expect(existsSync(join(cacheDir, VIA_CSV_NAME))).toBe(false);
  });

  it("gives a one-line error saying how to get the file by hand when offline", async () => {
    const offline = new TypeError("fetch failed", { cause: new Error("getaddrinfo ENOTFOUND github.com") });
    const err = (await fetchVia({ cacheDir: join(dir, "offline"), fetchImpl: fakeFetch(offline) }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(
      /^could not download the VIA dataset \(getaddrinfo ENOTFOUND github.com\); download https:\/\/github.com\/.*\.zip by hand, unzip it, and pass --via PATH\/value_action_gap_full_data_generation.csv$/,
    );
    expect(err.message).not.toContain("\n");
    const http = async () => ({ ok: false, status: 404, arrayBuffer: async () => new ArrayBuffer(0) });
    await expect(fetchVia({ cacheDir: join(dir, "404"), fetchImpl: http })).rejects.toThrow(/HTTP 404/);
  });
});
