// valuelens compare: statistics by hand, then real runs of the tiny model at two precisions.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { compareCommand } from "../src/cli/compare.js";
import {
  alignDistributions,
  cohenKappa,
  flipShare,
  jensenShannon,
  meanAbsDiff,
  topOption,
} from "../src/metrics/agreement.js";
import { compareInput } from "../src/compare/compare.js";
import { loadRun } from "../src/compare/load.js";
import type { CompareOptions } from "../src/suites/compare.js";
import { compareViaRuns, type CompareResult } from "../src/suites/via/compare.js";
import { ViaRecordSchema } from "../src/suites/via/record.js";
import type { Interval } from "../src/metrics/bootstrap.js";
import { compareTables, renderCompareMarkdown } from "../src/suites/via/compareReport.js";
import { renderTable } from "../src/report/table.js";
import { readRecords, type RunRecord } from "../src/records/records.js";
import { UserError } from "../src/util/errors.js";
import { valuelens } from "./helpers/cli.js";
import { thrown } from "./helpers/errors.js";
import { suiteCompareInput } from "./helpers/suiteRecords.js";
import { tinyModelPath } from "./helpers/models.js";
import { dropRecordsDigest } from "./helpers/scripted.js";

/** VIA's comparison of run directories, as `valuelens compare` computes it. */
function compareRuns(dirs: readonly string[], opts: CompareOptions = {}): CompareResult {
  return compareViaRuns(
    suiteCompareInput(
      ViaRecordSchema,
      compareInput(
        dirs.map((d) => loadRun(d)),
        opts,
      ),
    ),
  );
}

