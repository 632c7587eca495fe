/**
 * Vega-Lite specs of the chart kinds the suites' figures use, sized for a paper (a column is
 * 240 pt wide, a page 500 pt; see ./figure.ts): dots with intervals, grouped heatmaps without
 * cell labels, ranking bars in panels, stacked distributions, and bars against a reference.
 * Each takes plain rows, so a suite only gathers its numbers; data is inline, never a URL.
 */
import { COLUMN_WIDTH, PAGE_WIDTH } from "./figure.js";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Fonts and sizes for print: small labels, no view border. */
export const PAPER_CONFIG = {
  font: "sans-serif",
  view: { stroke: null },
  axis: { labelFontSize: 8, titleFontSize: 9, titleFontWeight: "normal", grid: false },
  header: { labelFontSize: 8, titleFontSize: 9 },
  legend: { labelFontSize: 8, titleFontSize: 9 },
  title: { fontSize: 10, anchor: "start", fontWeight: "bold" },
} as const;

function base(title: string): Record<string, unknown> {
  return { $schema: SCHEMA, title, config: PAPER_CONFIG };
}

const finite = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);

// ---------------------------------------------------------------------------------------------
// Dots with intervals

export interface IntervalPoint {
  /** the row (e.g. a country) */
  label: string;
  estimate: number | null;
  low: number | null;
  high: number | null;
  /** the series (e.g. a model, a metric); absent: one series */
  series?: string;
}

export interface DotIntervalOptions {
  title: string;
  points: readonly IntervalPoint[];
  /** axis title of the rows, and of the values */
  labelTitle: string;
  valueTitle: string;
  /** row order (default: as they come) */
  labels?: readonly string[];
  /** series order (default: as they come); shown as colours with a legend when more than one */
  series?: readonly string[];
  /** the value axis' domain (default: the data's) */
  domain?: readonly [number, number];
  /** a vertical reference line (e.g. 0 for differences, or a baseline) */
  reference?: number;
  /** plot width in points (default: a column) */
  width?: number;
  /** panels: one per distinct `panelOf` value (e.g. per metric), side by side, each its own axis */
  panel?: { field: "series"; columns?: number };
}

/**
 * A dot per row (and series) at its estimate with a line over its interval; rows without an
 * estimate are left out, rows without an interval get the dot alone.
 */
