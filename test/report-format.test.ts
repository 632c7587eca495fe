// The report's layout (paper tables first, intervals in brackets), its tables as CSV / JSON
// files, and the measures beyond the paper on a hand-computed matrix.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { averageRanks, beyondPaper, spearman } from "../src/suites/via/metrics/beyond.js";
import { metricsFromMatrices, metricsFromRecords } from "../src/suites/via/metrics/fromRecords.js";
import { TOPICS, VALUE_NAMES } from "../src/protocol/values.js";
import { fmtInterval, renderCountryTable } from "../src/report/report.js";
import { renderReport, reportTables } from "../src/suites/via/reportSections.js";
import { renderRunReport, runReportTables } from "../src/suites/via/report.js";
import { handcraftedManifest, lettersRun, SMALL_ACTION, SMALL_STATED, writeRunDir } from "./helpers/handcrafted.js";
import { valuelens } from "./helpers/cli.js";

// The small hand-computed matrices of test/helpers/handcrafted.ts (F1 per scenario written there).
const stated = SMALL_STATED;
const action = SMALL_ACTION;

describe("beyond the paper (hand-computed)", () => {
  const b = beyondPaper(stated, action);

  it("agreement rate = accuracy of binarized action vs binarized stated", () => {
    // per scenario 2/4, 4/4, 2/4, 4/4
    expect(b.byScenario.map((s) => s.agreement)).toEqual([0.5, 1, 0.5, 1]);
    expect(b.agreementRate.byCountry["United States"]).toBeCloseTo(0.75, 12);
    expect(b.agreementRate.byCountry.Egypt).toBeCloseTo(0.75, 12);
    expect(b.agreementRate.overall).toBeCloseTo(0.75, 12);
  });

  it("macro-F1 = mean of the F1 with each class as positive (0 when undefined)", () => {
    //  US/T1: F1(1) = 2/4, F1(0) = 2/4 -> 0.5;  US/T2: 1, 1 -> 1
    //  EG/T1: F1(1) = 4/6, F1(0) = 0/2 = 0 -> 1/3;  EG/T2: F1(1) undefined -> 0, F1(0) = 1 -> 0.5
    const expected = [0.5, 1, 1 / 3, 0.5];
    b.byScenario.forEach((s, i) => expect(s.macroF1).toBeCloseTo(expected[i]!, 12));
    expect(b.macroF1.byCountry["United States"]).toBeCloseTo(0.75, 12);
    expect(b.macroF1.byCountry.Egypt).toBeCloseTo(5 / 12, 12);
    expect(b.macroF1.overall).toBeCloseTo((0.5 + 1 + 1 / 3 + 0.5) / 4, 12);
  });

  it("Spearman per scenario (average ranks for ties), null when undefined", () => {
    //  US/T1: ranks stated [1.5 3.5 3.5 1.5], action [3.5 3.5 1.5 1.5] -> centered products -1 +1 -1 +1 = 0
    //  US/T2: identical -> 1;  Egypt: a constant side -> null, left out of the means
    expect(b.byScenario.map((s) => s.spearman)).toEqual([0, 1, null, null]);
    expect(b.spearman.byCountry["United States"]).toBeCloseTo(0.5, 12);
    expect(b.spearman.byCountry.Egypt).toBeUndefined();
    expect(b.spearman.overall).toBeCloseTo(0.5, 12);
    expect(b.spearman.undefinedScenarios).toBe(2);
  });

  it("ranks and correlation", () => {
    expect(averageRanks([0.1, 0.2, 0.2, 0.9])).toEqual([1, 2.5, 2.5, 4]);
    expect(averageRanks([3, 1, 2])).toEqual([3, 1, 2]);
    // ranks [1 2.5 2.5 4] vs [2 1 3 4]: cov 3 / sqrt(4.5 * 5)
    expect(spearman([0.1, 0.2, 0.2, 0.9], [0.3, 0.1, 0.5, 0.8])).toBeCloseTo(3 / Math.sqrt(22.5), 12);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 12);
    expect(spearman([1], [2])).toBeNull();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
  });

  it("stands next to the paper's F1 in its own section, never in its place", () => {
    const m = metricsFromMatrices(stated, action);
    expect(m.beyondPaper!.note).toMatch(/not in the paper/i);
    const md = renderReport({ title: "t", manifestSummary: { model: "m" }, metrics: m });
    const at = md.indexOf("## Beyond the paper (not in the paper)");
    expect(at).toBeGreaterThan(md.indexOf("## Cross-task inconsistency"));
    expect(md).toContain("| country | alignment rate (paper's F1) | agreement rate | macro-F1 | Spearman |");
    expect(md).toContain("| United States (US) | 0.75 | 0.75 | 0.75 | 0.50 |");
    expect(md).toContain("| Egypt (EG) | 0.33 | 0.75 | 0.42 | – |");
    // The country table still shows the paper's F1.
    expect(md).toContain("| m | 0.75 | – | – | – | – | – | – | – | – | – | 0.33 | – | 0.54 |");
  });
});

