// The figures of runs and comparisons (src/report/figure.ts, src/suites/*/figures.ts): every
// spec compiles with Vega-Lite, carries its data inline and a caption, and renders an SVG with
// one mark per data row; SVG and PDF are deterministic; the heatmaps of before draw the same SVG.
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { compile } from "vega-lite";
import { renderHeatmapSvg, type Heatmap } from "../../src/report/charts.js";
import {
  type Figure,
  figuresSection,
  heatmapFigure,
  parseFigureFormats,
  renderFigurePdf,
  renderFigureSvg,
  svgSize,
  svgToPdf,
} from "../../src/report/figure.js";
import { compareRuns } from "../../src/compare/compare.js";
import { loadRun } from "../../src/compare/load.js";
import { loadRunDirectory } from "../../src/runs/load.js";
import { suiteOf } from "../../src/suites/registry.js";
import { predictFigures } from "../../src/suites/predict/figures.js";
import type { PredictRunMetrics } from "../../src/suites/predict/report.js";
import type { Manifest } from "../../src/records/manifest.js";
import { PROJECT_ROOT } from "../helpers/models.js";
import { markItems, pdfPages, pdfTextObjects } from "./marks.js";

const FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "runs");

/** A fixture run's figures, as `report` makes them (bootstrap 200 for speed). */
function runFigures(name: string): Figure[] {
  const run = loadRunDirectory(path.join(FIXTURES, name));
  const suite = suiteOf(run.manifest.config);
  const metrics = suite.metrics(run.records, run.manifest.config, { bootstrap: { samples: 200, seed: 1 } });
  return suite.figures(metrics, run.records, run.manifest);
}

/** Every `mark` type a spec uses, however deep. */
function markTypes(spec: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (x: unknown) => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else if (x && typeof x === "object") {
      for (const [k, v] of Object.entries(x)) {
        if (k === "mark") out.add(typeof v === "string" ? v : String((v as { type: string }).type));
        walk(v);
      }
    }
  };
  walk(spec);
  return out;
}

/** The figure's data rows (every spec here carries one inline data set at the top). */
function rows(f: Figure): Record<string, unknown>[] {
  return (f.spec.data as { values: Record<string, unknown>[] }).values;
}

/** Checks one figure: contract, compile, and marks against its data. */
async function checkFigure(f: Figure): Promise<string> {
  expect(f.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  expect(f.title.length).toBeGreaterThan(0);
  expect(f.caption.length).toBeGreaterThan(20);
  expect(f.spec.$schema).toBe("https://vega.github.io/schema/vega-lite/v6.json");
  expect(JSON.stringify(f.spec)).not.toMatch(/"url"\s*:/);
  expect(() => compile(f.spec as unknown as Parameters<typeof compile>[0])).not.toThrow();
  const svg = await renderFigureSvg(f);
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg).toContain(f.title.replace(/&/g, "&amp;").slice(0, 20));
  const { width, height } = svgSize(svg);
  expect(width).toBeGreaterThan(50);
  expect(height).toBeGreaterThan(50);
  const data = rows(f);
  expect(data.length).toBeGreaterThan(0);
  const types = markTypes(f.spec);
  if (types.has("point")) {
    // one dot per row; one interval line per row that has one (plus reference lines)
    expect(markItems(svg, "symbol")).toBe(data.length);
    const withInterval = data.filter((d) => d.low !== null && d.high !== null).length;
    expect(markItems(svg, "rule")).toBeGreaterThanOrEqual(withInterval);
  } else {
    // heatmap cells and bars are rects: one per row
    expect(markItems(svg, "rect")).toBe(data.length);
  }
  return svg;
}