describe("agreement statistics (by hand)", () => {
  it("Cohen's kappa", () => {
    // agree on 4 of 6; marginals 3/3 and 3/3 -> p_e = 0.5 -> kappa = (4/6 - 0.5) / 0.5 = 1/3
    const k = cohenKappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]);
    expect(k.n).toBe(6);
    expect(k.observed).toBeCloseTo(4 / 6, 15);
    expect(k.expected).toBeCloseTo(0.5, 15);
    expect(k.kappa).toBeCloseTo(1 / 3, 15);
    // The textbook table: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    const a = [...Array(20).fill(1), ...Array(5).fill(1), ...Array(10).fill(0), ...Array(15).fill(0)];
    const b = [...Array(20).fill(1), ...Array(5).fill(0), ...Array(10).fill(1), ...Array(15).fill(0)];
    expect(cohenKappa(a, b).kappa).toBeCloseTo(0.4, 15);
    // Perfect disagreement on a balanced set: -1.
    expect(cohenKappa([0, 1, 0, 1], [1, 0, 1, 0]).kappa).toBe(-1);
    // Identical (non-constant) raters: exactly 1.
    expect(cohenKappa([0, 1, 1, 0, 1], [0, 1, 1, 0, 1]).kappa).toBe(1);
    // Both constant and equal: 1 by convention.
    const c = cohenKappa([1, 1, 1], [1, 1, 1]);
    expect(c.kappa).toBe(1);
    expect(c.convention).toBe("both-constant-equal");
    // Constant but different: p_e = 0, p_o = 0 -> 0 (the formula applies).
    expect(cohenKappa([0, 0, 0], [1, 1, 1]).kappa).toBe(0);
    // One rater constant, the other not: p_e = p_o -> 0.
    expect(cohenKappa([1, 1, 1, 1], [1, 1, 0, 0]).kappa).toBe(0);
    // Nothing to compare: undefined.
    expect(cohenKappa([], []).kappa).toBeNull();
    expect(() => cohenKappa([1], [])).toThrow(RangeError);
  });

  it("mean absolute difference and Jensen-Shannon divergence", () => {
    expect(meanAbsDiff([0.5, 0.3, 0.2], [0.4, 0.4, 0.2])).toBeCloseTo(0.2 / 3, 15);
    expect(meanAbsDiff([0.25, 0.75], [0.25, 0.75])).toBe(0);
    // Disjoint supports: 1 bit.
    expect(jensenShannon([1, 0], [0, 1])).toBe(1);
    // P = (1/2, 1/2), Q = (1, 0), M = (3/4, 1/4):
    // KL(P||M) = 1/2 log2(2/3) + 1/2 log2(2) ; KL(Q||M) = log2(4/3)
    const kl1 = 0.5 * Math.log2(0.5 / 0.75) + 0.5 * Math.log2(0.5 / 0.25);
    const kl2 = Math.log2(1 / 0.75);
    expect(jensenShannon([0.5, 0.5], [1, 0])).toBeCloseTo((kl1 + kl2) / 2, 15);
    expect(jensenShannon([0.5, 0.5], [1, 0])).toBeCloseTo(0.31127812445913283, 14);
    expect(jensenShannon([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
    // Symmetric, and inputs are normalized.
    expect(jensenShannon([1, 0], [0.5, 0.5])).toBeCloseTo(jensenShannon([0.5, 0.5], [1, 0]), 15);
    expect(jensenShannon([2, 2], [3, 0])).toBeCloseTo(jensenShannon([0.5, 0.5], [1, 0]), 15);
    expect(() => jensenShannon([0, 0], [1, 0])).toThrow(RangeError);
    expect(() => meanAbsDiff([1], [0.5, 0.5])).toThrow(RangeError);
    // Maps aligned over the union of keys.
    expect(alignDistributions({ b: 0.4, a: 0.6 }, { a: 1, c: 0 })).toEqual([
      [0.6, 0.4, 0],
      [1, 0, 0],
    ]);
  });

  it("top option and flip share", () => {
    expect(topOption({ disagree: 0.2, agree: 0.5, "strongly agree": 0.3 })).toBe("agree");
    expect(topOption({ positive: 0.5, negative: 0.5 })).toBe("negative"); // tie: the key that sorts first
    expect(topOption({ a: 0, b: 0 })).toBeNull();
    const f = flipShare(["a", "b", "a", null, "c"], ["a", "a", "a", "b", "d"]);
    expect(f).toEqual({ flips: 2, n: 4, share: 0.5, excluded: 1 });
    expect(flipShare([], []).share).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

const SLICE = ["--repeats", "2", "--seed", "5", "--via", "sample", "--progress", "quiet"];

function records(dir: string): RunRecord[] {
  return readRecords(path.join(dir, "records.jsonl")).records;
}

function intervals(r: CompareResult): Interval[] {
  return [
    ...r.alignmentRate.flatMap((x) => [...Object.values(x.byCountry), x.overall]),
    ...r.pairs.flatMap((p) => [...Object.values(p.difference.byCountry), p.difference.overall]),
  ];
}

describe("valuelens compare (tiny model at f16 and f32)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-compare-"));
  const A = path.join(work, "A"); // f16, Nigeria + Germany
  const B = path.join(work, "B"); // f32, same questions
  const N = path.join(work, "N"); // f16, Nigeria only
  const cache = path.join(work, "C");
  const BOOT = { bootstrap: 200, seed: 3 };

  beforeAll(async () => {
    const f16 = await tinyModelPath("f16");
    const f32 = await tinyModelPath("f32");
    for (const [model, out, countries] of [
      [f16, A, "Nigeria,Germany"],
      [f32, B, "Nigeria,Germany"],
      [f16, N, "Nigeria"], // answered from the cache A filled
    ] as const) {
      const r = valuelens([
        "run",
        "--model",
        model,
        "--countries",
        countries,
        ...SLICE,
        "--out",
        out,
        "--cache-dir",
        cache,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
  });

  it("compares two quantizations: the country table with intervals, differences and agreement", () => {
    const r = compareRuns([A, B], BOOT);
    expect(r.protocol).toBe("letters");
    expect(r.runs.map((x) => x.model)).toEqual(["valuelens-tiny-f16-seed1", "valuelens-tiny-f32-seed1"]);
    expect(r.questions.partial).toBe(false);
    expect(r.questions.shared).toBe(records(A).length);
    expect(r.countries).toEqual(["Germany", "Nigeria"]); // the paper's order: GER before NGA

    // The point estimates are the runs' own metrics.
    for (const [i, dir] of [A, B].entries()) {
      const metrics = JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
      const rate = r.alignmentRate[i]!;
      for (const c of r.countries)
        expect(rate.byCountry[c]!.estimate).toBeCloseTo(metrics.alignmentRate.byCountry[c], 12);
      expect(rate.overall.estimate).toBeCloseTo(metrics.alignmentRate.overall, 12);
      expect(r.alignmentDistance[i]!.overall.estimate).toBeCloseTo(metrics.alignmentDistance.overallMean, 12);
    }
    for (const iv of intervals(r)) {
      expect(iv.samples).toBeGreaterThan(0);
      expect(iv.low).not.toBeNull();
      expect(iv.low!).toBeLessThanOrEqual(iv.high!);
      expect(iv.low!).toBeGreaterThanOrEqual(-1);
      expect(iv.high!).toBeLessThanOrEqual(1);
    }
    const pair = r.pairs[0]!;
    expect(r.pairs).toHaveLength(1);
    expect(Object.keys(pair.difference.byCountry).sort()).toEqual(["Germany", "Nigeria"]);
    for (const c of r.countries) {
      expect(pair.difference.byCountry[c]!.estimate).toBeCloseTo(
        r.alignmentRate[1]!.byCountry[c]!.estimate! - r.alignmentRate[0]!.byCountry[c]!.estimate!,
        12,
      );
    }
    for (const d of pair.decisions) {
      expect(d.n).toBeGreaterThan(0);
      expect(d.kappa).not.toBeNull();
      expect(d.kappa!).toBeGreaterThanOrEqual(-1);
      expect(d.kappa!).toBeLessThanOrEqual(1);
    }
    const all = pair.answers.find((a) => a.task === "all")!;
    expect(all.records).toBe(records(A).length);
    expect(all.flips.n).toBe(all.records);
    expect(all.flips.share!).toBeGreaterThanOrEqual(0);
    expect(all.flips.share!).toBeLessThanOrEqual(1);
    expect(all.probabilityRecords).toBe(all.records);
    expect(all.meanAbsDiff!).toBeGreaterThan(0);
    expect(all.jsd!).toBeGreaterThan(0);
    expect(all.jsd!).toBeLessThan(0.01); // the same weights at another precision: nearly the same answers
    expect(pair.answers.map((a) => a.task)).toEqual(["stated", "action", "all"]);

    const md = renderCompareMarkdown(r);
    const firstTable = md.split("\n").find((l) => l.startsWith("|"));
    expect(firstTable).toBe("| model | GER | NGA | overall |");
    expect(md).toMatch(/\| valuelens-tiny-f16-seed1 \| \d\.\d\d \[\d\.\d\d, \d\.\d\d\] \|/);
    expect(md).toContain("## Differences in alignment rate");
    expect(md).toContain("Cohen's kappa");
    expect(md).toContain("## Mean alignment distance by country");
    expect(md).not.toContain("Partial comparison");
  });

  it("by default a run's intervals are those of its own report (same resamples, the run's seed)", () => {
    const r = compareRuns([A, B]);
    expect(r.bootstrap.seed).toBe(5);
    for (const [i, dir] of [A, B].entries()) {
      const metrics = JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
      // metrics.json carries intervals when the run wrote them with the default --bootstrap 1000.
      if (metrics.intervals?.bootstrap?.samples !== r.bootstrap.samples || metrics.intervals?.bootstrap?.seed !== 5)
        continue;
      expect(r.alignmentRate[i]!.byCountry).toEqual(metrics.intervals.alignmentRate.byCountry);
      expect(r.alignmentRate[i]!.overall).toEqual(metrics.intervals.alignmentRate.overall);
      expect(r.alignmentDistance[i]!.overall).toEqual(metrics.intervals.alignmentDistance.overallMean);
    }
  });

  it("a run compared with itself: every difference exactly 0, kappa 1, no flips, MAD and JSD 0", () => {
    const r = compareRuns([A, A], BOOT);
    expect(r.runs[0]!.label).not.toBe(r.runs[1]!.label);
    const pair = r.pairs[0]!;
    for (const iv of [...Object.values(pair.difference.byCountry), pair.difference.overall]) {
      expect(iv.estimate).toBe(0);
      expect(iv.low).toBe(0);
      expect(iv.high).toBe(0);
    }
    expect(r.alignmentRate[0]).toEqual({ ...r.alignmentRate[1], run: 0, label: r.runs[0]!.label });
    for (const d of pair.decisions) expect(d.kappa).toBe(1);
    for (const a of pair.answers) {
      expect(a.flips.share).toBe(0);
      expect(a.meanAbsDiff).toBe(0);
      expect(a.jsd).toBe(0);
    }
  });

  it("the paired bootstrap: a country whose answers did not change has a difference of exactly [0, 0]", () => {
    // A copy of A in which the model resists every Nigerian action it expressed: only Nigeria changes.
    const flipped = path.join(work, "A-flipped");
    cpSync(A, flipped, { recursive: true });
    const lines = records(A).map((x) => {
      if (x.task !== "action" || x.country !== "Nigeria") return JSON.stringify(x);
      const p = x.optionProbs!;
      return JSON.stringify({ ...x, optionProbs: { positive: p.negative, negative: p.positive }, score: 1 - x.score! });
    });
    writeFileSync(path.join(flipped, "records.jsonl"), lines.join("\n") + "\n");
    dropRecordsDigest(flipped);
    const r = compareRuns([A, flipped], BOOT);
    const pair = r.pairs[0]!;
    expect(pair.difference.byCountry.Germany).toMatchObject({ estimate: 0, low: 0, high: 0 });
    expect(pair.difference.byCountry.Nigeria!.estimate).not.toBe(0);
    expect(pair.difference.byCountry.Nigeria!.high! - pair.difference.byCountry.Nigeria!.low!).toBeGreaterThanOrEqual(
      0,
    );
    const action = pair.answers.find((a) => a.task === "action")!;
    const stated = pair.answers.find((a) => a.task === "stated")!;
    expect(stated.flips.share).toBe(0);
    expect(stated.jsd).toBe(0);
    expect(action.jsd!).toBeGreaterThan(0);
    expect(pair.decisions.find((d) => d.task === "stated")!.kappa).toBe(1);
  });

  it("refuses runs that asked different questions, naming the difference; --allow-partial compares the shared ones", () => {
    const err = thrown(() => compareRuns([A, N], BOOT));
    expect(err).toBeInstanceOf(UserError);
    const lacking = records(A).length - records(N).length;
    expect(err.message).toContain(`countries differ (${A}: Nigeria,Germany; ${N}: Nigeria)`);
    expect(err.message).toContain(`${A} has ${lacking} questions that ${N} lacks (first: letters/stated/Germany/`);
    expect(err.message).toContain("--allow-partial");
    expect(err.message).not.toContain("\n");

    const r = compareRuns([A, N], { ...BOOT, allowPartial: true });
    expect(r.questions.partial).toBe(true);
    expect(r.questions.shared).toBe(records(N).length);
    expect(r.runs.map((x) => x.compared)).toEqual([records(N).length, records(N).length]);
    expect(r.countries).toEqual(["Nigeria"]);
    // The same model and questions: the shared part of A is N.
    expect(r.pairs[0]!.difference.overall).toMatchObject({ estimate: 0, low: 0, high: 0 });
    expect(r.notes[0]).toMatch(/^Partial comparison \(--allow-partial\): only the \d+ questions/);
    const md = renderCompareMarkdown(r);
    expect(md).toContain("**Partial comparison (--allow-partial):**");
    expect(md.indexOf("Partial comparison")).toBeLessThan(md.indexOf("| model |"));
  });

  it("refuses a different seed, a non-run directory and a different protocol", () => {
    const seeded = path.join(work, "A-seed6");
    cpSync(A, seeded, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(seeded, "manifest.json"), "utf8"));
    m.config.seed = 6;
    writeFileSync(path.join(seeded, "manifest.json"), JSON.stringify(m));
    expect(() => compareRuns([A, seeded])).toThrow(`seed differ (${A}: 5; ${seeded}: 6)`);
    expect(compareRuns([A, seeded], { ...BOOT, allowPartial: true }).questions.partial).toBe(true);

    const empty = path.join(work, "not-a-run");
    mkdirSync(empty, { recursive: true });
    const err = thrown(() => compareRuns([A, empty]));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `${empty} is not a run directory (no manifest.json); pass the --out directory of a valuelens run`,
    );
    expect(() => compareRuns([A, path.join(work, "missing")])).toThrow(/missing: no such directory/);
    expect(() => compareRuns([A])).toThrow(UserError);

    // A real paper-protocol run (a copy of A relabelled "paper" holds records its config does not ask: refused as such).
    const paper = path.join(work, "A-paper");
    const p = valuelens([
      "run",
      "--model",
      "tiny",
      "--protocol",
      "paper",
      "--tasks",
      "action",
      "--countries",
      "Nigeria",
      "--limit",
      "2",
      "--action-max-tokens",
      "8",
      ...SLICE,
      "--out",
      paper,
      "--cache-dir",
      cache,
    ]);
    expect(p.code, p.stderr).toBe(0);
    expect(() => compareRuns([A, paper], { allowPartial: true })).toThrow(
      /uses the letters protocol and .* the paper protocol/,
    );
  });

  it("the same seed gives the same intervals, whatever the runs are compared with", () => {
    const first = compareRuns([A, B], BOOT);
    const second = compareRuns([A, B], BOOT);
    expect(intervals(second)).toEqual(intervals(first));
    expect(second).toEqual(first);
    // A run's intervals do not depend on the runs it is compared with.
    expect(compareRuns([B, A], BOOT).alignmentRate[1]!.byCountry).toEqual(first.alignmentRate[0]!.byCountry);
    // Another seed: the same estimates (the draws may differ; on this tiny slice the percentiles often coincide).
    const other = compareRuns([A, B], { ...BOOT, seed: 4 });
    expect(other.bootstrap.seed).toBe(4);
    expect(intervals(other).map((i) => i.estimate)).toEqual(intervals(first).map((i) => i.estimate));
  });

  it("tables as data (csv/json) and the command's files (in process)", async () => {
    const r = compareRuns([A, B], BOOT);
    const tables = compareTables(r, "data");
    expect(tables.map((t) => t.name)).toEqual([
      "alignment-rate-by-country",
      "alignment-rate-differences",
      "decision-agreement",
      "answer-agreement",
      "alignment-distance-by-country",
      "runs",
    ]);
    const rate = tables[0]!;
    expect(rate.columns).toEqual([
      "model",
      "GER",
      "GER low",
      "GER high",
      "NGA",
      "NGA low",
      "NGA high",
      "overall",
      "overall low",
      "overall high",
    ]);
    expect(renderTable(rate, "csv").split("\n")[0]).toBe(rate.columns.join(","));

    const out = path.join(work, "cmp-inproc");
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await compareCommand()
        .exitOverride()
        .parseAsync([A, B, "--out", out, "--format", "json", "--bootstrap", "50", "--seed", "3"], { from: "user" });
    } finally {
      write.mockRestore();
    }
    expect(readFileSync(path.join(out, "compare.md"), "utf8")).toContain("| model | GER | NGA | overall |");
    const json = JSON.parse(readFileSync(path.join(out, "compare.json"), "utf8"));
    expect(json.schema).toBe("valuelens.compare/1");
    expect(json.bootstrap).toMatchObject({ samples: 50, seed: 3 });
    for (const t of tables) expect(existsSync(path.join(out, "tables", `${t.name}.json`))).toBe(true);
    const rows = JSON.parse(readFileSync(path.join(out, "tables", "answer-agreement.json"), "utf8"));
    expect(rows).toHaveLength(3);
    expect(rows[2]).toMatchObject({
      task: "all",
      "run a": "valuelens-tiny-f16-seed1",
      "run b": "valuelens-tiny-f32-seed1",
    });
  });

  // The CLI (bin/valuelens.js).
  it("CLI: valuelens compare writes compare.md and tables, identically across invocations", () => {
    const out1 = path.join(work, "cmp-cli-1");
    const out2 = path.join(work, "cmp-cli-2");
    for (const out of [out1, out2]) {
      const r = valuelens(["compare", A, B, "--out", out, "--format", "csv", "--bootstrap", "100", "--seed", "9"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("| model | GER | NGA | overall |");
    }
    expect(readFileSync(path.join(out2, "compare.json"), "utf8")).toBe(
      readFileSync(path.join(out1, "compare.json"), "utf8"),
    );
    expect(readFileSync(path.join(out1, "tables", "alignment-rate-by-country.csv"), "utf8").split("\n")[0]).toBe(
      "model,GER,GER low,GER high,NGA,NGA low,NGA high,overall,overall low,overall high",
    );
    const printed = valuelens(["compare", A, B, "--bootstrap", "20"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout.split("\n").find((l) => l.startsWith("|"))).toBe("| model | GER | NGA | overall |");
  });

  it("CLI: a refusal is one line naming the difference, exit 1", () => {
    const r = valuelens(["compare", A, N]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("countries differ");
    const partial = valuelens(["compare", A, N, "--allow-partial", "--bootstrap", "20"]);
    expect(partial.code).toBe(0);
    expect(partial.stdout).toContain("Partial comparison (--allow-partial)");
    const csvNoOut = valuelens(["compare", A, B, "--format", "csv"]);
    expect(csvNoOut.code).toBe(1);
    expect(csvNoOut.stderr).toContain("--out");
  });
});
