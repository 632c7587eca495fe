/** The dilemma suite's figures: alignment rate and distance by value and persona kind (the persona study's heatmap). */
import type { Heatmap } from "../../report/charts.js";
import { type Figure, heatmapFigure } from "../../report/figure.js";
import type { Manifest } from "../../records/manifest.js";
import type { DilemmaRecord } from "./record.js";
import type { AlignmentFigure, DilemmaMetrics, PersonaKind } from "./metrics.js";
import { kindLabel } from "./report.js";

/** Dilemma suite: alignment rate and distance by value (the paper's analysis order) and persona kind. */
export function dilemmaHeatmaps(metrics: DilemmaMetrics): Heatmap[] {
  const values = Object.keys(metrics.byValue);
  if (values.length === 0) return [];
  const kinds = metrics.kinds;
  const cells = (pick: (f: AlignmentFigure) => number | null) =>
    values.flatMap((v) =>
      kinds.map((k: PersonaKind) => {
        const f = metrics.byValue[v]![k];
        return { row: v, column: kindLabel(k), value: f ? pick(f) : null };
      }),
    );
  const common = { rowTitle: "value", columnTitle: "persona kind", rows: values, columns: kinds.map(kindLabel) };
  return [
    {
      ...common,
      name: "alignment-rate-by-value-and-kind",
      title: "Alignment rate by value and persona kind",
      valueTitle: "alignment rate",
      cells: cells((f) => f.alignmentRate.estimate),
      digits: 2,
      scheme: "greens",
    },
    {
      ...common,
      name: "alignment-distance-by-value-and-kind",
      title: "Alignment distance by value and persona kind",
      valueTitle: "alignment distance",
      cells: cells((f) => f.alignmentDistance.estimate),
      digits: 2,
      scheme: "reds",
    },
  ];
}

/** Dilemma suite: every figure of a run (the two value x persona-kind heatmaps are report.md's). */
export function dilemmaFigures(
  metrics: DilemmaMetrics,
  _records: readonly DilemmaRecord[],
  _manifest: Manifest,
): Figure[] {
  return dilemmaHeatmaps(metrics).map((h) =>
    heatmapFigure(
      h,
      `${h.title}: the mean over dilemmas of each value and persona kind; point estimates, no intervals.`,
    ),
  );
}
