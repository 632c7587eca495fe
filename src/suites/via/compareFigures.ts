/**
 * The figures of a VIA comparison (`Comparison.figures`: compare.html, `compare --figures`):
 * each run's alignment rate by country with its interval, the per-country differences between
 * runs with paired intervals, and how much the runs' answers agree (kappa, flips, JSD).
 */
import { PAPER_COUNTRY_ORDER } from "../../protocol/values.js";
import { bootstrapSentence, type Figure } from "../../report/figure.js";
import { dotIntervalSpec, type IntervalPoint } from "../../report/figureSpecs.js";
import type { CompareResult } from "./compare.js";

const OVERALL = "overall";

/** VIA comparison: rates, paired differences and agreement. */
export function viaCompareFigures(result: CompareResult): Figure[] {
  const figures: Figure[] = [];
  const b = result.bootstrap;
  const countries = [
    ...PAPER_COUNTRY_ORDER.filter((c) => result.countries.includes(c)),
    ...result.countries.filter((c) => !PAPER_COUNTRY_ORDER.includes(c)),
  ];
  const labels = [...countries, OVERALL];

  if (result.alignmentRate.length > 0) {
    const points: IntervalPoint[] = result.alignmentRate.flatMap((r) => [
      ...countries.map((c) => ({
        label: c,
        series: r.label,
        ...(r.byCountry[c] ?? { estimate: null, low: null, high: null }),
      })),
      { label: OVERALL, series: r.label, ...r.overall },
    ]);
    const title = "Alignment rate (F1) by country and run";
    figures.push({
      name: "compare-alignment-rate-by-country",
      title,
      caption: `Each run's alignment rate per country (the mean F1 over its topics) and overall, on the questions all runs share. ${bootstrapSentence(b, `per country the country's values, overall the scenarios, drawn with replacement`)}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "country",
        valueTitle: "alignment rate (F1)",
        labels,
        series: result.alignmentRate.map((r) => r.label),
        domain: [0, 1],
      }),
    });
  }

  if (result.pairs.length > 0) {
    const pairName = (p: (typeof result.pairs)[number]) => `${p.labelB} − ${p.labelA}`;
    const points: IntervalPoint[] = result.pairs.flatMap((p) => [
      ...countries.map((c) => ({
        label: c,
        series: pairName(p),
        ...(p.difference.byCountry[c] ?? { estimate: null, low: null, high: null }),
      })),
      { label: OVERALL, series: pairName(p), ...p.difference.overall },
    ]);
    const title = "Differences in alignment rate by country";
    figures.push({
      name: "compare-differences-by-country",
      title,
      caption: `Alignment rate of one run minus another's, per country and overall; the dashed line is no difference. ${bootstrapSentence(b, "the same units (per country the country's values, overall the scenarios) drawn once for both runs, so the intervals are paired")}`,
      spec: dotIntervalSpec({
        title,
        points,
        labelTitle: "country",
        valueTitle: "difference in alignment rate",
        labels,
        series: result.pairs.map(pairName),
        reference: 0,
      }),
    });

    // Agreement: kappa of the binarized decisions, the share of flipped top answers, and the JSD.
    const KAPPA = "kappa";
    const FLIPS = "flip share";
    const JSD = "JSD (bits)";
    const one = result.pairs.length === 1;
    const rowOf = (p: (typeof result.pairs)[number], task: string) => (one ? task : `${task} · ${pairName(p)}`);
    const agreement: IntervalPoint[] = result.pairs.flatMap((p) => [
      ...p.decisions.map((d) => ({ label: rowOf(p, d.task), series: KAPPA, estimate: d.kappa, low: null, high: null })),
      ...p.answers.flatMap((a) => [
        { label: rowOf(p, a.task), series: FLIPS, estimate: a.flips.share, low: null, high: null },
        { label: rowOf(p, a.task), series: JSD, estimate: a.jsd, low: null, high: null },
      ]),
    ]);
    if (agreement.some((r) => r.estimate !== null)) {
      const title = one
        ? `Agreement between runs: ${pairName(result.pairs[0]!).replace(" − ", " and ")}`
        : "Agreement between runs";
      const low = Math.min(0, ...agreement.map((r) => r.estimate ?? 0));
      figures.push({
        name: "compare-agreement",
        title,
        caption:
          "Per pair of runs and task: Cohen's kappa of the binarized (0.5) matrix cells both runs have (1 = the same decisions), the share of questions whose top answer differs between the runs (flip share), and the mean Jensen-Shannon divergence in bits of the option probabilities (letters runs; 0 = the same probabilities); point estimates, no intervals.",
        spec: dotIntervalSpec({
          title,
          points: agreement,
          labelTitle: one ? "task" : "task · pair",
          valueTitle: "",
          labels: [...new Set(agreement.map((r) => r.label))],
          series: [KAPPA, FLIPS, JSD],
          domain: [low, 1],
          panel: { field: "series" },
          width: 90,
        }),
      });
    }
  }
  return figures;
}
