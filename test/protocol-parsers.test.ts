import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { parseActionAnswer, parseStatedAnswer, statedRating } from "../src/suites/via/paper.js";
import { VALUE_NAMES } from "../src/protocol/values.js";
import { FIDELITY, haveShared, SHARED } from "./helpers/shared.js";

const RELEASED = SHARED.releasedOutputs;
const haveReleased = haveShared(
  "protocol-parsers.test",
  "the checks on released model outputs",
  resolve(RELEASED, "gemma-2-9b-it_t1.csv"),
);

function answer(rating: (name: string, i: number) => string | number): string {
  return JSON.stringify(Object.fromEntries(VALUE_NAMES.map((n, i) => [n, rating(n, i)])), null, 2);
}

describe("parseStatedAnswer", () => {
  it("parses a fenced JSON answer with string options", () => {
    const r = parseStatedAnswer(
      "Sure!\n```json\n" + answer((_, i) => String((i % 4) + 1)) + "\n```\nNote: generalizations.",
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.ratings)).toHaveLength(56);
      expect(r.ratings["Equality"]).toBe(1);
      expect(r.ratings["Pleasure"]).toBe(4);
    }
  });

  it("maps portrait phrases, with 'not like me at all' winning over 'like me'", () => {
    expect(statedRating("Not like me at all")).toBe(4);
    expect(statedRating("not like me")).toBe(3);
    expect(statedRating("like me")).toBe(2);
    expect(statedRating("Very much like me")).toBe(1);
    expect(statedRating("3: not like me")).toBe(3);
    expect(statedRating("2 (agree)")).toBe(2);
    expect(statedRating(4)).toBe(4);
    expect(statedRating("5")).toBeUndefined();
    expect(statedRating("strongly agree")).toBeUndefined();
    const phrases = ["very much like me", "like me", "not like me", "Not like me at all"];
    const r = parseStatedAnswer(answer((_, i) => phrases[i % 4]!));
    expect(
      r.ok && [r.ratings["Equality"], r.ratings["Inner Harmony"], r.ratings["Social Power"], r.ratings["Pleasure"]],
    ).toEqual([1, 2, 3, 4]);
  });

  it("is lenient with broken JSON (trailing comma, missing comma, curly quote, no braces)", () => {
    const good = answer(() => "2");
    expect(parseStatedAnswer(good.replace(/"\n}$/, '",\n}')).ok).toBe(true);
    expect(parseStatedAnswer(good.replace('"Clean"', '\u201cClean"')).ok).toBe(true);
    expect(parseStatedAnswer(good.replace('"2",\n  "Clean"', '"2"\n  "Clean"')).ok).toBe(true);
    expect(parseStatedAnswer("```json\n" + good.slice(1, -1) + "\n```").ok).toBe(true);
    expect(parseStatedAnswer(good.toLowerCase()).ok).toBe(true);
  });

  it("is not ok unless all 56 values are rated, and says how many were", () => {
    const missing = JSON.parse(answer(() => "1")) as Record<string, string>;
    delete missing["Clean"];
    missing["Wealth"] = "5";
    const r = parseStatedAnswer(JSON.stringify(missing));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/^rated 54 of 56 values \(missing: Wealth, Clean\); invalid ratings: Wealth="5"/);
      expect(Object.keys(r.partial!)).toHaveLength(54);
    }
    const none = parseStatedAnswer("As an AI I do not have values.");
    expect(none).toEqual({ ok: false, reason: "no JSON object in the answer" });
  });
});

describe("parseActionAnswer", () => {
  it("parses JSON and Python-style answers", () => {
    expect(parseActionAnswer('{"action": "Option 1"}')).toEqual({ ok: true, option: 1 });
    expect(parseActionAnswer('```json\n{\n  "explanation": "...",\n  "action": "Option 2"\n}\n```')).toEqual({
      ok: true,
      option: 2,
    });
    expect(parseActionAnswer("{'action': 'Option 1'}")).toEqual({ ok: true, option: 1 });
    expect(
      parseActionAnswer(`{'explanation': "As an Australian, there's a strong tradition.", 'action': 'Option 2'}`),
    ).toEqual({ ok: true, option: 2 });
    expect(parseActionAnswer(`{'explanation': 'I don't have values, it's hard', 'action': 'Option 1'}`)).toEqual({
      ok: true,
      option: 1,
    });
    expect(parseActionAnswer('{"action": 2}')).toEqual({ ok: true, option: 2 });
    expect(parseActionAnswer("Option 2")).toEqual({ ok: true, option: 2 });
  });

  it("is not ok for other answers", () => {
    const both = parseActionAnswer("{'explanation': 'x', 'action': 'Both'}");
    expect(both).toEqual({ ok: false, reason: '"action" is "Both", not Option 1 or Option 2' });
    expect(parseActionAnswer("I would rather not choose.")).toEqual({
      ok: false,
      reason: 'no "action" field in the answer',
    });
  });
});

describe.skipIf(!haveReleased)("parsers on the released model outputs (../shared/released-outputs)", FIDELITY, () => {
  function t1Counts(file: string): { rows: number; ok: number } {
    const rows = parse(readFileSync(resolve(RELEASED, file)), { columns: true }) as Record<string, string>[];
    return { rows: rows.length, ok: rows.filter((r) => parseStatedAnswer(r["response"]!).ok).length };
  }

  // Independent check (a per-value regex over the fence-stripped text, in Python) gives the
  // same counts: gemma 1052/1056 (60, 344: 55 values; 374, 505: prose, no JSON), gpt-4o-mini
  // 1055/1056 (1039: truncated after 7 values). Strict json.loads alone keeps gemma 1043.
  it("parses 1052 of 1056 gemma-2-9b-it Task-1 answers with all 56 values", () => {
    expect(t1Counts("gemma-2-9b-it_t1.csv")).toEqual({ rows: 1056, ok: 1052 });
  });

  it("parses 1055 of 1056 gpt-4o-mini Task-1 answers with all 56 values", () => {
    expect(t1Counts("gpt-4o-mini_t1.csv")).toEqual({ rows: 1056, ok: 1055 });
  });

  it("parses the gemma-2-9b-it Task-2 wide sample (400 answers, one 'Both')", () => {
    const rows = parse(readFileSync(resolve(RELEASED, "gemma-2-9b-it_t2_wide_sample.csv")), {
      columns: true,
    }) as Record<string, string>[];
    const counts: Record<string, number> = {};
    for (const r of rows) {
      for (let i = 0; i < 8; i++) {
        const p = parseActionAnswer(r[`evaluation_${i}`]!);
        const k = p.ok ? `option${p.option}` : "not ok";
        counts[k] = (counts[k] ?? 0) + 1;
      }
    }
    expect(counts).toEqual({ option1: 200, option2: 199, "not ok": 1 });
  });
});
