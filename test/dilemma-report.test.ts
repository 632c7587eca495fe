// report.md, csv/json tables and `valuelens compare` for dilemma-suite (6-point protocol) runs,
// on handcrafted records and run directories.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { compareCommand } from "../src/cli/compare.js";
import { compareDilemmaRuns } from "../src/suites/dilemmas/compare.js";
import { compareInput } from "../src/compare/compare.js";
import { loadRun } from "../src/compare/load.js";
import { dilemmaMetrics } from "../src/suites/dilemmas/metrics.js";
import { renderDilemmaCompareMarkdown } from "../src/suites/dilemmas/compareReport.js";
import { dilemmaReportTables, renderDilemmaReport } from "../src/suites/dilemmas/report.js";
import { renderTable } from "../src/report/table.js";
import { DilemmaRecordSchema, type DilemmaRecord } from "../src/suites/dilemmas/record.js";
import { UserError } from "../src/util/errors.js";
import {
  at,
  baselineAndMaxUnits,
  dist,
  MAX_A,
  MAX_B,
  NONE,
  question,
  sixpointManifest,
  writeSixpointRunDir,
} from "./helpers/dilemmaRecords.js";
import { thrown } from "./helpers/errors.js";
import { suiteCompareInput } from "./helpers/suiteRecords.js";
import { lettersRun, writeRunDir } from "./helpers/handcrafted.js";

/** `baselineAndMaxUnits` (none rate 0.5, max rate 0.75, max vs baseline +0.25), plus a dropped unit. */
function records(): DilemmaRecord[] {
  return [
    ...baselineAndMaxUnits(),
    // a unit whose action question got no letter mass (dropped)
    ...question({
      task: "stated",
      persona: NONE,
      dilemma: "d3",
      value: "Wealth",
      topic: "Politics",
      repeats: [at("stated", 1)],
    }),
    ...question({ task: "action", persona: NONE, dilemma: "d3", value: "Wealth", topic: "Politics", repeats: [null] }),
  ];
}

