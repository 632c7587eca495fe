/**
 * The figures of a dilemma-suite comparison (`Comparison.figures`): each run's alignment rate
 * and distance per persona kind with intervals, and the differences between runs per kind with
 * paired intervals.
 */
import { bootstrapSentence, type Figure } from "../../report/figure.js";
import { dotIntervalSpec, type IntervalPoint } from "../../report/figureSpecs.js";
import type { DilemmaCompareResult, KindOrAll } from "./compare.js";
import { kindLabel } from "./report.js";

const RATE = "alignment rate";
const DISTANCE = "alignment distance";

const label = (k: KindOrAll) => (k === "all" ? "all" : kindLabel(k));

/** Dilemma comparison: per kind, each run with its interval and the paired differences. */
export function dilemmaCompareFigures(result: DilemmaCompareResult): Figure[] {
  const figures: Figure[] = [];
  const b = result.bootstrap;
  const kinds = [...new Set([...result.alignment.map((a) => a.kind), ...result.differences.map((d) => d.kind)])].map(
    label,
  );
  if (result.alignment.length > 0) {
    const runs = [...new Set(result.alignment.map((a) => a.label))];
    const points: IntervalPoint[] = result.alignment.flatMap((a) => [
      { label: `${label(a.kind)} · ${a.label}`, series: RATE, ...a.figure.alignmentRate },
      { label: `${label(a.kind)} · ${a.label}`, series: DISTANCE, ...a.figure.alignmentDistance },
    ]);
    const title = "Alignment by persona kind and run";
    figures.push({
      name: "compare-alignment-by-kind",
      title,
      caption: `Each run's alignment rate and distance per persona kind (the mean over its units) on the questions all runs share. ${bootstrapSentence(b, "dilemmas, drawn with replacement; a drawn dilemma brings all its units")}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "persona kind · run",
        valueTitle: "",
        labels: kinds.flatMap((k) => runs.map((r) => `${k} · ${r}`)),
        series: [RATE, DISTANCE],
        domain: [0, 1],
        panel: { field: "series" },
        width: 110,
      }),
    });
  }
  if (result.differences.length > 0) {
    const pairs = [...new Set(result.differences.map((d) => `${d.labelB} − ${d.labelA}`))];
    const one = pairs.length === 1;
    const row = (d: (typeof result.differences)[number]) =>
      one ? label(d.kind) : `${label(d.kind)} · ${d.labelB} − ${d.labelA}`;
    const points: IntervalPoint[] = result.differences.flatMap((d) => [
      { label: row(d), series: RATE, ...d.alignmentRate },
      { label: row(d), series: DISTANCE, ...d.alignmentDistance },
    ]);
    const title = one ? `Differences by persona kind: ${pairs[0]}` : "Differences between runs by persona kind";
    figures.push({
      name: "compare-differences-by-kind",
      title,
      caption: `One run's alignment rate and distance minus another's per persona kind, over the units usable in both; the dashed line is no difference. ${bootstrapSentence(b, "dilemmas, drawn once for both runs (paired)")}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: one ? "persona kind" : "persona kind · runs",
        valueTitle: "difference",
        labels: [...new Set(points.map((p) => p.label))],
        series: [RATE, DISTANCE],
        reference: 0,
        panel: { field: "series" },
        width: 110,
      }),
    });
  }
  return figures;
}
