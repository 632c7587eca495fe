import { appendFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AnswerCache, cacheKey } from "../src/cache/answerCache.js";

const parts = (text: string) => ({
  backend: { engine: "x", modelSha256: "m" },
  prompt: { text, segmentEnds: [3] },
  answer: { mode: "letters", letters: ["A", "B"] },
});

describe("answer cache", () => {
  it("keys cover every part that changes an answer", () => {
    const base = cacheKey(parts("p"));
    expect(cacheKey(parts("p"))).toBe(base);
    expect(cacheKey(parts("q"))).not.toBe(base);
    expect(cacheKey({ ...parts("p"), backend: { engine: "x", modelSha256: "other" } })).not.toBe(base);
    expect(cacheKey({ ...parts("p"), prompt: { text: "p", segmentEnds: [2] } })).not.toBe(base);
    expect(cacheKey({ ...parts("p"), answer: { mode: "letters", letters: ["A", "B", "C"] } })).not.toBe(base);
  });

  it("persists across processes and keeps values exact", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-cache-"));
    const a = AnswerCache.open(dir);
    const value = { probs: { A: 0.1 + 0.2, B: 1 / 3 }, mass: 0.123456789012345 };
    const key = cacheKey(parts("p"));
    a.put(key, value);
    const b = AnswerCache.open(dir);
    expect(b.get(key)).toEqual(value);
    expect(b.summary().entries).toBe(1);
  });

  it("ignores a torn line and a line whose checksum does not match", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-cache-"));
    const a = AnswerCache.open(dir);
    const k1 = cacheKey(parts("one"));
    const k2 = cacheKey(parts("two"));
    a.put(k1, { v: 1 });
    a.put(k2, { v: 2 });
    const seg = path.join(dir, "answers", readdirSync(path.join(dir, "answers"))[0]!);
    // A writer killed mid-line, then a line with a forged value.
    appendFileSync(seg, `{"k":"${cacheKey(parts("three"))}","v":{"v":3},"c":"0123456789abcdef"}\n`);
    appendFileSync(seg, `{"k":"${cacheKey(parts("four"))}","v":{"v":`);
    const b = AnswerCache.open(dir);
    expect(b.get(k1)).toEqual({ v: 1 });
    expect(b.get(k2)).toEqual({ v: 2 });
    expect(b.get(cacheKey(parts("three")))).toBeUndefined();
    expect(b.get(cacheKey(parts("four")))).toBeUndefined();
    expect(b.summary().tornLines).toBe(2);
    // New answers go to a fresh segment, never after the torn tail.
    b.put(cacheKey(parts("five")), { v: 5 });
    expect(AnswerCache.open(dir).get(cacheKey(parts("five")))).toEqual({ v: 5 });
  });

  it("gives every writer its own segment, even two in one process in the same millisecond", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vl-cache-"));
    const writers = Array.from({ length: 5 }, () => AnswerCache.open(dir));
    writers.forEach((w, i) => w.put(cacheKey(parts(`w${i}`)), { i }));
    expect(readdirSync(path.join(dir, "answers"))).toHaveLength(5);
    const reader = AnswerCache.open(dir);
    writers.forEach((_, i) => expect(reader.get(cacheKey(parts(`w${i}`)))).toEqual({ i }));
  });
});