describe("figures of runs", () => {
  it("VIA letters: the released analysis' figures, the report.md one first", async () => {
    const figures = runFigures("via-letters");
    expect(figures.map((f) => f.name)).toEqual([
      "alignment-rate-by-country-and-topic",
      "alignment-rate-by-country",
      "stated-by-country-and-value",
      "action-by-country-and-value",
      "alignment-distance-by-country-and-value",
      "alignment-distance-by-topic-and-value",
      "top-misaligned-values-by-country",
      "top-misaligned-values-by-topic",
      "position-bias-by-position",
      "top-answer-changes-with-order",
    ]);
    expect(figures.filter((f) => f.markdown).map((f) => f.name)).toEqual(["alignment-rate-by-country-and-topic"]);
    for (const f of figures) await checkFigure(f);
    // the country dots carry the bootstrap intervals and say what was resampled
    const country = figures.find((f) => f.name === "alignment-rate-by-country")!;
    expect(country.caption).toMatch(
      /95% percentile bootstrap intervals \(200 resamples, seed 1\); resampled: the country's values/,
    );
    expect(rows(country).every((r) => typeof r.low === "number" && typeof r.high === "number")).toBe(true);
    // values are grouped by Schwartz type in the released analysis' order
    const stated = figures.find((f) => f.name === "stated-by-country-and-value")!;
    const groups = (stated.spec.facet as { column: { sort: string[] } }).column.sort;
    expect(groups[0]).toBe("Power");
    // top-5: at most five bars per country
    const ranking = rows(figures.find((f) => f.name === "top-misaligned-values-by-country")!);
    const perCountry = new Map<string, number>();
    for (const r of ranking) perCountry.set(String(r.panel), (perCountry.get(String(r.panel)) ?? 0) + 1);
    expect(Math.max(...perCountry.values())).toBeLessThanOrEqual(5);
  }, 60_000);

  it("VIA paper protocol and dilemmas: every figure compiles and draws its marks", async () => {
    const paper = runFigures("via-paper");
    for (const f of paper) await checkFigure(f);
    const dilemmas = runFigures("dilemmas");
    expect(dilemmas.map((f) => f.name)).toEqual([
      "alignment-rate-by-value-and-kind",
      "alignment-distance-by-value-and-kind",
      "choices-value-questions-by-kind",
      "choices-action-questions-by-kind",
      "alignment-by-kind",
      "alignment-vs-baseline-by-kind",
    ]);
    expect(dilemmas.filter((f) => f.markdown).length).toBe(2);
    for (const f of dilemmas) await checkFigure(f);
    // six answer points per persona kind, summing to 1
    const choices = rows(dilemmas.find((f) => f.name === "choices-value-questions-by-kind")!);
    const sums = new Map<string, number>();
    for (const r of choices) sums.set(String(r.category), (sums.get(String(r.category)) ?? 0) + Number(r.share));
    for (const s of sums.values()) expect(s).toBeCloseTo(1, 6);
    expect(choices.length).toBe(6 * sums.size);
  }, 60_000);

  it("predict: metrics by mode and paired differences from the baseline", async () => {
    const iv = (estimate: number) => ({
      estimate,
      low: estimate - 0.1,
      high: estimate + 0.1,
      samples: 100,
      level: 0.95,
    });
    const mode = (f1: number) => ({
      n: 10,
      unparsed: 0,
      nProbability: 0,
      tp: 3,
      fp: 2,
      tn: 3,
      fn: 2,
      f1,
      accuracy: 0.6,
      precision: 0.6,
      recall: 0.6,
      brier: null,
      auc: null,
      intervals: { f1: iv(f1), accuracy: iv(0.6), precision: iv(0.6), recall: iv(0.6) },
    });
    const metrics = {
      suite: "predict",
      elicitation: "generate",
      failed: 0,
      positive: "True",
      zeroDivision: 0,
      bootstrap: { samples: 100, seed: 1, level: 0.95 },
      byMode: { default: mode(0.5), explanation: mode(0.7) },
      differences: {
        explanation: {
          mode: "explanation",
          baseline: "default",
          n: 10,
          unpaired: 0,
          metrics: { f1: { ...iv(0.2), excludesZero: true }, accuracy: { ...iv(0), excludesZero: false } },
        },
      },
    } as unknown as PredictRunMetrics;
    const figures = predictFigures(metrics, [], {} as Manifest);
    expect(figures.map((f) => f.name)).toEqual(["predict-metrics-by-mode", "predict-differences-vs-baseline"]);
    for (const f of figures) await checkFigure(f);
    expect(rows(figures[0]!).length).toBe(2 * 4); // two modes x the four classification metrics
    expect(rows(figures[1]!).length).toBe(2); // one mode x two metrics with a difference
  }, 60_000);
});

