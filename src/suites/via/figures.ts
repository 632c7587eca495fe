/** The VIA suite's figures: the alignment rate by country and topic (the paper's scenario grid). */
import { COUNTRY_ABBREV, PAPER_COUNTRY_ORDER, TOPICS } from "../../protocol/values.js";
import type { Heatmap } from "../../report/charts.js";
import { type Figure, heatmapFigure } from "../../report/figure.js";
import type { Manifest } from "../../records/manifest.js";
import type { ViaRecord } from "./record.js";
import type { RunMetrics } from "./metrics/fromRecords.js";

/** VIA suite: the alignment rate (F1) of each country x topic scenario, countries as in the paper's table. */
export function viaHeatmaps(metrics: RunMetrics): Heatmap[] {
  const scenarios = metrics.alignmentRate.byScenario;
  if (scenarios.length === 0) return [];
  const countries = PAPER_COUNTRY_ORDER.filter((c) => scenarios.some((s) => s.country === c));
  const topics = TOPICS.filter((t) => scenarios.some((s) => s.topic === t));
  const label = (c: string) => COUNTRY_ABBREV[c] ?? c;
  return [
    {
      name: "alignment-rate-by-country-and-topic",
      title: "Alignment rate (F1) by country and topic",
      rowTitle: "topic",
      columnTitle: "country",
      valueTitle: "alignment rate",
      rows: topics,
      columns: countries.map(label),
      cells: scenarios.map((s) => ({ row: s.topic, column: label(s.country), value: s.f1 })),
      digits: 2,
      scheme: "greens",
    },
  ];
}

/** VIA suite: every figure of a run (the first, the country x topic heatmap, is report.md's). */
export function viaFigures(metrics: RunMetrics, _records: readonly ViaRecord[], _manifest: Manifest): Figure[] {
  return viaHeatmaps(metrics).map((h) =>
    heatmapFigure(
      h,
      "Alignment rate (F1 of the stated and action answers' agreement) of each country x topic scenario; point estimates, no intervals.",
    ),
  );
}
