/**
 * Membership of records in their run: the manifest keeps the length and sha256 of the
 * records.jsonl bytes valuelens wrote (`Manifest.records`), and every reader of a run directory
 * (report, merge, compare, view) checks them (runs/load.ts). A record replaced by another
 * model's record of the same id, edited, or removed changes those bytes.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";

export interface RecordsDigest {
  bytes: number;
  sha256: string;
}

/** The digest of the first `bytes` bytes of `file` (the whole file when absent); undefined when it is shorter. */
export function recordsDigest(file: string, bytes?: number): RecordsDigest | undefined {
  const hash = createHash("sha256");
  let total = 0;
  if (existsSync(file)) {
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const want = bytes === undefined ? buf.length : Math.min(buf.length, bytes - total);
        if (want <= 0) break;
        const n = readSync(fd, buf, 0, want, total);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        total += n;
      }
    } finally {
      closeSync(fd);
    }
  }
  if (bytes !== undefined && total < bytes) return undefined;
  return { bytes: total, sha256: hash.digest("hex") };
}