describe("figures of comparisons", () => {
  it("VIA: rates by country and run, paired differences, agreement", async () => {
    const a = loadRun(path.join(FIXTURES, "via-letters"));
    const b = loadRun(path.join(FIXTURES, "via-letters-shard1-of-2"));
    const c = compareRuns([a, b], { allowPartial: true, bootstrap: 200, seed: 1 });
    const figures = c.figures ?? [];
    expect(figures.map((f) => f.name)).toEqual([
      "compare-alignment-rate-by-country",
      "compare-differences-by-country",
      "compare-agreement",
    ]);
    for (const f of figures) await checkFigure(f);
    expect(figures[1]!.caption).toMatch(/paired/);
    // per run: each shared country and the overall rate
    const series = new Set(rows(figures[0]!).map((r) => r.series));
    expect(series.size).toBe(2);
  }, 60_000);

  it("dilemmas: per persona kind, each run and the paired differences", async () => {
    const a = loadRun(path.join(FIXTURES, "dilemmas"));
    const c = compareRuns([a, { ...a, dir: `${a.dir}-copy` }], { bootstrap: 200, seed: 1 });
    const figures = c.figures ?? [];
    expect(figures.map((f) => f.name)).toEqual(["compare-alignment-by-kind", "compare-differences-by-kind"]);
    for (const f of figures) await checkFigure(f);
    // a run against itself: every difference is 0
    expect(rows(figures[1]!).every((r) => r.estimate === 0)).toBe(true);
  }, 60_000);
});

const HEATMAP: Heatmap = {
  name: "test",
  title: "Alignment rate by value and persona kind",
  rowTitle: "value",
  columnTitle: "persona kind",
  valueTitle: "alignment rate",
  rows: ["Equality", "Wealth"],
  columns: ["baseline (none)", "max"],
  cells: [
    { row: "Equality", column: "baseline (none)", value: 0.25 },
    { row: "Equality", column: "max", value: 0.5 },
    { row: "Wealth", column: "baseline (none)", value: 0.75 },
    { row: "Wealth", column: "max", value: null },
  ],
  digits: 2,
  scheme: "greens",
};

describe("rendering", () => {
  it("a heatmap figure draws the SVG charts/ has always held; report.md lists only markdown figures", async () => {
    const f = heatmapFigure(HEATMAP, "a caption that says what the cells are");
    expect(f.markdown).toBe(true);
    expect(await renderFigureSvg(f)).toBe(await renderHeatmapSvg(HEATMAP));
    const other: Figure = { ...f, name: "other", markdown: undefined };
    expect(figuresSection([f, other])).toBe(`\n## Figures\n\n![${HEATMAP.title}](charts/test.svg)\n`);
    expect(figuresSection([other])).toBe("");
  });

  it("SVG and PDF are deterministic; the PDF is one page of the SVG's size with its text", async () => {
    const [f] = runFigures("via-letters").filter((x) => x.name === "alignment-rate-by-country");
    const a = await renderFigureSvg(f!);
    const b = await renderFigureSvg(f!);
    expect(a).toBe(b);
    const pdf1 = await renderFigurePdf(f!);
    // A year and a second later by the clock (Date only, no real wait): no date or id may differ.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 366 * 86_400_000 + 1_000 });
    const pdf2 = await svgToPdf(a, f!.title).finally(() => vi.useRealTimers());
    expect(pdf1.equals(pdf2)).toBe(true);
    expect(pdf1.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    expect(pdf1.subarray(-6).toString("latin1")).toContain("%%EOF");
    const info = pdfPages(pdf1);
    expect(info.pages).toBe(1);
    const { width, height } = svgSize(a);
    expect(info.mediaBox).toEqual([0, 0, width, height]);
    expect(pdf1.toString("latin1")).toMatch(/\/BaseFont \/Helvetica/);
    // every text of the SVG (title, axis labels, tick labels) is drawn as text in the PDF
    const texts = (a.match(/<text\b/g) ?? []).length;
    expect(texts).toBeGreaterThan(10);
    expect(pdfTextObjects(pdf1)).toBe(texts);
  }, 30_000);

  it("--figures formats", () => {
    expect(parseFigureFormats("svg,pdf")).toEqual(["svg", "pdf"]);
    expect(parseFigureFormats("PDF, svg")).toEqual(["svg", "pdf"]);
    expect(parseFigureFormats("pdf")).toEqual(["pdf"]);
    expect(parseFigureFormats("png")).toMatch(/--figures takes svg, pdf or svg,pdf/);
    expect(parseFigureFormats("")).toMatch(/--figures takes/);
  });
});