describe("report layout", () => {
  const records = lettersRun({
    countries: ["Nigeria", "Germany"],
    topics: TOPICS.slice(0, 3) as string[],
    values: VALUE_NAMES.slice(0, 12) as string[],
    repeats: 4,
    seed: 3,
    firstBias: 0.2,
  });
  const manifest = handcraftedManifest(records, { protocol: "letters", repeats: 4, seed: 3 });
  const metrics = metricsFromRecords(records, { bootstrap: { samples: 200, seed: 3 } });
  const md = renderRunReport(manifest, metrics, records);

  it("leads with the country table, with intervals, then the other tables in the paper's order", () => {
    const lines = md.split("\n");
    const firstTable = lines.findIndex((l) => l.startsWith("|"));
    expect(lines[firstTable]).toBe(
      "| model | US | CA | GER | UK | FR | AUS | IND | PAK | PHIL | NGA | EG | UG | overall |",
    );
    const row = lines[firstTable + 2]!;
    const rate = metrics.alignmentRate;
    const iv = metrics.intervals!.alignmentRate;
    expect(row).toContain(`| ${fmtInterval(rate.byCountry.Germany, iv.byCountry.Germany)} |`);
    expect(row).toMatch(/\| \d\.\d\d \[\d\.\d\d, \d\.\d\d\] \|$/);
    expect(md).toContain("200 resamples, seed 3");
    expect(md).toMatch(/What was resampled: for the overall figure, scenarios/);
    const order = [
      "## Alignment rate by country (F1)",
      "## Alignment rate by topic (F1)",
      "## Mean alignment distance by country",
      "## Most misaligned values by country",
      "## Cross-task inconsistency",
      "## Alignment rate over repeats (letters protocol)",
      "## Position bias",
      "## Beyond the paper (not in the paper)",
      "## Run summary",
    ].map((h) => md.indexOf(h));
    expect(order.every((x) => x >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // distance with intervals, 3 decimals
    expect(md).toMatch(/\| Nigeria \(NGA\) \| \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] \|/);
    expect(md).toMatch(/\| action \| letters \| A 0\.\d\d, B 0\.\d\d \(mass\) \| 0\.50 \|/);
  });

  it("renderCountryTable takes intervals", () => {
    const t = renderCountryTable([
      {
        label: "x",
        byCountry: { Nigeria: 0.456 },
        overall: 0.5,
        intervals: { byCountry: { Nigeria: { low: 0.41, high: 0.523 } }, overall: { low: null, high: null } },
      },
    ]);
    expect(t.split("\n")[2]).toBe("| x | – | – | – | – | – | – | – | – | – | 0.46 [0.41, 0.52] | – | – | 0.50 |");
  });

  it("every table is a Table with a unique file name; the data tables carry raw numbers", () => {
    const tables = runReportTables(manifest, metrics, records);
    const names = tables.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      "alignment-rate-by-country",
      "alignment-rate-by-topic",
      "alignment-distance-by-country",
      "misaligned-values-by-country",
      "inconsistency",
      "repeat-spread",
      "position-bias",
      "order-sensitivity",
      "beyond-paper",
      "run-summary",
    ]);
    for (const t of tables) expect(t.name).toMatch(/^[a-z0-9-]+$/);
    const byCountry = tables[0]!;
    expect(byCountry.columns).toEqual([
      "model",
      "country",
      "abbrev",
      "alignment_rate",
      "ci_low",
      "ci_high",
      "scenarios",
    ]);
    const ng = byCountry.rows.find((r) => r[1] === "Nigeria")!;
    expect(ng[3]).toBe(metrics.alignmentRate.byCountry.Nigeria);
    expect(ng[4]).toBe(metrics.intervals!.alignmentRate.byCountry.Nigeria!.low);
    expect(byCountry.rows.at(-1)![1]).toBe("overall");
    // reportTables works on plain metrics too (no intervals: null interval ends)
    const plain = reportTables({ title: "t", manifestSummary: {}, metrics: metricsFromMatrices(stated, action) });
    expect(plain[0]!.rows[0]![4]).toBeNull();
  });
});

