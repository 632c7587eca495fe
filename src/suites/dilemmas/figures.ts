/** The dilemma suite's figures: alignment rate and distance by value and persona kind (the persona study's heatmap). */
import type { Heatmap } from "../../report/charts.js";
import { bootstrapSentence, type Figure, heatmapFigure } from "../../report/figure.js";
import { dotIntervalSpec, type IntervalPoint, stackedSpec } from "../../report/figureSpecs.js";
import type { Manifest } from "../../records/manifest.js";
import type { DilemmaRecord } from "./record.js";
import type { AlignmentFigure, DilemmaMetrics, PersonaKind } from "./metrics.js";
import { ACTION_GRADES, VALUE_SCALE } from "./schema.js";
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

/**
 * Dilemma suite: every figure of a run. The two value x persona-kind heatmaps are report.md's
 * (charts/); then the answer-choice distributions of the value and action questions per persona
 * kind, the alignment rate and distance per kind with intervals, and each kind against the
 * baseline with paired intervals.
 */
export function dilemmaFigures(
  metrics: DilemmaMetrics,
  _records: readonly DilemmaRecord[],
  _manifest: Manifest,
): Figure[] {
  const figures: Figure[] = dilemmaHeatmaps(metrics).map((h) =>
    heatmapFigure(
      h,
      `${h.title}: the mean over the units (persona, dilemma) of each value and persona kind; point estimates, no intervals.`,
    ),
  );
  const kinds = metrics.kinds;
  const boot = metrics.intervals?.bootstrap;

  // Answer-choice distributions.
  const choice = (task: "stated" | "action", labels: readonly string[]): Figure | undefined => {
    const present = kinds.filter((k) => metrics.choices[task][k] !== undefined);
    if (present.length === 0) return undefined;
    const what = task === "stated" ? "value questions" : "action questions";
    const title = `Answers to the ${what} by persona kind`;
    return {
      name: `choices-${task === "stated" ? "value" : "action"}-questions-by-kind`,
      title,
      caption: `Mean probability of each of the six ${task === "stated" ? "agreement points (value question: Strongly agree .. Strongly disagree)" : "action grades (strongly aligning .. strongly opposing)"} over every scored answer of each persona kind (renormalized over the six letters, every repeat); point estimates, no intervals.`,
      spec: stackedSpec({
        title,
        rows: present.flatMap((k) =>
          labels.map((l) => ({
            category: kindLabel(k),
            segment: l,
            share: metrics.choices[task][k]!.meanProbability[l] ?? 0,
          })),
        ),
        categories: present.map(kindLabel),
        segments: labels,
        categoryTitle: "persona kind",
        segmentTitle: task === "stated" ? "answer" : "action grade",
        valueTitle: "mean probability",
      }),
    };
  };
  const stated = choice("stated", VALUE_SCALE);
  const action = choice("action", ACTION_GRADES);
  if (stated) figures.push(stated);
  if (action) figures.push(action);

  // Rate and distance per kind, with intervals.
  const RATE = "alignment rate";
  const DISTANCE = "alignment distance";
  const byKind = kinds.filter((k) => metrics.byKind[k] !== undefined);
  if (byKind.length > 0) {
    const points: IntervalPoint[] = byKind.flatMap((k) => {
      const f = metrics.byKind[k]!;
      return [
        { label: kindLabel(k), series: RATE, ...f.alignmentRate },
        { label: kindLabel(k), series: DISTANCE, ...f.alignmentDistance },
      ];
    });
    const title = "Alignment rate and distance by persona kind";
    figures.push({
      name: "alignment-by-kind",
      title,
      caption: `Alignment rate (higher: stated value and action on the same side) and distance (lower: closer) of each persona kind, the mean over its units (persona, dilemma). ${bootstrapSentence(boot, boot?.resampled)}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "persona kind",
        valueTitle: "",
        labels: byKind.map(kindLabel),
        series: [RATE, DISTANCE],
        domain: [0, 1],
        panel: { field: "series" },
        width: 110,
      }),
    });
  }
  const versus = kinds.filter((k) => metrics.byKind[k]?.vsBaseline !== undefined);
  if (versus.length > 0) {
    const points: IntervalPoint[] = versus.flatMap((k) => {
      const d = metrics.byKind[k]!.vsBaseline!;
      return [
        { label: kindLabel(k), series: RATE, ...d.alignmentRate },
        { label: kindLabel(k), series: DISTANCE, ...d.alignmentDistance },
      ];
    });
    const title = "Persona kinds against the baseline";
    figures.push({
      name: "alignment-vs-baseline-by-kind",
      title,
      caption: `Each persona kind's alignment rate and distance minus the baseline's (no persona), paired per dilemma: per dilemma the mean over the kind's units minus the baseline unit, averaged over the dilemmas that have both; the dashed line is no difference. ${bootstrapSentence(boot, boot ? "the dilemmas that have both, drawn with replacement; the figure is the mean of the drawn per-dilemma differences" : undefined)}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "persona kind",
        valueTitle: "difference from the baseline",
        labels: versus.map(kindLabel),
        series: [RATE, DISTANCE],
        reference: 0,
        panel: { field: "series" },
        width: 110,
      }),
    });
  }
  return figures;
}