export function dotIntervalSpec(o: DotIntervalOptions): Record<string, unknown> {
  const values = o.points
    .filter((p) => finite(p.estimate))
    .map((p) => ({
      label: p.label,
      series: p.series ?? "",
      estimate: p.estimate,
      low: finite(p.low) ? p.low : null,
      high: finite(p.high) ? p.high : null,
    }));
  const labels = o.labels ?? [...new Set(values.map((v) => v.label))];
  const series = o.series ?? [...new Set(values.map((v) => v.series))];
  const many = series.length > 1 && o.panel === undefined;
  // every number equal (e.g. two copies of a run): a domain around it, so the axis reads
  const all = values.flatMap((v) => [v.estimate as number, v.low, v.high]).filter(finite);
  if (finite(o.reference)) all.push(o.reference);
  const flat = all.length > 0 && Math.max(...all) - Math.min(...all) < 1e-9;
  const domain = o.domain ?? (flat ? ([all[0]! - 0.05, all[0]! + 0.05] as const) : undefined);
  const scale = domain ? { domain: [...domain], zero: false, nice: false } : { zero: false };
  const y = { field: "label", type: "nominal", sort: labels, title: o.labelTitle, axis: { labelLimit: 140 } };
  const color = many
    ? { color: { field: "series", type: "nominal", sort: series, title: null, legend: { orient: "bottom" } } }
    : {};
  const offset = many ? { yOffset: { field: "series", type: "nominal", sort: series } } : {};
  const layers: Record<string, unknown>[] = [
    {
      transform: [{ filter: "isValid(datum.low) && isValid(datum.high)" }],
      mark: { type: "rule", strokeWidth: 1.2 },
      encoding: {
        x: { field: "low", type: "quantitative", scale, title: o.valueTitle },
        x2: { field: "high" },
        y,
        ...color,
        ...offset,
      },
    },
    {
      mark: { type: "point", filled: true, size: 24, opacity: 1 },
      encoding: {
        x: { field: "estimate", type: "quantitative", scale, title: o.valueTitle },
        y,
        ...color,
        ...offset,
        tooltip: [
          { field: "label", title: o.labelTitle },
          ...(many ? [{ field: "series", title: "series" }] : []),
          { field: "estimate", format: ".3f" },
          { field: "low", format: ".3f" },
          { field: "high", format: ".3f" },
        ],
      },
    },
  ];
  if (finite(o.reference))
    layers.unshift({
      data: { values: [{ reference: o.reference }] },
      mark: { type: "rule", strokeDash: [3, 3], color: "#888" },
      encoding: { x: { field: "reference", type: "quantitative", scale } },
    });
  // the plot leaves room for the row labels: the whole figure is about a column wide
  const width = o.width ?? COLUMN_WIDTH - 90;
  const step = many ? 8 * series.length + 4 : 14;
  if (o.panel) {
    // the value title goes above the panels: an axis title wider than its panel would push the panel off its axis
    for (const layer of layers) {
      const x = (layer.encoding as { x: Record<string, unknown> }).x;
      if ("title" in x) x.title = null;
    }
    return {
      ...base(o.title),
      data: { values },
      facet: { field: "series", type: "nominal", sort: series, title: o.valueTitle || null },
      columns: o.panel.columns ?? series.length,
      resolve: { scale: { x: "independent" } },
      spec: { width, height: { step }, layer: layers },
    };
  }
  return { ...base(o.title), data: { values }, width, height: { step }, layer: layers };
}

// ---------------------------------------------------------------------------------------------
// Heatmaps with grouped columns

export interface GroupedHeatmapOptions {
  title: string;
  cells: readonly { row: string; column: string; value: number | null }[];
  rows: readonly string[];
  columns: readonly string[];
  /** the group of each column (e.g. its Schwartz type); columns are drawn in panels by group */
  groupOf?: (column: string) => string;
  rowTitle: string;
  columnTitle: string;
  valueTitle: string;
  scheme: "greens" | "reds" | "blues" | "purples";
  domain?: readonly [number, number];
  /** side of a cell in points (default 8) */
  step?: number;
}

/**
 * A heatmap of many cells (e.g. 12 countries x 56 values): rectangles without labels (the value
 * is in the tooltip), columns in panels by group with the group's name above.
 */
export function groupedHeatmapSpec(o: GroupedHeatmapOptions): Record<string, unknown> {
  const step = o.step ?? 8;
  const values = o.cells
    .filter((c) => finite(c.value))
    .map((c) => ({ row: c.row, column: c.column, value: c.value, group: o.groupOf ? o.groupOf(c.column) : "" }));
  const color = {
    field: "value",
    type: "quantitative",
    title: o.valueTitle,
    scale: { domain: [...(o.domain ?? [0, 1])], scheme: o.scheme },
    legend: { orient: "bottom", gradientLength: 120, gradientThickness: 8 },
  };
  const x = {
    field: "column",
    type: "nominal",
    sort: [...o.columns],
    title: null,
    axis: { labelAngle: -90, labelFontSize: 7, labelLimit: 150, orient: "top" },
  };
  const y = { field: "row", type: "nominal", sort: [...o.rows], title: o.rowTitle, axis: { labelFontSize: 7 } };
  const rect = {
    mark: { type: "rect", stroke: "white", strokeWidth: 0.3 },
    encoding: {
      x,
      y,
      color,
      tooltip: [
        { field: "row", title: o.rowTitle },
        { field: "column", title: o.columnTitle },
        { field: "value", format: ".3f", title: o.valueTitle },
      ],
    },
  };
  if (!o.groupOf) return { ...base(o.title), data: { values }, width: { step }, height: { step }, ...rect };
  const groups = [...new Set(o.columns.map((c) => o.groupOf!(c)))];
  return {
    ...base(o.title),
    data: { values },
    facet: {
      column: {
        field: "group",
        type: "nominal",
        sort: groups,
        title: null, // the panels' labels are the groups, the axis labels the columns
        header: {
          orient: "bottom",
          labelAngle: -90,
          labelAlign: "right",
          labelBaseline: "middle",
          labelFontSize: 7,
          labelFontWeight: "bold",
          labelPadding: 4,
        },
      },
    },
    spacing: 2,
    resolve: { scale: { x: "independent" } },
    spec: { width: { step }, height: { step }, ...rect },
  };
}