describe("valuelens report --format csv|json", () => {
  const dir = writeRunDir(
    path.join(mkdtempSync(path.join(tmpdir(), "vl-format-")), "run"),
    lettersRun({
      countries: ["Nigeria", "Egypt"],
      topics: TOPICS.slice(0, 2) as string[],
      values: VALUE_NAMES.slice(0, 8) as string[],
      repeats: 2,
      seed: 5,
    }),
    { protocol: "letters", repeats: 2, seed: 5 },
  );

  it("writes every table as tables/<name>.csv and says where", () => {
    const r = valuelens(["report", dir, "--format", "csv", "--bootstrap", "100"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const files = readdirSync(path.join(dir, "tables"))
      .filter((f) => f.endsWith(".csv"))
      .sort();
    expect(files).toContain("alignment-rate-by-country.csv");
    expect(files).toContain("beyond-paper.csv");
    expect(files).toContain("position-bias.csv");
    for (const f of files) expect(r.stdout).toContain(path.join("tables", f));
    const csv = readFileSync(path.join(dir, "tables", "alignment-rate-by-country.csv"), "utf8")
      .trim()
      .split("\n");
    expect(csv[0]).toBe("model,country,abbrev,alignment_rate,ci_low,ci_high,scenarios");
    const metrics = JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
    const egypt = csv.find((l) => l.startsWith("handcrafted,Egypt,EG,"))!.split(",");
    expect(Number(egypt[3])).toBe(metrics.alignmentRate.byCountry.Egypt);
    expect(Number(egypt[4])).toBe(metrics.intervals.alignmentRate.byCountry.Egypt.low);
    // report.md and metrics.json are rewritten as well; the report itself is not printed
    expect(existsSync(path.join(dir, "report.md"))).toBe(true);
    expect(r.stdout).not.toContain("# valuelens report");
  });

  it("writes JSON tables that parse to one object per row", () => {
    const r = valuelens(["report", dir, "--format", "json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(readFileSync(path.join(dir, "tables", "alignment-rate-by-topic.json"), "utf8"));
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0])).toEqual(["topic", "alignment_rate", "ci_low", "ci_high", "countries"]);
    expect(typeof rows[0].alignment_rate).toBe("number");
    expect(rows[0].ci_low).toBeLessThanOrEqual(rows[0].alignment_rate);
    // --bootstrap 100 was recorded and reused
    expect(JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8")).intervals.bootstrap.samples).toBe(100);
    expect(r.stdout).toContain(path.join("tables", "alignment-rate-by-topic.json"));
  });

  it("--format md (default) prints report.md", () => {
    const r = valuelens(["report", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(path.join(dir, "report.md"), "utf8"));
    expect(r.stdout.split("\n").find((l) => l.startsWith("|"))).toContain("| model | US | CA |");
  });

  it("rejects an unknown format", () => {
    const r = valuelens(["report", dir, "--format", "xlsx"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--format");
  });
});
