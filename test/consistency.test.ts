// No wrong number enters a record or the cache (issue 22, item 4): every record is checked for
// consistency when read (its line named), and an impossible distribution from a backend becomes
// a failed question, never an answer, never cached; a cached one is asked again.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { newCounters, type Backend, type LetterScores, type PreparedPrompt } from "../src/backends/backend.js";
import { AnswerCache } from "../src/cache/answerCache.js";
import { impossibleLetters, toCachedLetters } from "../src/elicitation/letters.js";
import { recordProblem } from "../src/records/consistency.js";
import type { RunRecord } from "../src/records/records.js";
import { ask } from "../src/runner/answer.js";
import { loadVia, SAMPLE_VIA_PATH } from "../src/suites/via/dataset.js";
import { buildRunQuestions } from "../src/suites/runQuestions.js";
import { readRunRecords } from "../src/runs/load.js";
import { testConfig } from "./helpers/config.js";
import { valuelens } from "./helpers/cli.js";
import { PROJECT_ROOT, tinyModelPath } from "./helpers/models.js";
import { SCRIPTED_INFO } from "./helpers/scripted.js";

const FIXTURE = path.join(PROJECT_ROOT, "test", "fixtures", "runs", "via-letters");
const lines = () => readFileSync(path.join(FIXTURE, "records.jsonl"), "utf8").split("\n").filter(Boolean);

/** A copy of the fixture run with its record on `line` (1-based) changed by `edit`. */
function edited(line: number, edit: (r: RunRecord) => void): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), "vl-consistency-")), "run");
  cpSync(FIXTURE, dir, { recursive: true });
  const all = lines();
  const record = JSON.parse(all[line - 1]!) as RunRecord;
  edit(record);
  all[line - 1] = JSON.stringify(record);
  writeFileSync(path.join(dir, "records.jsonl"), `${all.join("\n")}\n`);
  return dir;
}

describe("records are consistent when read", () => {
  it("the fixture's records pass; a score edited against its optionProbs is refused with its line", () => {
    expect(readRunRecords(FIXTURE).records).toHaveLength(lines().length);
    const dir = edited(3, (r) => {
      r.score = r.score! > 0.5 ? r.score! - 0.5 : r.score! + 0.5; // one digit, optionProbs untouched
    });
    expect(() => readRunRecords(dir)).toThrow(
      /line 3 \(.+\) is not consistent: score .* is not the .* its optionProbs give/,
    );
  });

  it("negative or non-summing probabilities, a score of 7, a mass above 1 and a failed record with an answer", () => {
    const record = JSON.parse(lines()[0]!) as RunRecord;
    const variant = (edit: (r: RunRecord) => void) => {
      const r = structuredClone(record);
      edit(r);
      return recordProblem(r);
    };
    expect(recordProblem(record)).toBeUndefined();
    expect(variant((r) => (r.optionProbs!.agree = -0.1))).toMatch(/optionProbs.agree is -0.1/);
    expect(variant((r) => (r.letters!.probs.A = r.letters!.probs.A! + 0.01))).toMatch(/letters.probs sum to/);
    expect(variant((r) => (r.score = 7))).toBe("score 7 is not in [0, 1]");
    expect(variant((r) => (r.letters!.mass = 6.3))).toMatch(/letters.mass 6.3/);
    expect(variant((r) => (r.failed = { reason: "x", status: null }))).toBe("a failed record carries an answer");
  });
});

/** One VIA letters question and a backend that answers it with `scores`. */
async function setUp(scores: Omit<LetterScores, "evaluatedTokens" | "reusedTokens">) {
  const q = buildRunQuestions(testConfig({ tasks: ["stated"], repeats: 1 }), await loadVia(SAMPLE_VIA_PATH))[0]!;
  let asked = 0;
  const backend: Backend = {
    info: SCRIPTED_INFO,
    counters: newCounters(),
    laneCount: 1,
    reusesPrefixes: false,
    prepare: (segments: string[]): PreparedPrompt => ({
      text: segments.join(""),
      tokens: [1, 2, 3],
      segmentEnds: [3],
      userMessage: segments.join(""),
      mode: "letters",
    }),
    scoreLetters: async () => {
      asked++;
      return { ...scores, evaluatedTokens: 3, reusedTokens: 0 };
    },
    generate: () => Promise.reject(new Error("not used")),
    close: async () => {},
  };
  const cache = AnswerCache.open(mkdtempSync(path.join(tmpdir(), "vl-consistency-cache-")));
  return { q, backend, cache, asked: () => asked };
}

