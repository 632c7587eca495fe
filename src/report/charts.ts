/**
 * Heatmaps drawn with Vega-Lite, each cell labelled with its number so the figure reads without
 * a legend: report.md's figures (`<run>/charts/<name>.svg`), made into figures by
 * ./figure.ts `heatmapFigure` in each suite's src/suites/<name>/figures.ts.
 *
 * Vega is loaded only when a chart is drawn, so commands that draw none start fast.
 */

export interface HeatmapCell {
  row: string;
  column: string;
  value: number | null;
}

export interface Heatmap {
  /** File name without extension, e.g. "alignment-rate-by-country-and-topic". */
  name: string;
  title: string;
  rowTitle: string;
  columnTitle: string;
  valueTitle: string;
  /** Row and column labels in display order. */
  rows: string[];
  columns: string[];
  cells: HeatmapCell[];
  /** Decimals of the cell labels. */
  digits: number;
  /** Colour scheme: "greens" where higher is better (rate), "reds" where lower is better (distance). */
  scheme: "greens" | "reds";
}

/** The Vega-Lite spec of a heatmap: rectangles coloured on [0, 1], each labelled with its value. */
export function heatmapSpec(h: Heatmap): Record<string, unknown> {
  const values = h.cells
    .filter((c) => c.value !== null)
    .map((c) => ({ row: c.row, column: c.column, value: c.value, label: c.value!.toFixed(h.digits) }));
  const x = {
    field: "column",
    type: "nominal",
    sort: h.columns,
    title: h.columnTitle,
    axis: { labelAngle: -40, orient: "top" },
  };
  const y = { field: "row", type: "nominal", sort: h.rows, title: h.rowTitle, axis: { labelLimit: 260 } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: h.title,
    data: { values },
    config: { view: { step: 34 }, axis: { labelFontSize: 10, titleFontSize: 11 }, font: "sans-serif" },
    encoding: { x, y },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "value",
            type: "quantitative",
            title: h.valueTitle,
            scale: { domain: [0, 1], scheme: h.scheme },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 9 },
        encoding: {
          text: { field: "label", type: "nominal" },
          color: { condition: { test: "datum.value > 0.6", value: "white" }, value: "black" },
        },
      },
    ],
  };
}

/** The heatmap as an SVG document (deterministic for the same input). */
export async function renderHeatmapSvg(h: Heatmap): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const compiled = vl.compile(heatmapSpec(h) as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Vega numbers gradient ids per process; renumber them per document so a chart never depends on what was drawn before it. */
export function renumberIds(svg: string): string {
  const ids = new Map<string, number>();
  return svg.replace(/\b(gradient|clip|pattern)_(\d+)\b/g, (_whole, kind: string, n: string) => {
    const key = `${kind}_${n}`;
    if (!ids.has(key)) ids.set(key, [...ids.keys()].filter((k) => k.startsWith(`${kind}_`)).length);
    return `${kind}_${ids.get(key)}`;
  });
}
