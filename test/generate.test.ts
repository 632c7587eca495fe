// `valuelens generate`: JSON-schema constrained generation on the tiny random-weight model
// (the grammar guarantees the shape even from random weights), validation, retries, the
// cache and resuming.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Backend, GenerateOptions, Generation, PreparedPrompt } from "../src/backends/backend.js";
import { newCounters } from "../src/backends/backend.js";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { AnswerCache } from "../src/cache/answerCache.js";
import { generateCommand } from "../src/cli/generate.js";
import { loadVia, viaPairs } from "../src/suites/via/dataset.js";
import { DilemmaSchema } from "../src/suites/dilemmas/schema.js";
import { generateActions, generateDilemmas, partialPath } from "../src/generate/generate.js";
import { checkDilemma, checkViaGeneration, parseJsonAnswer } from "../src/generate/schemas.js";
import { TEST_THREADS, tinyModelPath } from "./helpers/models.js";
import { SCRIPTED_INFO } from "./helpers/scripted.js";

const SMALL = { maxChars: 60, maxTokens: 512 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "valuelens-generate-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function readJsonl(file: string): unknown[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as unknown);
}

describe("generate on the tiny model", () => {
  let backend: LlamaCppBackend;
  beforeAll(async () => {
    backend = await LlamaCppBackend.load({
      name: "tiny",
      modelPath: await tinyModelPath(),
      contextSize: 2048,
      gpuLayers: 0,
      threads: TEST_THREADS,
      batchSize: 512,
      sequences: 1,
      flashAttention: false,
      gpu: false,
    });
  }, 60_000);
  afterAll(async () => {
    await backend?.close();
  });

  it("`generate dilemmas --model tiny` writes items that pass DilemmaSchema", async () => {
    const out = path.join(dir, "cli-dilemmas.jsonl");
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await generateCommand().parseAsync(
        [
          "dilemmas",
          "--model",
          "tiny",
          "--values",
          "Equality,Wealth",
          "--topics",
          "Politics",
          "--out",
          out,
          "--cache-dir",
          path.join(dir, "cli-cache"),
          "--max-chars",
          "60",
          "--quiet",
        ],
        { from: "user" },
      );
    } finally {
      write.mockRestore();
    }
    const items = readJsonl(out);
    expect(items).toHaveLength(2);
    for (const item of items) expect(DilemmaSchema.safeParse(item).success).toBe(true);
    expect(items.map((d) => (d as { id: string }).id)).toEqual(["equality-politics", "wealth-politics"]);
  }, 60_000);

  it("dilemmas: validated, resumable from the output file, and cached", async () => {
    const out = path.join(dir, "dilemmas.jsonl");
    const cache = AnswerCache.open(path.join(dir, "cache"));
    const first = await generateDilemmas(backend, cache, {
      values: ["Equality", "Wealth"],
      topics: ["Politics"],
      out,
      settings: SMALL,
    });
    expect(first.failures).toEqual([]);
    expect(first.counts).toMatchObject({ written: 2, skipped: 0, failed: 0 });
    const items = readJsonl(out);
    expect(items).toHaveLength(2);
    for (const item of items) expect(DilemmaSchema.parse(item).role.trim()).not.toBe("");

    // Rerun with the same --out: nothing is asked again.
    const evaluations = backend.counters.evaluations;
    const again = await generateDilemmas(backend, cache, {
      values: ["Equality", "Wealth"],
      topics: ["Politics"],
      out,
      settings: SMALL,
    });
    expect(again.counts).toMatchObject({ asked: 0, skipped: 2, written: 0, generations: 0 });
    expect(backend.counters.evaluations).toBe(evaluations);
    expect(readJsonl(out)).toHaveLength(2);

    // A fresh output file with the same cache: answered from the cache, byte-identical.
    const out2 = path.join(dir, "dilemmas-2.jsonl");
    const cached = await generateDilemmas(backend, AnswerCache.open(path.join(dir, "cache")), {
      values: ["Equality", "Wealth"],
      topics: ["Politics"],
      out: out2,
      settings: SMALL,
    });
    expect(cached.counts.generations).toBe(0);
    expect(cached.counts.cacheHits).toBeGreaterThanOrEqual(2);
    expect(backend.counters.evaluations).toBe(evaluations);
    expect(readFileSync(out2, "utf8")).toBe(readFileSync(out, "utf8"));
  }, 60_000);

  it("actions: a VIA CSV (both polarities) that loadVia accepts", async () => {
    const out = path.join(dir, "via.csv");
    const cache = AnswerCache.open(path.join(dir, "cache"));
    const res = await generateActions(backend, cache, {
      countries: ["Nigeria"],
      topics: ["Politics"],
      values: ["Equality"],
      out,
      settings: SMALL,
    });
    expect(res.failures).toEqual([]);
    expect(res.counts.written).toBe(2);
    const ds = await loadVia(out);
    expect(ds.rows).toBe(2);
    expect(ds.excluded).toEqual([]);
    expect(ds.actions.map((a) => a.polarity).sort()).toEqual(["negative", "positive"]);
    expect(viaPairs(ds)).toHaveLength(1);
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines[0]).toBe(",Unnamed: 0,country,topic,value,polarity,generation_prompt");
    expect(lines[1]!.startsWith("0,0,Nigeria,Politics,Equality,positive,")).toBe(true);
    expect(lines[2]!.startsWith("1,1,Nigeria,Politics,Equality,negative,")).toBe(true);
    expect(readJsonl(partialPath(out))).toHaveLength(2);

    const evaluations = backend.counters.evaluations;
    const again = await generateActions(backend, cache, {
      countries: ["Nigeria"],
      topics: ["Politics"],
      values: ["Equality"],
      out,
      settings: SMALL,
    });
    expect(again.counts).toMatchObject({ asked: 0, skipped: 2 });
    expect(backend.counters.evaluations).toBe(evaluations);
    expect((await loadVia(out)).rows).toBe(2);
  }, 60_000);
});

