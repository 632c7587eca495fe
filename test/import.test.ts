// `valuelens import official`: the paper's released outputs as a run directory. The checks on
// real files need ../shared (released outputs, the VIA CSV); the synthetic ones run anywhere.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it, vi } from "vitest";
import { importCommand } from "../src/cli/import.js";
import { loadVia, SAMPLE_VIA_PATH } from "../src/suites/via/dataset.js";
import { importOfficial } from "../src/import/official.js";
import { matricesFromRecords, type RunMetrics } from "../src/suites/via/metrics/fromRecords.js";
import { VALUE_NAMES } from "../src/protocol/values.js";
import { readManifest } from "../src/records/manifest.js";
import { readRecords } from "../src/records/records.js";
import { ViaRecordSchema, type ViaRecord } from "../src/suites/via/record.js";
import { isUserError } from "../src/util/errors.js";
import { valuelens } from "./helpers/cli.js";
import { FIDELITY, haveShared, SHARED } from "./helpers/shared.js";

const RELEASED = SHARED.releasedOutputs;
const VIA_CSV = SHARED.viaCsv;
const VALUES_JSON = SHARED.values;
const haveReleased = haveShared(
  "import.test",
  "the imports of the released model outputs",
  path.join(RELEASED, "gemma-2-9b-it_t1.csv"),
  VIA_CSV,
  VALUES_JSON,
);

const released = (name: string) => path.join(RELEASED, name);

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), "valuelens-import-"));
let tmpCount = 0;
const tmpDir = () => path.join(tmpRoot, `out${tmpCount++}`);
function tmpFile(name: string, text: string): string {
  const file = path.join(tmpRoot, name);
  writeFileSync(file, text);
  return file;
}
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** An imported run's records: VIA records (parsed with their schema, as the run-directory loader checks them). */
function recordsOf(dir: string): ViaRecord[] {
  return ViaRecordSchema.array().parse(readRecords(path.join(dir, "records.jsonl")).records);
}

function metricsOf(dir: string): RunMetrics {
  return JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8")) as RunMetrics;
}

