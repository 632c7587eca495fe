/**
 * The predict suite's figures (src/report/figure.ts): each mode's metrics with their bootstrap
 * intervals, and each mode minus the baseline mode (`default`) with paired intervals.
 */
import { bootstrapSentence, type Figure } from "../../report/figure.js";
import { dotIntervalSpec, type IntervalPoint } from "../../report/figureSpecs.js";
import type { Manifest } from "../../records/manifest.js";
import { PREDICT_METRICS, type PairedDifference } from "./metrics.js";
import type { PredictRecord } from "./record.js";
import type { PredictRunMetrics } from "./report.js";

const METRIC_TITLE: Record<string, string> = {
  f1: "F1",
  accuracy: "accuracy",
  precision: "precision",
  recall: "recall",
  brier: "Brier score",
  auc: "AUC",
};

/** Predict suite: the metrics of each mode, and each mode against the baseline. */
export function predictFigures(
  metrics: PredictRunMetrics,
  _records: readonly PredictRecord[],
  _manifest: Manifest,
): Figure[] {
  const figures: Figure[] = [];
  const modes = Object.keys(metrics.byMode);
  const b = metrics.bootstrap;
  const present = PREDICT_METRICS.filter((name) => modes.some((m) => metrics.byMode[m]?.[name] != null));
  if (modes.length > 0 && present.length > 0) {
    const points: IntervalPoint[] = present.flatMap((name) =>
      modes.map((mode) => {
        const iv = metrics.byMode[mode]!.intervals[name];
        return {
          label: mode,
          series: METRIC_TITLE[name] ?? name,
          estimate: metrics.byMode[mode]![name] ?? null,
          low: iv?.low ?? null,
          high: iv?.high ?? null,
        };
      }),
    );
    const title = "Prediction metrics by mode";
    figures.push({
      name: "predict-metrics-by-mode",
      title,
      caption: `Each mode's metrics on its test rows (positive class True; F1, accuracy, precision and recall over parsed answers, Brier score and AUC over answers with a probability). ${bootstrapSentence(b, "the mode's test rows, drawn with replacement")}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "mode",
        valueTitle: "",
        labels: modes,
        series: present.map((n) => METRIC_TITLE[n] ?? n),
        domain: [0, 1],
        panel: { field: "series", columns: 3 },
        width: 110,
      }),
    });
  }
  const diffs = Object.values(metrics.differences);
  if (diffs.length > 0) {
    const baseline = diffs[0]!.baseline;
    const names = PREDICT_METRICS.filter((name) => diffs.some((d) => d.metrics[name]?.estimate != null));
    const points: IntervalPoint[] = names.flatMap((name) =>
      diffs.map((d) => ({
        label: d.mode,
        series: METRIC_TITLE[name] ?? name,
        estimate: d.metrics[name]?.estimate ?? null,
        low: d.metrics[name]?.low ?? null,
        high: d.metrics[name]?.high ?? null,
      })),
    );
    const title = `Modes against ${baseline}`;
    if (points.length > 0)
      figures.push({
        name: "predict-differences-vs-baseline",
        title,
        caption: `Each mode's metric minus the ${baseline} mode's on the test rows answered in both (paired on the test row); the dashed line is no difference. ${bootstrapSentence(b, "the paired test rows, drawn with replacement; both modes' metrics are recomputed on the same draw")}`,
        spec: dotIntervalSpec({
          title,
          points,
          labelTitle: "mode",
          valueTitle: `difference from ${baseline}`,
          labels: diffs.map((d) => d.mode),
          series: names.map((n) => METRIC_TITLE[n] ?? n),
          reference: 0,
          panel: { field: "series", columns: 3 },
          width: 110,
        }),
      });
  }
  return figures;
}

/**
 * The predict suite's comparison figures: F1 by mode for each run with its interval, and each
 * later run minus the first per mode, paired on the test row.
 */
export function predictCompareFigures(
  runs: readonly { label: string; metrics: PredictRunMetrics }[],
  differences: readonly { run: string; mode: string; d: PairedDifference }[],
  bootstrap: { samples: number; seed: number },
): Figure[] {
  const figures: Figure[] = [];
  const modes = [...new Set(runs.flatMap((r) => Object.keys(r.metrics.byMode)))];
  const points: IntervalPoint[] = runs.flatMap((r) =>
    modes.flatMap((mode) => {
      const x = r.metrics.byMode[mode];
      return x
        ? [
            {
              label: mode,
              series: r.label,
              estimate: x.f1,
              low: x.intervals.f1?.low ?? null,
              high: x.intervals.f1?.high ?? null,
            },
          ]
        : [];
    }),
  );
  const b = { ...bootstrap, level: 0.95 };
  if (points.length > 0) {
    const title = "F1 by mode and run";
    figures.push({
      name: "predict-compare-f1",
      title,
      caption: `Each run's F1 per mode (positive class True) on the test rows all runs answered. ${bootstrapSentence(b, "each run's test rows of the mode, drawn with replacement")}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "mode",
        valueTitle: "F1",
        labels: modes,
        series: runs.map((r) => r.label),
        domain: [0, 1],
      }),
    });
  }
  const diffPoints: IntervalPoint[] = differences.map(({ run, mode, d }) => ({
    label: mode,
    series: run,
    estimate: d.metrics.f1?.estimate ?? null,
    low: d.metrics.f1?.low ?? null,
    high: d.metrics.f1?.high ?? null,
  }));
  if (diffPoints.some((p) => p.estimate !== null)) {
    const title = `F1 against ${runs[0]!.label}`;
    figures.push({
      name: "predict-compare-f1-differences",
      title,
      caption: `Each run's F1 minus ${runs[0]!.label}'s per mode, paired on the test row (the same questions); the dashed line is no difference. ${bootstrapSentence(b, "the paired test rows, drawn with replacement; both runs' F1 are recomputed on the same draw")}`,
      spec: dotIntervalSpec({
        title,
        points: diffPoints,
        labelTitle: "mode",
        valueTitle: `F1 difference from ${runs[0]!.label}`,
        labels: modes,
        series: runs.slice(1).map((r) => r.label),
        reference: 0,
      }),
    });
  }
  return figures;
}