describe("report.md of a dilemma-suite run", () => {
  const recs = records();
  const manifest = sixpointManifest(recs, { repeats: 1, seed: 4 });
  const metrics = dilemmaMetrics(recs, { bootstrap: { samples: 50, seed: 4 } });
  const md = renderDilemmaReport(manifest, metrics, recs);

  it("leads with the persona-kind table, then personas, heatmaps, topics, choices, position bias, summary, notes, definitions", () => {
    expect(md.startsWith("# valuelens report: handcrafted (dilemma suite)\n")).toBe(true);
    const headings = md.split("\n").filter((l) => l.startsWith("## "));
    expect(headings).toEqual([
      "## Alignment by persona kind",
      "## Alignment by persona",
      "## Alignment by value and persona kind",
      "## Alignment by topic and persona kind",
      "## Answer choices",
      "## Position bias",
      "## Run summary",
      "## Notes",
      "## Operational definitions (ours)",
    ]);
    expect(md).toContain(
      "| persona kind | personas | units | alignment rate | Δ rate vs baseline | alignment distance | Δ distance vs baseline |",
    );
    const maxRow = md.split("\n").find((l) => l.startsWith("| max |"))!;
    // max: rate 0.75, +0.25 vs baseline; distance 0.25, -0.25 vs baseline (d1 0.5 - 0, d2 0 - 1)
    expect(maxRow).toMatch(
      /^\| max \| 2 \| 4 \| 0\.75 \[[0-9.]+, [0-9.]+\] \| \+0\.25 \[[-+0-9.]+, [-+0-9.]+\] \| 0\.250 \[[0-9.]+, [0-9.]+\] \| -0\.250 /,
    );
    expect(md).toMatch(/\| baseline \(none\) \| 1 \| 2 \| 0\.50 \[/);
    expect(md).toContain("| max traditional-survival | max | traditional-survival | 2 | 1.00 [1.00, 1.00] | +0.50");
    // heatmap rows in the paper's analysis order, columns per kind
    expect(md).toContain("| value | baseline (none) | max |");
    expect(md.indexOf("| Equality | 1.00 | 0.50 |")).toBeLessThan(md.indexOf("| Honest | 0.00 | 1.00 |"));
    expect(md).toContain("**Alignment distance by value and persona kind**");
    expect(md).toContain(
      "| persona kind | answers | Strongly agree | Agree | Mildly agree | Mildly disagree | Disagree | Strongly disagree |",
    );
    expect(md).toContain("| baseline (none) | 3 | 1.00 (100%) | 0.00 (0%) |"); // three scored value answers, all strongly agree
    expect(md).toContain("| question | answers | A | B | C | D | E | F | uniform |");
    expect(md).toContain("| personas asked | none, max |");
    expect(md).toContain("- Handcrafted dilemma run.");
    expect(md).toContain(
      "- Records: 14 recorded, 12 used (dropped: no letter mass: 1, unpaired question (the other question of the unit has no scored answer): 1).",
    );
    expect(md).toContain(
      "- Units (persona x dilemma): 7 asked, 6 with both questions scored (dropped: no scored action answer: 1).",
    );
    expect(md).toContain("Alignment rate: the probability that the stated value and the action are on the same side");
    expect(md).toContain("50 resamples, seed 4");
  });

  it("says so when the bootstrap is off", () => {
    const off = renderDilemmaReport(manifest, dilemmaMetrics(recs, { bootstrap: { samples: 0, seed: 4 } }), recs);
    expect(off).toContain("No intervals: the bootstrap was disabled (--bootstrap 0).");
    expect(off).toContain("| max | 2 | 4 | 0.75 | +0.25 | 0.250 | -0.250 |");
  });

  it("csv/json tables: kebab-case names, one figure per column", () => {
    const tables = dilemmaReportTables(manifest, metrics, recs);
    expect(tables.map((t) => t.name)).toEqual([
      "alignment-by-persona-kind",
      "alignment-by-persona",
      "alignment-by-value-and-kind",
      "alignment-by-topic-and-kind",
      "alignment-by-dilemma-and-kind",
      "answer-choices",
      "position-bias",
      "run-summary",
      "inputs",
    ]);
    for (const t of tables) {
      expect(new Set(t.columns).size).toBe(t.columns.length);
      for (const row of t.rows) expect(row).toHaveLength(t.columns.length);
    }
    const kinds = JSON.parse(renderTable(tables[0]!, "json")) as Record<string, unknown>[];
    expect(kinds.map((r) => r.persona_kind)).toEqual(["none", "max", "all"]);
    expect(kinds[1]).toMatchObject({
      personas: 2,
      units: 4,
      dilemmas: 2,
      alignment_rate: 0.75,
      alignment_distance: 0.25,
      baseline_dilemmas: 2,
      rate_vs_baseline: 0.25,
      distance_vs_baseline: -0.25,
    });
    expect(kinds[0]!.rate_vs_baseline).toBeNull();
    const csv = renderTable(tables[2]!, "csv").trim().split("\n");
    expect(csv[0]).toBe(
      "value,persona_kind,units,dilemmas,alignment_rate,alignment_rate_ci_low,alignment_rate_ci_high,alignment_distance,alignment_distance_ci_low,alignment_distance_ci_high",
    );
    expect(csv[1]!.startsWith("Equality,none,1,1,1,1,1,0,0,0")).toBe(true);
    const choices = JSON.parse(renderTable(tables[5]!, "json")) as Record<string, unknown>[];
    expect(choices).toHaveLength(2 * 2 * 6); // two questions x two kinds x six options
    expect(choices[0]).toEqual({
      question: "value",
      persona_kind: "none",
      option: "Strongly agree",
      scale_position: 1,
      answers: 3,
      mean_probability: 1,
      top_share: 1,
    });
    const inputs = JSON.parse(renderTable(tables[8]!, "json")) as Record<string, unknown>[];
    expect(inputs).toContainEqual({ level: "units", count: "dropped", reason: "no scored action answer", n: 1 });
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * A run of four dilemmas, baseline and two max personas, six repeats per question (one balanced
 * cycle). `shift` moves the action of the max personas on dilemmas d0 and d1 by that many grades
 * (another model's answers).
 */
function runRecords(shift = 0, personas = [NONE, MAX_A, MAX_B]): DilemmaRecord[] {
  const out: DilemmaRecord[] = [];
  const dilemmas = [
    { dilemma: "d0", value: "Equality", topic: "Politics" },
    { dilemma: "d1", value: "Honest", topic: "Religion" },
    { dilemma: "d2", value: "Wealth", topic: "Politics" },
    { dilemma: "d3", value: "Freedom", topic: "Environment" },
  ];
  dilemmas.forEach((d, i) => {
    for (const [j, persona] of personas.entries()) {
      const grade = Math.min(6, ((i + j) % 3) + 1 + (persona.kind === "max" && i < 2 ? shift : 0));
      const stated = dist("stated", [0.5, 0.3, 0.1, 0.05, 0.03, 0.02]);
      const action = dist(
        "action",
        Array.from({ length: 6 }, (_, k) => (k === grade - 1 ? 0.75 : 0.05)),
      );
      out.push(...question({ ...d, persona, task: "stated", repeats: Array(6).fill(stated) }));
      out.push(...question({ ...d, persona, task: "action", repeats: Array(6).fill(action) }));
    }
  });
  return out;
}

describe("valuelens compare of dilemma-suite runs", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-dilemma-compare-"));
  const A = writeSixpointRunDir(path.join(work, "A"), runRecords(0), { repeats: 6, seed: 2, model: "alpha" });
  const B = writeSixpointRunDir(path.join(work, "B"), runRecords(3), { repeats: 6, seed: 2, model: "beta" });
  const BASE = writeSixpointRunDir(path.join(work, "base"), runRecords(0, [NONE]), {
    repeats: 6,
    seed: 2,
    model: "gamma",
    personas: ["none"],
  });
  const VIA = writeRunDir(
    path.join(work, "via"),
    lettersRun({ countries: ["Nigeria"], topics: ["Politics"], values: ["Equality"], repeats: 2, seed: 1 }),
    {
      protocol: "letters",
      repeats: 2,
      seed: 1,
    },
  );
  const BOOT = { bootstrap: 200, seed: 2 };

  it("per run and persona kind: the runs' own figures and intervals (the report's)", () => {
    const r = compareDilemmaRuns(suiteCompareInput(DilemmaRecordSchema, compareInput([loadRun(A), loadRun(B)], BOOT)));
    expect(r.protocol).toBe("sixpoint");
    expect(r.runs.map((x) => [x.label, x.units, x.compared])).toEqual([
      ["alpha", 12, 144],
      ["beta", 12, 144],
    ]);
    expect(r.questions).toEqual({ shared: 144, partial: false, differences: [] });
    expect(r.kinds).toEqual(["none", "max"]);
    for (const [run, dir] of [A, B].entries()) {
      const own = dilemmaMetrics(DilemmaRecordSchema.array().parse(loadRun(dir).records), {
        bootstrap: { samples: 200, seed: 2 },
      });
      const mine = r.alignment.filter((x) => x.run === run);
      expect(mine.map((x) => x.kind)).toEqual(["none", "max", "all"]);
      for (const x of mine.slice(0, 2)) {
        const k = own.byKind[x.kind as "none" | "max"]!;
        expect(x.figure.units).toBe(k.units);
        expect(x.figure.alignmentRate).toEqual(k.alignmentRate);
        expect(x.figure.alignmentDistance).toEqual(k.alignmentDistance);
      }
      expect(mine[1]!.figure.alignmentRate.low).not.toBeNull();
      expect(mine[2]!.figure.alignmentRate).toEqual(own.overall.alignmentRate);
    }
  });

  it("paired difference from the first run over shared units, by hand", () => {
    const r = compareDilemmaRuns(suiteCompareInput(DilemmaRecordSchema, compareInput([loadRun(A), loadRun(B)], BOOT)));
    // Only the max personas' actions on d0, d1 moved: the baseline difference is exactly 0.
    const none = r.differences.find((d) => d.kind === "none")!;
    expect(none).toMatchObject({ a: 0, b: 1, labelA: "alpha", labelB: "beta", units: 4, dilemmas: 4 });
    expect(none.alignmentRate.estimate).toBe(0);
    expect(none.alignmentRate.low).toBe(0);
    expect(none.alignmentRate.high).toBe(0);
    // max: difference = mean over its 8 units of (rate in beta - rate in alpha) = (beta max - alpha max) as the units are the same
    const max = r.differences.find((d) => d.kind === "max")!;
    const rateOf = (run: number, kind: string) => r.alignment.find((x) => x.run === run && x.kind === kind)!.figure;
    expect(max.units).toBe(8);
    expect(max.alignmentRate.estimate).toBeCloseTo(
      rateOf(1, "max").alignmentRate.estimate! - rateOf(0, "max").alignmentRate.estimate!,
      12,
    );
    expect(max.alignmentDistance.estimate).toBeCloseTo(
      rateOf(1, "max").alignmentDistance.estimate! - rateOf(0, "max").alignmentDistance.estimate!,
      12,
    );
    expect(max.alignmentDistance.estimate!).toBeGreaterThan(0); // actions shifted towards opposing
    expect(max.alignmentRate.low!).toBeLessThanOrEqual(max.alignmentRate.estimate!);
    expect(max.alignmentRate.high!).toBeGreaterThanOrEqual(max.alignmentRate.estimate!);
    const all = r.differences.find((d) => d.kind === "all")!;
    expect(all.units).toBe(12);
    expect(all.alignmentDistance.estimate).toBeCloseTo((max.alignmentDistance.estimate! * 8) / 12, 12);
    // Deterministic.
    expect(
      compareDilemmaRuns(suiteCompareInput(DilemmaRecordSchema, compareInput([loadRun(A), loadRun(B)], BOOT))),
    ).toEqual(r);
  });

  it("runs with other questions: refused, or compared on the shared ones with --allow-partial", () => {
    const e = thrown(() =>
      compareDilemmaRuns(suiteCompareInput(DilemmaRecordSchema, compareInput([loadRun(A), loadRun(BASE)], BOOT))),
    );
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain("questions that");
    expect(e.message).toContain("--allow-partial");
    expect(e.message.split("\n")).toHaveLength(1);
    const r = compareDilemmaRuns(
      suiteCompareInput(
        DilemmaRecordSchema,
        compareInput([loadRun(A), loadRun(BASE)], { ...BOOT, allowPartial: true }),
      ),
    );
    expect(r.questions.partial).toBe(true);
    expect(r.questions.shared).toBe(48);
    expect(r.kinds).toEqual(["none"]);
    expect(r.differences.find((d) => d.kind === "none")!.units).toBe(4);
    expect(renderDilemmaCompareMarkdown(r)).toContain("**Partial comparison (--allow-partial):**");
  });

  it("the command: compare.md, compare.json and csv tables; mixing with a VIA run is a one-line error", async () => {
    const out = path.join(work, "cmp");
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await compareCommand()
        .exitOverride()
        .parseAsync([A, B, "--out", out, "--format", "csv", "--bootstrap", "50", "--seed", "3"], { from: "user" });
    } finally {
      write.mockRestore();
    }
    const md = readFileSync(path.join(out, "compare.md"), "utf8");
    expect(md.startsWith("# valuelens compare (dilemma suite): alpha vs beta")).toBe(true);
    expect(md).toContain("| model | persona kind | units | alignment rate | alignment distance |");
    expect(md).toContain("| b − a | persona kind | paired units | Δ alignment rate | Δ alignment distance |");
    expect(md).toContain("| beta − alpha | baseline (none) | 4 | 0.00 [0.00, 0.00] | 0.000 [0.000, 0.000] |");
    const json = JSON.parse(readFileSync(path.join(out, "compare.json"), "utf8"));
    expect(json.schema).toBe("valuelens.compare-dilemmas/1");
    expect(json.bootstrap).toMatchObject({ samples: 50, seed: 3, units: "dilemmas" });
    for (const name of ["alignment-by-run-and-kind", "alignment-differences", "runs"])
      expect(existsSync(path.join(out, "tables", `${name}.csv`))).toBe(true);
    expect(readFileSync(path.join(out, "tables", "alignment-differences.csv"), "utf8").split("\n")[0]).toBe(
      "run a,run b,persona kind,paired units,dilemmas,rate difference,rate low,rate high,distance difference,distance low,distance high",
    );

    // VIA runs still take the VIA path.
    const VIA2 = writeRunDir(
      path.join(work, "via2"),
      lettersRun({
        countries: ["Nigeria"],
        topics: ["Politics"],
        values: ["Equality"],
        repeats: 2,
        seed: 1,
        firstBias: 0.2,
      }),
      {
        protocol: "letters",
        repeats: 2,
        seed: 1,
      },
    );
    const viaOut = path.join(work, "cmp-via");
    const quiet = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await compareCommand()
        .exitOverride()
        .parseAsync([VIA, VIA2, "--out", viaOut, "--bootstrap", "20"], { from: "user" });
    } finally {
      quiet.mockRestore();
    }
    expect(JSON.parse(readFileSync(path.join(viaOut, "compare.json"), "utf8")).schema).toBe("valuelens.compare/1");
    expect(readFileSync(path.join(viaOut, "compare.md"), "utf8")).toContain("| model | NGA | overall |");

    for (const dirs of [
      [A, VIA],
      [VIA, A],
    ]) {
      const err = await compareCommand()
        .exitOverride()
        .parseAsync(dirs, { from: "user" })
        .then(
          () => undefined,
          (x: unknown) => x as Error,
        );
      expect(err).toBeInstanceOf(UserError);
      expect(err!.message.split("\n")).toHaveLength(1);
      expect(err!.message).toMatch(
        /is a dilemma-suite run \(sixpoint protocol\) and .* a VIA run \(letters protocol\); compare runs of one suite only/,
      );
    }
  });
});