const letters = (p: Record<string, number>, mass: number): Omit<LetterScores, "evaluatedTokens" | "reusedTokens"> => ({
  probs: p,
  mass,
  perLetter: Object.entries(p).map(([letter, x]) => ({ letter, p: x * mass, spellings: { [letter]: x * mass } })),
  topToken: { text: "A", p: 0.5 },
  method: "scripted",
});

describe("impossible distributions from a backend", () => {
  it("a letter mass of 50 (positive logprobs) is a failed question, not an answer, and is not cached", async () => {
    const { q, backend, cache } = await setUp(letters({ A: 0.25, B: 0.25, C: 0.25, D: 0.25 }, 50));
    const asked = await ask(backend, cache, q, 0);
    expect(asked.failed?.reason).toMatch(/impossible distribution \(letter mass 50\)/);
    expect(asked.record.score).toBeNull();
    expect(asked.record.letters).toBeUndefined();
    expect(cache.has(asked.record.cacheKey)).toBe(false);
  });

  it("NaN and infinite probabilities (a logprob of 1000) are failed questions too", async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const { q, backend, cache } = await setUp(letters({ A: bad, B: 0, C: 0, D: 0 }, 0.5));
      const asked = await ask(backend, cache, q, 0);
      expect(asked.failed?.reason).toMatch(/impossible distribution/);
      expect(cache.has(asked.record.cacheKey)).toBe(false);
    }
  });

  it("an impossible cache entry is dropped and the question asked again", async () => {
    const good = letters({ A: 0.4, B: 0.3, C: 0.2, D: 0.1 }, 0.5);
    const { q, backend, cache, asked } = await setUp(good);
    const first = await ask(backend, cache, q, 0);
    expect(asked()).toBe(1);
    // The entry as an older valuelens could have written it: null probabilities.
    const bad = { ...toCachedLetters({ ...good, evaluatedTokens: 0, reusedTokens: 0 }), probs: { A: null } };
    expect(impossibleLetters(bad as never)).toMatch(/probability null/);
    cache.drop(first.record.cacheKey);
    cache.put(first.record.cacheKey, bad);
    const again = await ask(backend, cache, q, 0);
    expect(asked()).toBe(2);
    expect(again.cacheHit).toBe(false);
    expect(again.record.optionProbs).toEqual(first.record.optionProbs);
  });
});

describe("records that belong to the run", () => {
  it("one task's records replaced by another model's records of the same ids: every reader refuses", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-membership-"));
    const run = (model: string, out: string) =>
      valuelens([
        "run",
        "--model",
        model,
        "--via",
        "sample",
        "--limit",
        "2",
        "--repeats",
        "1",
        "--progress",
        "quiet",
        "--out",
        out,
      ]);
    const a = path.join(work, "f16");
    const b = path.join(work, "q8_0");
    expect(run(await tinyModelPath("f16"), a).code).toBe(0);
    expect(run(await tinyModelPath("q8_0"), b).code).toBe(0);
    const other = new Map(
      readFileSync(path.join(b, "records.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => [JSON.parse(l).id as string, l]),
    );
    const swapped = readFileSync(path.join(a, "records.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l).task === "stated" ? other.get(JSON.parse(l).id)! : l));
    writeFileSync(path.join(a, "records.jsonl"), `${swapped.join("\n")}\n`);
    // Each record is consistent in itself; they are not the ones this run wrote.
    for (const args of [
      ["report", a, "--quiet"],
      ["compare", a, b, "--out", path.join(work, "cmp")],
    ]) {
      const r = valuelens(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("is not what valuelens wrote for this run");
    }
  }, 60_000);
});