// ---------------------------------------------------------------------------------------------
// Ranking bars in panels

export interface RankingOptions {
  title: string;
  /** one bar per entry; `rank` orders the bars within a panel (1 at the top) */
  entries: readonly { panel: string; label: string; value: number; rank: number }[];
  panels: readonly string[];
  valueTitle: string;
  /** panels per row (default 4) */
  columns?: number;
  /** width of one panel's plot (default: a page split into `columns`) */
  width?: number;
  domain?: readonly [number, number];
}

/** A small bar chart per panel (e.g. the 5 most misaligned values of each country), largest first. */
export function rankingSpec(o: RankingOptions): Record<string, unknown> {
  const columns = o.columns ?? 4;
  const width = o.width ?? Math.floor(PAGE_WIDTH / columns) - 80;
  return {
    ...base(o.title),
    data: { values: o.entries.map((e) => ({ ...e })) },
    facet: { field: "panel", type: "nominal", sort: [...o.panels], title: null, header: { labelFontWeight: "bold" } },
    columns,
    spacing: { row: 8, column: 6 },
    resolve: { scale: { y: "independent" } },
    spec: {
      width,
      height: { step: 9 },
      mark: { type: "bar", color: "#c0504d" },
      encoding: {
        y: {
          field: "label",
          type: "nominal",
          sort: { field: "rank", op: "min", order: "ascending" },
          title: null,
          axis: { labelFontSize: 7, labelLimit: 110 },
        },
        x: {
          field: "value",
          type: "quantitative",
          title: o.valueTitle,
          ...(o.domain ? { scale: { domain: [...o.domain] } } : {}),
          axis: { tickCount: 3, labelFontSize: 7 },
        },
        tooltip: [
          { field: "panel", title: "group" },
          { field: "label", title: "value" },
          { field: "value", format: ".3f", title: o.valueTitle },
        ],
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Stacked distributions

export interface StackedOptions {
  title: string;
  /** one bar per category (e.g. persona kind), split into segments (e.g. the 6 answer points) */
  rows: readonly { category: string; segment: string; share: number }[];
  categories: readonly string[];
  segments: readonly string[];
  categoryTitle: string;
  segmentTitle: string;
  valueTitle: string;
  width?: number;
}

/** Horizontal bars of shares summing to 1, segments in scale order (a diverging colour scale). */
export function stackedSpec(o: StackedOptions): Record<string, unknown> {
  const index = new Map(o.segments.map((s, i) => [s, i]));
  const values = o.rows
    .filter((r) => finite(r.share) && index.has(r.segment))
    .map((r) => ({ ...r, order: index.get(r.segment)! }));
  return {
    ...base(o.title),
    data: { values },
    width: o.width ?? COLUMN_WIDTH - 80,
    height: { step: 14 },
    mark: { type: "bar", stroke: "white", strokeWidth: 0.3 },
    encoding: {
      y: { field: "category", type: "nominal", sort: [...o.categories], title: o.categoryTitle },
      x: {
        field: "share",
        type: "quantitative",
        stack: "zero",
        title: o.valueTitle,
        scale: { domain: [0, 1] },
        axis: { format: "%" },
      },
      color: {
        field: "segment",
        type: "ordinal",
        sort: [...o.segments],
        title: o.segmentTitle,
        scale: { scheme: "redblue", reverse: true },
        legend: { orient: "bottom", columns: 2, symbolSize: 60, labelLimit: 160 },
      },
      order: { field: "order", type: "quantitative" },
      tooltip: [
        { field: "category", title: o.categoryTitle },
        { field: "segment", title: o.segmentTitle },
        { field: "share", format: ".1%", title: o.valueTitle },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bars against a reference

export interface ReferenceBarsOptions {
  title: string;
  /** one bar per (panel, x); each row carries its panel's reference (e.g. the uniform share) */
  rows: readonly { panel: string; x: string; value: number; reference: number }[];
  panels: readonly string[];
  xTitle: string;
  valueTitle: string;
  referenceLabel: string;
  /** width of one panel (default: a column split into the panels) */
  width?: number;
  domain?: readonly [number, number];
}

/** Bars per panel with a dashed line at the panel's reference (e.g. letter mass by position against uniform). */
export function referenceBarsSpec(o: ReferenceBarsOptions): Record<string, unknown> {
  const width = o.width ?? Math.max(60, Math.floor((COLUMN_WIDTH - 50) / Math.max(1, o.panels.length)) - 8);
  const y = {
    field: "value",
    type: "quantitative",
    title: o.valueTitle,
    ...(o.domain ? { scale: { domain: [...o.domain] } } : {}),
  };
  return {
    ...base(o.title),
    data: { values: o.rows.map((r) => ({ ...r })) },
    facet: { field: "panel", type: "nominal", sort: [...o.panels], title: null },
    spacing: 8,
    resolve: { scale: { x: "independent" } },
    spec: {
      width,
      height: 120,
      layer: [
        {
          mark: { type: "bar", color: "#4c78a8" },
          encoding: {
            x: { field: "x", type: "nominal", title: o.xTitle, axis: { labelAngle: 0 } },
            y,
            tooltip: [
              { field: "panel", title: "panel" },
              { field: "x", title: o.xTitle },
              { field: "value", format: ".3f", title: o.valueTitle },
              { field: "reference", format: ".3f", title: o.referenceLabel },
            ],
          },
        },
        {
          mark: { type: "rule", strokeDash: [3, 3], color: "#333" },
          encoding: { y: { field: "reference", aggregate: "mean", type: "quantitative" } },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Shares

export interface ShareBarsOptions {
  title: string;
  /** one horizontal bar per row, with its text (e.g. "3/7") after it */
  rows: readonly { label: string; share: number; text: string }[];
  labelTitle: string;
  valueTitle: string;
  width?: number;
}

/** Horizontal bars of shares in [0, 1], each with a text label, rows in the given order. */
export function shareBarsSpec(o: ShareBarsOptions): Record<string, unknown> {
  const y = { field: "label", type: "nominal", sort: o.rows.map((r) => r.label), title: o.labelTitle };
  const x = {
    field: "share",
    type: "quantitative",
    title: o.valueTitle,
    scale: { domain: [0, 1] },
    axis: { format: "%" },
  };
  return {
    ...base(o.title),
    data: { values: o.rows.map((r) => ({ ...r })) },
    width: o.width ?? COLUMN_WIDTH - 90,
    height: { step: 16 },
    encoding: { y, x },
    layer: [
      { mark: { type: "bar", color: "#4c78a8" }, encoding: { tooltip: [{ field: "label" }, { field: "text" }] } },
      { mark: { type: "text", align: "left", dx: 3, fontSize: 8 }, encoding: { text: { field: "text" } } },
    ],
  };
}
