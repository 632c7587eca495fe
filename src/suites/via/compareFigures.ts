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
    const agreement: IntervalPoint[] = result.pairs.flatMap((p) => {
      const pair = pairName(p).replace(" − ", " vs ");
      const rows: IntervalPoint[] = [];
      for (const d of p.decisions)
        rows.push({
          label: `${pair}: ${d.task}`,
          series: "Cohen's kappa (binarized cells)",
          estimate: d.kappa,
          low: null,
          high: null,
        });
      for (const a of p.answers) {
        rows.push({
          label: `${pair}: ${a.task}`,
          series: "share of top answers that flip",
          estimate: a.flips.share,
          low: null,
          high: null,
        });
        rows.push({
          label: `${pair}: ${a.task}`,
          series: "Jensen-Shannon divergence (bits)",
          estimate: a.jsd,
          low: null,
          high: null,
        });
      }
      return rows;
    });
    if (agreement.some((r) => r.estimate !== null)) {
      const title = "Agreement between runs";
      figures.push({
        name: "compare-agreement",
        title,
        caption:
          "Per pair of runs and task: Cohen's kappa of the binarized (0.5) matrix cells both runs have, the share of questions whose top answer differs between the runs, and the mean Jensen-Shannon divergence (bits) of the option probabilities (letters runs); point estimates, no intervals.",
        spec: dotIntervalSpec({
          title,
          points: agreement,
          labelTitle: "pair and task",
          valueTitle: "",
          labels: [...new Set(agreement.map((r) => r.label))],
          series: [
            "Cohen's kappa (binarized cells)",
            "share of top answers that flip",
            "Jensen-Shannon divergence (bits)",
          ],
          panel: { field: "series" },
          width: 110,
        }),
      });
    }
  }
  return figures;
}