/** A scripted backend without a grammar: answers come from a list, in order. */
function scripted(answers: string[]): Backend & { calls: GenerateOptions[] } {
  const calls: GenerateOptions[] = [];
  return {
    calls,
    info: SCRIPTED_INFO,
    counters: newCounters(),
    laneCount: 1,
    reusesPrefixes: false,
    prepare(segments: string[]): PreparedPrompt {
      return {
        text: segments.join(""),
        tokens: [],
        segmentEnds: [0],
        userMessage: segments.join(""),
        mode: "generate",
      };
    },
    scoreLetters: () => Promise.reject(new Error("not used")),
    async generate(_p: PreparedPrompt, opts: GenerateOptions): Promise<Generation> {
      calls.push(opts);
      const text = answers.shift() ?? "";
      return { text, generatedTokens: 1, finishReason: "stop", evaluatedTokens: 1 };
    },
    close: () => Promise.resolve(),
  };
}

const GOOD_VIA = JSON.stringify({
  "Human Action": "I vote.",
  "Feature Attributions": ["civic duty"],
  "Natural Language Explanation": "Voting expresses it.",
});

describe("validation and retries", () => {
  it("rejects whitespace-only texts, refusals and cut-off JSON", () => {
    const actions = Object.fromEntries(
      [
        "strongly aligning",
        "moderately aligning",
        "mildly aligning",
        "mildly opposing",
        "moderately opposing",
        "strongly opposing",
      ].map((g) => [g, "act"]),
    );
    expect(checkDilemma({ role: "a judge", scenario: "You ...", actions }, "Equality", "Politics").ok).toBe(true);
    expect(checkDilemma({ role: "   ", scenario: "You ...", actions }, "Equality", "Politics")).toMatchObject({
      ok: false,
      reason: "invalid",
    });
    expect(
      checkDilemma(
        { role: "a judge", scenario: "I'm sorry, I cannot help with that.", actions },
        "Equality",
        "Politics",
      ),
    ).toMatchObject({ ok: false, reason: "refusal" });
    expect(
      checkViaGeneration({
        "Human Action": "I can't do that.",
        "Feature Attributions": ["x"],
        "Natural Language Explanation": "y",
      }),
    ).toMatchObject({ ok: false, reason: "refusal" });
    expect(
      checkViaGeneration({
        "Human Action": "I vote.",
        "Feature Attributions": [],
        "Natural Language Explanation": "y",
      }),
    ).toMatchObject({ ok: false, reason: "invalid" });
    expect(parseJsonAnswer('{"Human Action": "I vo', "maxTokens")).toMatchObject({ ok: false, reason: "truncated" });
    expect(parseJsonAnswer("I'm sorry, but I can't.", "stop")).toMatchObject({ ok: false, reason: "refusal" });
  });

  it("retries an invalid item with the next seed, then reports it without writing it", async () => {
    const out = path.join(dir, "retry.csv");
    const backend = scripted([
      "I'm sorry, I can't help with that.",
      "```json\n" + GOOD_VIA + "\n```",
      "   ",
      "{}",
      '{"Human Action": " "}',
      "nope",
    ]);
    const cache = AnswerCache.open(path.join(dir, "retry-cache"));
    const res = await generateActions(backend, cache, {
      countries: ["Nigeria"],
      topics: ["Politics"],
      values: ["Equality"],
      out,
      settings: { retries: 3, seed: 7 },
    });
    // positive: refusal, then valid on attempt 2; negative: four invalid attempts -> failed.
    expect(res.counts).toMatchObject({ written: 1, failed: 1, retries: 4, generations: 6 });
    expect(backend.calls.map((c) => c.seed)).toEqual([7, 8, 7, 8, 9, 10]);
    expect(backend.calls[0]!.temperature).toBe(0);
    expect(backend.calls[1]!.temperature).toBeGreaterThan(0);
    expect(res.failures).toHaveLength(1);
    expect(res.failures[0]!.id).toBe("Nigeria/Politics/Equality/negative");
    expect(res.failures[0]!.failures.map((f) => f.reason)).toEqual([
      "invalid-json",
      "invalid",
      "invalid",
      "invalid-json",
    ]);
    const ds = await loadVia(out);
    expect(ds.rows).toBe(1);
    expect(ds.actions[0]).toMatchObject({ polarity: "positive", action: "I vote." });
  });
});
