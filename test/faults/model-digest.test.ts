// Issue 10, fault 1: the model digest memo must not take a different GGUF of the same size,
// with its mtime restored (cp -p, rsync -a), for the file it hashed before.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { contentSample, modelDigest, SAMPLE_BLOCK, SAMPLE_INNER_BLOCKS } from "../../src/backends/modelDigest.js";
import { testModelSpec, writeLlamaModel } from "../../src/gguf/testModel.js";
import { sha256 } from "../../src/util/hash.js";

/** Two tiny models that differ only in their random weights: same size, different bytes. */
async function twoModels(dir: string) {
  const a = await writeLlamaModel({ ...testModelSpec("tiny", { seed: 1 }), out: path.join(dir, "a.gguf") });
  const b = await writeLlamaModel({ ...testModelSpec("tiny", { seed: 2 }), out: path.join(dir, "b.gguf") });
  expect(a.bytes).toBe(b.bytes);
  expect(a.sha256).not.toBe(b.sha256);
  return { a, b };
}

/** A model file's times, whole seconds (so that utimes can restore them exactly). */
const TIMES = 1_700_000_000;

/** Put `from`'s bytes at `to` and give `to` back the atime/mtime it had (what cp -p / rsync -a leave). */
function replaceKeepingTimes(from: string, to: string, how: "in-place" | "rename") {
  const before = statSync(to);
  expect(before.mtimeMs).toBe(TIMES * 1000);
  if (how === "in-place") copyFileSync(from, to);
  else {
    const tmp = `${to}.partial`;
    copyFileSync(from, tmp);
    renameSync(tmp, to);
  }
  utimesSync(to, TIMES, TIMES);
  const after = statSync(to);
  // The fault as reported: the same path, size and mtime.
  expect(after.size).toBe(before.size);
  expect(after.mtimeMs).toBe(before.mtimeMs);
}

function memoOf(file: string): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(file, "utf8"));
}

describe("model digest memo", () => {
  it.each(["in-place", "rename"] as const)(
    "a same-size model copied over the file with its mtime restored (%s) gets its own sha256",
    async (how) => {
      const dir = mkdtempSync(path.join(tmpdir(), "vl-digest-"));
      const { a, b } = await twoModels(dir);
      const model = path.join(dir, "model.gguf");
      const memo = path.join(dir, "memo.json");
      copyFileSync(a.path, model);
      utimesSync(model, TIMES, TIMES);
      expect(await modelDigest(model, memo)).toBe(a.sha256);
      replaceKeepingTimes(b.path, model, how);
      expect(await modelDigest(model, memo)).toBe(b.sha256);
      // The memo now remembers the new file.
      expect(memoOf(memo)[path.resolve(model)]!.sha256).toBe(b.sha256);
    },
  );

  it("the memo is used while the file is unchanged (a planted digest comes back)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-digest-hit-"));
    const { a } = await twoModels(dir);
    const memo = path.join(dir, "memo.json");
    expect(await modelDigest(a.path, memo)).toBe(a.sha256);
    const m = memoOf(memo);
    const planted = "0".repeat(64);
    m[path.resolve(a.path)]!.sha256 = planted;
    writeFileSync(memo, JSON.stringify(m));
    expect(await modelDigest(a.path, memo)).toBe(planted);
  });

  it("the content sample catches a swap even where ctime and inode say nothing changed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-digest-sample-"));
    const { a, b } = await twoModels(dir);
    const model = path.join(dir, "model.gguf");
    const memo = path.join(dir, "memo.json");
    copyFileSync(a.path, model);
    utimesSync(model, TIMES, TIMES);
    expect(await modelDigest(model, memo)).toBe(a.sha256);
    replaceKeepingTimes(b.path, model, "in-place");
    // A filesystem without reliable ctime/inode: make the memo's identity match the new file.
    const st = statSync(model, { bigint: true });
    const m = memoOf(memo);
    Object.assign(m[path.resolve(model)]!, {
      ctimeNs: String(st.ctimeNs),
      ino: String(st.ino),
      dev: String(st.dev),
      mtimeNs: String(st.mtimeNs),
    });
    writeFileSync(memo, JSON.stringify(m));
    expect(await modelDigest(model, memo)).toBe(b.sha256);
  });

  it("a large file is sampled at its first and last MiB and at fixed fractions: a change in a sampled block changes the sample", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-digest-large-"));
    const size = (SAMPLE_INNER_BLOCKS + 2) * SAMPLE_BLOCK + 12345;
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    const file = path.join(dir, "big.bin");
    writeFileSync(file, bytes);
    const base = contentSample(file, size);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(contentSample(file, size)).toBe(base);
    const sampledOffsets = [0, Math.floor(size / (SAMPLE_INNER_BLOCKS + 1)) + 17, size - 1];
    for (const at of sampledOffsets) {
      const changed = Buffer.from(bytes);
      changed[at] = changed[at]! ^ 0xff;
      writeFileSync(file, changed);
      expect(contentSample(file, size), `byte ${at}`).not.toBe(base);
    }
    // What it still trusts (documented): a byte between the sampled blocks is not read.
    const between = SAMPLE_BLOCK + 10;
    expect(between).toBeLessThan(Math.floor(size / (SAMPLE_INNER_BLOCKS + 1)));
    const changed = Buffer.from(bytes);
    changed[between] = changed[between]! ^ 0xff;
    writeFileSync(file, changed);
    expect(contentSample(file, size)).toBe(base);
  });

  it("a memo entry written by an older valuelens (path, size, mtime only) is a miss", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-digest-old-"));
    const { a } = await twoModels(dir);
    const memo = path.join(dir, "memo.json");
    const st = statSync(a.path);
    writeFileSync(
      memo,
      JSON.stringify({ [path.resolve(a.path)]: { size: st.size, mtimeMs: st.mtimeMs, sha256: sha256("old") } }),
    );
    expect(await modelDigest(a.path, memo)).toBe(a.sha256);
  });
});
