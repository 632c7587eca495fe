// Heatmap figures: the Vega-Lite spec carries every cell, the SVG is deterministic and shows
// the labels and numbers, and runs write them under charts/.
import { describe, expect, it } from "vitest";
import { heatmapSpec, renderHeatmapSvg, type Heatmap } from "../src/report/charts.js";

const HEATMAP: Heatmap = {
  name: "test",
  title: "Alignment distance by value and persona kind",
  rowTitle: "value",
  columnTitle: "persona kind",
  valueTitle: "alignment distance",
  rows: ["Protecting the Environment", "Equality"],
  columns: ["baseline (none)", "max"],
  cells: [
    { row: "Protecting the Environment", column: "baseline (none)", value: 0.125 },
    { row: "Protecting the Environment", column: "max", value: 0.5 },
    { row: "Equality", column: "baseline (none)", value: 0.75 },
    { row: "Equality", column: "max", value: null },
  ],
  digits: 2,
  scheme: "reds",
};

describe("heatmaps", () => {
  it("spec: one labelled cell per number (missing cells left blank), rows and columns in the given order", () => {
    const spec = heatmapSpec(HEATMAP) as {
      data: { values: { row: string; column: string; label: string }[] };
      encoding: { x: { sort: string[] }; y: { sort: string[] } };
    };
    expect(spec.data.values.map((v) => [v.row, v.column, v.label])).toEqual([
      ["Protecting the Environment", "baseline (none)", "0.13"],
      ["Protecting the Environment", "max", "0.50"],
      ["Equality", "baseline (none)", "0.75"],
    ]);
    expect(spec.encoding.y.sort).toEqual(HEATMAP.rows);
    expect(spec.encoding.x.sort).toEqual(HEATMAP.columns);
  });

  it("SVG: deterministic, with the title, the full row labels and the cell numbers", async () => {
    const a = await renderHeatmapSvg(HEATMAP);
    const b = await renderHeatmapSvg(HEATMAP);
    expect(a).toBe(b);
    expect(a.startsWith("<svg")).toBe(true);
    for (const text of [
      "Alignment distance by value and persona kind",
      "Protecting the Environment",
      "baseline (none)",
      "0.13",
      "0.50",
      "0.75",
    ])
      expect(a).toContain(text);
  });
});