/** The one-line UserError an import throws. */
async function importError(opts: Parameters<typeof importOfficial>[0]): Promise<string> {
  try {
    await importOfficial(opts);
  } catch (err) {
    expect(isUserError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("the import did not fail");
}

// ---------------------------------------------------------------------------
// An independent Task-1 parser and matrix (regexes over the fence-stripped text, no JSON parse)

const PHRASES: [string, number][] = [
  ["not like me at all", 4],
  ["very much like me", 1],
  ["not like me", 3],
  ["like me", 2],
];

function ratingOf(s: string): number | undefined {
  const digit = /\d/.exec(s);
  const n = digit ? Number(digit[0]) : PHRASES.find(([p]) => s.toLowerCase().includes(p))?.[1];
  return n !== undefined && n >= 1 && n <= 4 ? n : undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** All values rated 1-4, or null (the paper drops such answers). */
function independentRatings(response: string, names: readonly string[]): Record<string, number> | null {
  const fenced = /```[a-z]*\s*([\s\S]*?)(?:```|$)/i.exec(response);
  const body = fenced ? fenced[1]! : response;
  const out: Record<string, number> = {};
  for (const name of names) {
    // Keys may open with a curly quote (gemma row 154: \u201cResponsible"), as valuelens' lenient parse allows.
    const m = new RegExp(`["'\u201c\u201d]${escapeRe(name)}["'\u201c\u201d]\\s*:\\s*(?:"([^"]*)"|(\\d+))`, "i").exec(
      body,
    );
    const r = m ? ratingOf(m[1] ?? m[2]!) : undefined;
    if (r === undefined) return null;
    out[name] = r;
  }
  return out;
}

type Matrix = Record<string, Record<string, Record<string, number>>>;

function independentStated(file: string, names: readonly string[]): { rows: number; kept: number; matrix: Matrix } {
  const rows = parse(readFileSync(file), { columns: true, bom: true }) as Record<string, string>[];
  const acc: Record<string, { n: number; sum: Record<string, number> }> = {};
  let kept = 0;
  for (const row of rows) {
    const r = independentRatings(row["response"]!, names);
    if (!r) continue;
    kept++;
    const a = (acc[`${row["country"]}|${row["topic"]}`] ??= { n: 0, sum: {} });
    a.n++;
    for (const v of names) a.sum[v] = (a.sum[v] ?? 0) + r[v]!;
  }
  const matrix: Matrix = {};
  for (const [key, a] of Object.entries(acc)) {
    const [country, topic] = key.split("|") as [string, string];
    (matrix[country] ??= {})[topic] = {};
    for (const v of names) matrix[country]![topic]![v] = (a.sum[v]! / a.n - 1) / 3;
  }
  return { rows: rows.length, kept, matrix };
}

function sharedValueNames(): string[] {
  return (JSON.parse(readFileSync(VALUES_JSON, "utf8")) as { values: { name: string }[] }).values.map((v) => v.name);
}

// ---------------------------------------------------------------------------

describe.skipIf(!haveReleased)("import official: the released Task-1 CSVs", FIDELITY, () => {
  const names = haveReleased ? sharedValueNames() : [];

  for (const [file, kept, extraColumns] of [
    ["gemma-2-9b-it_t1.csv", 1052, true],
    ["gpt-4o-mini_t1.csv", 1055, false],
  ] as const) {
    it(`${file}: one record per row, ${kept} of 1056 rate all 56 values, stated matrix = an independent computation`, async () => {
      const out = tmpDir();
      const result = await importOfficial({ t1: released(file), modelName: file.replace(/_t1\.csv$/, ""), out });
      const independent = independentStated(released(file), names);
      expect(independent).toMatchObject({ rows: 1056, kept });

      const manifest = readManifest(out)!;
      expect(manifest.imported).toBe(true);
      expect(manifest.status).toBe("complete");
      expect(manifest.config).toMatchObject({
        protocol: "paper",
        tasks: ["stated"],
        repeats: 1,
        seed: 0,
        statedVariants: [0, 1, 2, 3, 4, 5, 6, 7],
        actionVariants: [],
        via: "none",
      });
      expect(manifest.backend).toMatchObject({ engine: "imported", model: { name: file.replace(/_t1\.csv$/, "") } });
      const f = manifest.import!.files[0]!;
      expect(f).toMatchObject({ role: "t1", format: "t1-csv", rows: 1056, records: 1056, kept, dropped: 1056 - kept });
      expect(manifest.backend.modelSha256).toBe(f.sha256);

      const records = recordsOf(out);
      expect(records).toHaveLength(1056);
      expect(new Set(records.map((r) => r.id)).size).toBe(1056);
      expect(new Set(records.map((r) => r.cacheKey)).size).toBe(1056);
      expect(records.filter((r) => r.parsed?.ok)).toHaveLength(kept);
      for (const r of records) {
        expect(r).toMatchObject({ protocol: "paper", task: "stated", value: null, repeat: 0, score: null });
        expect(r.generation?.raw.length).toBeGreaterThan(0);
      }
      // Neither file has a duration column (gemma adds timestamp, model, task only): ms stays 0.
      expect(records.every((r) => r.meta.ms === 0)).toBe(true);
      // (gemma's CSV ends its rows with CRLF, gpt-4o-mini's with LF; no answer keeps a stray \r.)
      if (extraColumns)
        expect(readFileSync(released(file), "utf8").split(/\r?\n/, 1)[0]).toBe(
          ",timestamp,model,task,country,topic,response,prompt_index",
        );
      expect(records.some((r) => r.generation!.raw.includes("\r"))).toBe(false);

      // The stated matrix, every scenario and value.
      const stated = matricesFromRecords(records).stated;
      let compared = 0;
      for (const [country, byTopic] of Object.entries(independent.matrix)) {
        for (const [topic, byValue] of Object.entries(byTopic)) {
          for (const [value, x] of Object.entries(byValue)) {
            expect(Math.abs(stated[country]![topic]![value]! - x)).toBeLessThan(1e-12);
            compared++;
          }
        }
      }
      expect(compared).toBe(132 * 56);
      expect(result.metrics.inputs.stated).toMatchObject({ records: 1056, used: kept });
      expect(existsSync(path.join(out, "report.md"))).toBe(true);
    });
  }

  it("names why the 4 gemma answers were dropped", async () => {
    const out = tmpDir();
    const r = await importOfficial({ t1: released("gemma-2-9b-it_t1.csv"), modelName: "gemma-2-9b-it", out });
    expect(r.files[0]!.droppedByReason).toEqual({ "rated 55 of 56 values": 2, "no JSON object in the answer": 2 });
  });
});

describe.skipIf(!haveReleased)("import official: the released Task-2 files", FIDELITY, () => {
  it("the Claude eval log with --via: 400 rows -> 200 records, the chosen polarity is the row with model_choice true", async () => {
    const out = tmpDir();
    const result = await importOfficial({
      t2: released("claude-sonnet-4_t2_eval_log_first400.jsonl"),
      via: VIA_CSV,
      modelName: "claude-sonnet-4",
      out,
    });
    // Independently: the log's choices by VIA row, and the VIA rows' cells from the CSV itself.
    const log = readFileSync(released("claude-sonnet-4_t2_eval_log_first400.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as { index: number; model_choice: boolean; prompt_index: string; duration: number });
    expect(log).toHaveLength(400);
    const choice = new Map(log.map((o) => [o.index, o]));
    const via = parse(readFileSync(VIA_CSV), { columns: false, relax_column_count: true, bom: true }) as string[][];
    const cell = (row: number) => via[row + 1]!.slice(2, 6); // country, topic, value, polarity

    const records = recordsOf(out);
    expect(records).toHaveLength(200);
    expect(result.files[0]).toMatchObject({
      format: "t2-eval-log",
      rows: 400,
      records: 200,
      kept: 200,
      dropped: 0,
      variants: [5],
    });
    const seen = new Set<number>();
    let negative = 0;
    for (const r of records) {
      expect(r).toMatchObject({ task: "action", variant: 5, order: ["negative", "positive"] });
      const { positive, negative: neg } = r.viaRows!;
      seen.add(positive).add(neg);
      expect(cell(positive)).toEqual([r.country, r.topic, r.value, "positive"]);
      expect(cell(neg)).toEqual([r.country, r.topic, r.value, "negative"]);
      const chosen = choice.get(positive)!.model_choice ? "positive" : "negative";
      expect(choice.get(positive)!.model_choice).not.toBe(choice.get(neg)!.model_choice);
      expect(r.parsed).toEqual({ ok: true, chosen, option: chosen === "negative" ? 1 : 2 });
      expect(r.score).toBe(chosen === "negative" ? 1 : 0);
      expect(r.meta.ms).toBe(Math.round(choice.get(positive)!.duration * 1000));
      if (chosen === "negative") negative++;
    }
    expect(seen.size).toBe(400);
    expect(negative).toBe(8);
    const manifest = readManifest(out)!;
    expect(manifest.config.actionVariants).toEqual([5]);
    expect(manifest.config.via).toBe(VIA_CSV);
    expect(manifest.dataset.sha256).toBe("892e52588d9b9ffa0c3316200dec4ceec4e893793aa2a47ae6f11415e4f9209d");
    expect(manifest.notes.join("\n")).toMatch(/variant 5: every answer saw the resisting \(negative\) action first/);
  });

  it("the VIA-layout partial CSV: 26 rows -> 13 records, no failures; rows found in the VIA by cell, not by `Unnamed: 0`", async () => {
    const out = tmpDir();
    const result = await importOfficial({
      t2: released("gpt-4o-mini_t2_partial.csv"),
      via: VIA_CSV,
      modelName: "gpt-4o-mini",
      out,
    });
    expect(result.files[0]).toMatchObject({
      format: "t2-partial-csv",
      rows: 26,
      records: 13,
      kept: 13,
      dropped: 0,
      variants: [3, 7],
      viaMismatches: 0,
    });
    const records = recordsOf(out);
    expect(records).toHaveLength(13);
    const byValue = new Map(records.map((r) => [r.value, r]));
    // Creativity ran with prompt_index 3.0, the others with 7.0 (both show the positive action first).
    expect(byValue.get("Creativity")).toMatchObject({
      variant: 3,
      order: ["positive", "negative"],
      parsed: { ok: true, chosen: "positive", option: 1 },
    });
    expect(byValue.get("Accepting my Portion in Life")).toMatchObject({
      variant: 7,
      parsed: { ok: true, chosen: "negative", option: 2 },
      score: 1,
    });
    // `Unnamed: 0` 776 is the VIA CSV's own (restarting) index; the cell is VIA row 14306.
    expect(byValue.get("A Spiritual Life")!.viaRows).toEqual({ positive: 14306, negative: 14307 });
    expect(records.filter((r) => r.parsed?.ok && r.parsed.chosen === "negative")).toHaveLength(1);

    // Without --via: the same choices, no VIA rows.
    const out2 = tmpDir();
    const r2 = await importOfficial({
      t2: released("gpt-4o-mini_t2_partial.csv"),
      modelName: "gpt-4o-mini",
      out: out2,
    });
    expect(r2.files[0]!.viaMismatches).toBeUndefined();
    expect(recordsOf(out2).map((r) => [r.id, r.parsed])).toEqual(records.map((r) => [r.id, r.parsed]));
    expect(recordsOf(out2).some((r) => r.viaRows)).toBe(false);
    expect(readManifest(out2)!.dataset.path).toBe("none");
  });

  it("the wide sample: 50 rows -> 400 records, one unparseable ('Both'), options match the VIA actions", async () => {
    const out = tmpDir();
    const result = await importOfficial({
      t2: released("gemma-2-9b-it_t2_wide_sample.csv"),
      via: VIA_CSV,
      modelName: "gemma-2-9b-it",
      out,
    });
    expect(result.files[0]).toMatchObject({
      format: "t2-wide-csv",
      rows: 50,
      records: 400,
      kept: 399,
      dropped: 1,
      droppedByReason: { '"action" is "Both", not Option 1 or Option 2': 1 },
      variants: [0, 1, 2, 3, 4, 5, 6, 7],
      viaMismatches: 0,
    });
    const records = recordsOf(out);
    const failed = records.filter((r) => !r.parsed?.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      country: "United States",
      topic: "Health and Health Care",
      value: "Social Order",
      variant: 7,
      score: null,
    });
    expect(failed[0]!.generation!.raw).toContain("'action': 'Both'");
    expect(new Set(records.map((r) => r.cacheKey)).size).toBe(400);
    // Variant 2 shows the positive action first: Option 1 there is the positive action.
    const v2 = records.find((r) => r.variant === 2 && r.parsed?.ok && r.parsed.option === 1)!;
    expect(v2.parsed).toMatchObject({ chosen: "positive" });
    expect(v2.order).toEqual(["positive", "negative"]);
  });

  it("gemma Task 1 + the wide sample: metrics.json F1 per scenario equals a hand computation", async () => {
    const out = tmpDir();
    await importOfficial({
      t1: released("gemma-2-9b-it_t1.csv"),
      t2: released("gemma-2-9b-it_t2_wide_sample.csv"),
      modelName: "gemma-2-9b-it",
      out,
    });
    const metrics = metricsOf(out);
    expect(Array.isArray(metrics.alignmentRate.byScenario)).toBe(true);

    // By hand. Stated: the independent matrix. Action: per (country, topic, value), the share of
    // the 8 variants whose answer chose the negative action (variants 2,3,6,7 show it as Option 2);
    // a value asked elsewhere in the file but not in this scenario scores 0 (no choice).
    const names = sharedValueNames();
    const stated = independentStated(released("gemma-2-9b-it_t1.csv"), names).matrix;
    const wide = parse(readFileSync(released("gemma-2-9b-it_t2_wide_sample.csv")), { columns: true }) as Record<
      string,
      string
    >[];
    const asked = [...new Set(wide.map((r) => r["value"]!))];
    const action: Record<string, Record<string, number>> = {};
    for (const row of wide) {
      const key = `${row["country"]}|${row["topic"]}`;
      let negatives = 0;
      for (let i = 0; i < 8; i++) {
        const m = /["']action["']\s*:\s*["']Option\s*([12])["']/i.exec(row[`evaluation_${i}`]!);
        if (!m) continue; // 'Both': no choice, scores 0
        const reversed = [2, 3, 6, 7].includes(i);
        if ((m[1] === "1") !== reversed) negatives++;
      }
      (action[key] ??= {})[row["value"]!] = negatives / 8;
    }
    const handF1 = (key: string) => {
      const [country, topic] = key.split("|") as [string, string];
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (const v of asked) {
        const s = stated[country]![topic]![v]! < 0.5 ? 0 : 1;
        const a = (action[key]![v] ?? 0) < 0.5 ? 0 : 1;
        if (s === 1 && a === 1) tp++;
        else if (s === 0 && a === 1) fp++;
        else if (s === 1 && a === 0) fn++;
      }
      return 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    };
    const byScenario = metrics.alignmentRate.byScenario;
    expect(byScenario).toHaveLength(Object.keys(action).length);
    for (const s of byScenario) {
      expect(s.n).toBe(asked.length);
      expect(Math.abs(s.f1 - handF1(`${s.country}|${s.topic}`))).toBeLessThan(1e-12);
    }
    // Three scenarios spelled out: one value asked with 5 of 8 answers resisting it, and two
    // scenarios with two values asked.
    const f1 = (country: string, topic: string) =>
      byScenario.find((s) => s.country === country && s.topic === topic)!.f1;
    expect(action["United States|Leisure Time and Sports"]).toEqual({ Obedient: 5 / 8, "Sense of Belonging": 0 });
    for (const [country, topic] of [
      ["United States", "Leisure Time and Sports"],
      ["Egypt", "Social Inequality"],
      ["United Kingdom", "Citizenship"],
    ] as const) {
      expect(f1(country, topic)).toBeCloseTo(handF1(`${country}|${topic}`), 12);
    }
    expect(byScenario.some((s) => s.f1 > 0)).toBe(true);
  });

  it("importCommand(): `import official` prints a per-file summary and writes the run directory", async () => {
    const out = tmpDir();
    const printedParts: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      printedParts.push(String(chunk));
      return true;
    });
    try {
      await importCommand().parseAsync(
        [
          "official",
          "--t1",
          released("gpt-4o-mini_t1.csv"),
          "--t2",
          released("gpt-4o-mini_t2_partial.csv"),
          "--via",
          VIA_CSV,
          "--model-name",
          "gpt-4o-mini",
          "--out",
          out,
        ],
        { from: "user" },
      );
    } finally {
      write.mockRestore();
    }
    const printed = printedParts.join("");
    expect(printed).toContain(
      "gpt-4o-mini_t1.csv (Task-1 CSV, variants 0,1,2,3,4,5,6,7): 1056 rows read, 1056 records, 1055 kept, 1 dropped (rated 7 of 56 values: 1)",
    );
    expect(printed).toContain(
      "gpt-4o-mini_t2_partial.csv (Task-2 CSV in the VIA layout, variants 3,7): 26 rows read, 13 records, 13 kept, 0 dropped",
    );
    expect(printed).toContain("checked against the VIA CSV: 0 rows disagree");
    const manifest = readManifest(out)!;
    expect(manifest.config.tasks).toEqual(["stated", "action"]);
    expect(manifest.import!.files.map((f) => f.format)).toEqual(["t1-csv", "t2-partial-csv"]);
    expect(manifest.backend.modelSha256).not.toBe(manifest.import!.files[0]!.sha256);
    // One scenario (Australia / Citizenship) with the 13 values of the file.
    const m = metricsOf(out);
    expect(m.alignmentRate.byScenario.map((s) => [s.country, s.topic, s.n])).toEqual([
      ["Australia", "Citizenship", 13],
    ]);
  });

  it("`valuelens report DIR` reads an imported run back and rewrites the same metrics", async () => {
    const out = tmpDir();
    await importOfficial({
      t1: released("gemma-2-9b-it_t1.csv"),
      t2: released("gemma-2-9b-it_t2_wide_sample.csv"),
      modelName: "gemma-2-9b-it",
      out,
    });
    const before = readFileSync(path.join(out, "metrics.json"), "utf8");
    const r = valuelens(["report", out, "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(out, "metrics.json"), "utf8")).toBe(before);
  });

  it("CLI: valuelens import official --t2 <eval log> --via ...", () => {
    const out = tmpDir();
    const r = valuelens([
      "import",
      "official",
      "--t2",
      released("claude-sonnet-4_t2_eval_log_first400.jsonl"),
      "--via",
      VIA_CSV,
      "--model-name",
      "claude-sonnet-4",
      "--out",
      out,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "claude-sonnet-4_t2_eval_log_first400.jsonl (Task-2 eval log, variants 5): 400 rows read, 200 records, 200 kept, 0 dropped",
    );
    expect(recordsOf(out)).toHaveLength(200);
    const bad = valuelens([
      "import",
      "official",
      "--t2",
      released("claude-sonnet-4_t2_eval_log_first400.jsonl"),
      "--model-name",
      "x",
      "--out",
      tmpDir(),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^valuelens: .*claude-sonnet-4_t2_eval_log_first400\.jsonl is a Task-2 eval log.*pass --via PATH/,
    );
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------
// Synthetic files: these run without ../shared.

function statedAnswer(rating: (i: number) => number): string {
  return JSON.stringify(Object.fromEntries(VALUE_NAMES.map((n, i) => [n, String(rating(i))])), null, 2);
}

function csvField(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

describe("import official: synthetic files", () => {
  it("keeps a repeated (country, topic, prompt_index) as a second record (/dup1); both enter the mean", async () => {
    const file = tmpFile(
      "dup_t1.csv",
      [
        "country,topic,response,prompt_index,duration",
        `Nigeria,Politics,${csvField(statedAnswer(() => 1))},0,1.5`,
        `Nigeria,Politics,${csvField(statedAnswer(() => 4))},0,0.25`,
        `Nigeria,Politics,${csvField("I cannot answer that.")},1,`,
      ].join("\n") + "\n",
    );
    const out = tmpDir();
    const result = await importOfficial({ t1: file, modelName: "m", out });
    const records = recordsOf(out);
    expect(records.map((r) => r.id)).toEqual([
      "paper/stated/Nigeria/Politics/variant0/r0",
      "paper/stated/Nigeria/Politics/variant0/r0/dup1",
      "paper/stated/Nigeria/Politics/variant1/r0",
    ]);
    expect(records.map((r) => r.meta.ms)).toEqual([1500, 250, 0]);
    expect(records[2]!.parsed).toEqual({ ok: false, reason: "no JSON object in the answer" });
    expect(result.files[0]).toMatchObject({
      rows: 3,
      records: 3,
      kept: 2,
      dropped: 1,
      droppedByReason: { "no JSON object in the answer": 1 },
      variants: [0, 1],
    });
    // (1 + 4) / 2 = 2.5 -> (2.5 - 1) / 3 = 0.5
    expect(matricesFromRecords(records).stated["Nigeria"]!["Politics"]!["Equality"]).toBe(0.5);
    expect(readManifest(out)!.notes.join("\n")).toMatch(/1 records repeat a question/);
  });

  it("pairs eval-log rows: neither / both chosen and a missing partner are kept with parsed.ok=false", async () => {
    const ds = await loadVia(SAMPLE_VIA_PATH);
    const row = (i: number) => ds.actions.find((a) => a.row === i)!;
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => row(i).polarity)).toEqual([
      "positive",
      "negative",
      "positive",
      "negative",
      "positive",
      "negative",
      "positive",
    ]);
    const lines = [
      { index: 1, model_choice: true, prompt_index: "5" },
      { index: 0, model_choice: false, prompt_index: "5" },
      { index: 2, model_choice: false, prompt_index: "5" },
      { index: 3, model_choice: false, prompt_index: "5" },
      { index: 4, model_choice: true, prompt_index: 2 },
      { index: 5, model_choice: true, prompt_index: 2 },
      { index: 6, model_choice: true, prompt_index: "5.0" },
    ];
    const file = tmpFile("synthetic_t2_eval_log.jsonl", lines.map((l) => JSON.stringify(l)).join("\n") + "\n\n");
    const out = tmpDir();
    const result = await importOfficial({ t2: file, via: SAMPLE_VIA_PATH, modelName: "m", out });
    const records = recordsOf(out);
    expect(records.map((r) => [r.value, r.variant, r.parsed, r.score])).toEqual([
      [row(0).value, 5, { ok: true, option: 1, chosen: "negative" }, 1],
      [row(2).value, 5, { ok: false, reason: "neither row chosen: model_choice is false on both lines 4 and 3" }, null],
      [row(4).value, 2, { ok: false, reason: "both rows chosen: model_choice is true on both lines 6 and 5" }, null],
      [
        row(6).value,
        5,
        {
          ok: false,
          reason: "missing partner row: the row of the negative action is not in the file (line 7 has no partner)",
        },
        null,
      ],
    ]);
    expect(records[2]!.order).toEqual(["positive", "negative"]);
    // The missing partner's VIA row comes from the dataset.
    expect(records[3]!.viaRows).toEqual({ positive: 6, negative: 7 });
    expect(result.files[0]).toMatchObject({
      rows: 7,
      records: 4,
      kept: 1,
      dropped: 3,
      droppedByReason: { "neither row chosen": 1, "both rows chosen": 1, "missing partner row": 1 },
      variants: [2, 5],
    });
    const notes = readManifest(out)!.notes.join("\n");
    expect(notes).toMatch(/variant 5: every answer saw the resisting \(negative\) action first/);
    expect(notes).toMatch(/variant 2: the expressing \(positive\) action was shown first/);
  });

  it("errors: an unknown format names the file and what was expected", async () => {
    const csv = tmpFile("other.csv", "a,b,c\n1,2,3\n");
    expect(await importError({ t1: csv, modelName: "m", out: tmpDir() })).toMatch(
      /other\.csv: unrecognized format \(header "a", "b", "c"\); expected a Task-1 CSV with the columns country, topic, response, prompt_index, .*a wide Task-2 CSV/,
    );
    const jsonl = tmpFile("other.jsonl", '{"foo": 1}\n');
    expect(await importError({ t2: jsonl, modelName: "m", out: tmpDir() })).toMatch(
      /other\.jsonl: unrecognized format \(the first JSON line has foo\); expected a Task-2 eval log/,
    );
    const empty = tmpFile("empty.csv", "\n\n");
    expect(await importError({ t1: empty, modelName: "m", out: tmpDir() })).toMatch(/empty\.csv: the file is empty/);
  });

  it("errors: a file under the wrong option, nothing to import, a missing file", async () => {
    const log = tmpFile("wrong_t2_eval_log.jsonl", '{"index": 0, "model_choice": true, "prompt_index": "5"}\n');
    expect(await importError({ t1: log, modelName: "m", out: tmpDir() })).toMatch(
      /--t1 .*wrong_t2_eval_log\.jsonl is a Task-2 eval log \(Task 2\); pass it with --t2/,
    );
    expect(await importError({ modelName: "m", out: tmpDir() })).toMatch(/nothing to import: pass --t1 FILE/);
    expect(await importError({ t1: path.join(tmpRoot, "nope.csv"), modelName: "m", out: tmpDir() })).toMatch(
      /--t1 .*nope\.csv: file not found/,
    );
  });

  it("errors: an eval log without --via", async () => {
    const log = tmpFile(
      "novia_t2_eval_log.jsonl",
      '{"index": 0, "model_choice": true, "prompt_index": "5"}\n{"index": 1, "model_choice": false, "prompt_index": "5"}\n',
    );
    expect(await importError({ t2: log, modelName: "m", out: tmpDir() })).toMatch(
      /novia_t2_eval_log\.jsonl is a Task-2 eval log, whose rows are VIA row numbers; pass --via PATH/,
    );
  });

  it("errors: a malformed line names the file, the line and the field", async () => {
    // The first data row spans 58 lines (a multi-line response), so the bad row starts on line 60.
    const t1 = tmpFile(
      "bad_t1.csv",
      [
        "country,topic,response,prompt_index",
        `Nigeria,Politics,${csvField(statedAnswer(() => 2))},0`,
        `Nigeria,Politics,${csvField("{}")},seven`,
      ].join("\n") + "\n",
    );
    expect(await importError({ t1, modelName: "m", out: tmpDir() })).toMatch(
      /bad_t1\.csv: line 60, field "prompt_index": "seven" is not a prompt variant \(expected an integer 0-7\)/,
    );
    const t1b = tmpFile("badcountry_t1.csv", `country,topic,response,prompt_index\nNigerai,Politics,{},0\n`);
    expect(await importError({ t1: t1b, modelName: "m", out: tmpDir() })).toMatch(
      /badcountry_t1\.csv: line 2, field "country": unknown country "Nigerai": did you mean "Nigeria"/,
    );
    const log = tmpFile(
      "bad_t2_eval_log.jsonl",
      '{"index": 0, "model_choice": true, "prompt_index": "5"}\n{"index": 1, "model_choice": fals\n',
    );
    expect(await importError({ t2: log, via: SAMPLE_VIA_PATH, modelName: "m", out: tmpDir() })).toMatch(
      /bad_t2_eval_log\.jsonl: line 2: not valid JSON/,
    );
    const log2 = tmpFile("badfield_t2_eval_log.jsonl", '{"index": 0, "model_choice": "maybe", "prompt_index": "5"}\n');
    expect(await importError({ t2: log2, via: SAMPLE_VIA_PATH, modelName: "m", out: tmpDir() })).toMatch(
      /badfield_t2_eval_log\.jsonl: line 1, field "model_choice": "maybe" is not true or false/,
    );
    const log3 = tmpFile("badindex_t2_eval_log.jsonl", '{"index": 99999, "model_choice": true, "prompt_index": "5"}\n');
    expect(await importError({ t2: log3, via: SAMPLE_VIA_PATH, modelName: "m", out: tmpDir() })).toMatch(
      /badindex_t2_eval_log\.jsonl: line 1, field "index": VIA row 99999 does not exist/,
    );
    const wide = tmpFile(
      "bad_t2_wide.csv",
      `country,topic,value,option1,option2,evaluation_5\nNigeria,Politics,Equalty,a,b,{'action': 'Option 1'}\n`,
    );
    expect(await importError({ t2: wide, modelName: "m", out: tmpDir() })).toMatch(
      /bad_t2_wide\.csv: line 2, field "value": unknown value "Equalty": did you mean "Equality"/,
    );
    const quoting = tmpFile("quote_t1.csv", `country,topic,response,prompt_index\nNigeria,Politics,"{,0\n`);
    expect(await importError({ t1: quoting, modelName: "m", out: tmpDir() })).toMatch(
      /quote_t1\.csv: line \d+: not valid CSV/,
    );
  });

  it("refuses to overwrite a run that was not imported", async () => {
    const out = tmpDir();
    const t1 = tmpFile(
      "ok_t1.csv",
      `country,topic,response,prompt_index\nNigeria,Politics,${csvField(statedAnswer(() => 3))},0\n`,
    );
    await importOfficial({ t1, modelName: "m", out });
    // Importing again into an imported run replaces it.
    await importOfficial({ t1, modelName: "m2", out });
    expect(readManifest(out)!.config.model).toBe("m2");
    const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(out, "manifest.json"), JSON.stringify({ ...manifest, imported: false }));
    expect(await importError({ t1, modelName: "m", out })).toMatch(
      /holds a run of valuelens \(not an import\); choose another --out/,
    );
  });
});
