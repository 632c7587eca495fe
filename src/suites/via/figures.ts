/**
 * The VIA suite's figures (src/report/figure.ts): the released analysis' figures of a run.
 * - the alignment rate by country and topic (the paper's scenario grid; report.md's figure,
 *   `charts/alignment-rate-by-country-and-topic.svg`, unchanged);
 * - the country table as dots with their bootstrap intervals;
 * - the stated (Task 1) and action (Task 2) matrices, country x value, values grouped by Schwartz
 *   type in the released analysis' order (each country's mean over its topics);
 * - alignment distance, country x value and topic x value;
 * - the five most misaligned values per country and per topic;
 * - position bias: letter mass by shown position against uniform, and how often the top answer
 *   changes with the option order.
 * Figures whose numbers the run lacks (e.g. no shared cells) are left out.
 */
import { ANALYSIS_ORDER, COUNTRY_ABBREV, PAPER_COUNTRY_ORDER, TOPICS, valueByName } from "../../protocol/values.js";
import type { Heatmap } from "../../report/charts.js";
import { bootstrapSentence, type Figure, heatmapFigure, PAGE_WIDTH } from "../../report/figure.js";
import {
  dotIntervalSpec,
  groupedHeatmapSpec,
  rankingSpec,
  referenceBarsSpec,
  shareBarsSpec,
} from "../../report/figureSpecs.js";
import type { Manifest } from "../../records/manifest.js";
import type { RunMetrics } from "./metrics/fromRecords.js";
import { matricesFromRecords } from "./metrics/fromRecords.js";
import type { ScoreMatrix } from "./metrics/matrices.js";
import type { ViaRecord } from "./record.js";

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

const ordered = (preferred: readonly string[], present: Iterable<string>): string[] => {
  const have = new Set(present);
  return [...preferred.filter((k) => have.has(k)), ...[...have].filter((k) => !preferred.includes(k)).sort()];
};

const schwartzOf = (value: string): string => {
  try {
    return valueByName(value).schwartzType;
  } catch {
    return "other";
  }
};

/** country -> value -> the mean over the country's topics of a score matrix. */
function meanOverTopics(m: ScoreMatrix): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [country, byTopic] of Object.entries(m)) {
    const sums = new Map<string, { s: number; n: number }>();
    for (const byValue of Object.values(byTopic))
      for (const [v, x] of Object.entries(byValue)) {
        if (!Number.isFinite(x)) continue;
        const c = sums.get(v) ?? { s: 0, n: 0 };
        c.s += x;
        c.n++;
        sums.set(v, c);
      }
    out[country] = Object.fromEntries([...sums].map(([v, c]) => [v, c.s / c.n]));
  }
  return out;
}

/** A heatmap of rows x values (values grouped by Schwartz type, the released analysis' order). */
function valueHeatmap(
  name: string,
  title: string,
  caption: string,
  data: Record<string, Record<string, number>>,
  rowOrder: readonly string[],
  rowTitle: string,
  valueTitle: string,
  scheme: "greens" | "reds" | "blues" | "purples",
): Figure | undefined {
  const rows = ordered(rowOrder, Object.keys(data));
  const values = ordered(
    ANALYSIS_ORDER,
    rows.flatMap((r) => Object.keys(data[r] ?? {})),
  );
  if (rows.length === 0 || values.length === 0) return undefined;
  const cells = rows.flatMap((r) => values.map((v) => ({ row: r, column: v, value: data[r]?.[v] ?? null })));
  return {
    name,
    title,
    caption,
    spec: groupedHeatmapSpec({
      title,
      cells,
      rows,
      columns: values,
      groupOf: schwartzOf,
      rowTitle,
      columnTitle: "value (grouped by Schwartz type)",
      valueTitle,
      scheme,
      domain: [0, 1],
      step: Math.max(6, Math.min(10, Math.floor((PAGE_WIDTH - 120) / values.length))),
    }),
  };
}

/** VIA suite: every figure of a run (the first, the country x topic heatmap, is report.md's). */
export function viaFigures(metrics: RunMetrics, records: readonly ViaRecord[], manifest: Manifest): Figure[] {
  const figures: Figure[] = viaHeatmaps(metrics).map((h) =>
    heatmapFigure(
      h,
      "Alignment rate (F1 of the binarized stated and action answers, disagree positive) of each country x topic scenario; point estimates, no intervals.",
    ),
  );
  const iv = metrics.intervals;
  const boot = iv?.bootstrap;
  const countries = ordered(PAPER_COUNTRY_ORDER, Object.keys(metrics.alignmentRate.byCountry));

  // The country table as dots with intervals.
  if (countries.length > 0) {
    figures.push({
      name: "alignment-rate-by-country",
      title: "Alignment rate (F1) by country",
      caption: `Alignment rate of each country (the mean F1 over its topics), dots at the estimate, lines over the interval; the dashed line is the overall rate. ${bootstrapSentence(boot, boot?.resampled["alignmentRate.byCountry"])}`,
      spec: dotIntervalSpec({
        title: "Alignment rate (F1) by country",
        points: countries.map((c) => ({
          label: c,
          estimate: metrics.alignmentRate.byCountry[c] ?? null,
          low: iv?.alignmentRate.byCountry[c]?.low ?? null,
          high: iv?.alignmentRate.byCountry[c]?.high ?? null,
        })),
        labelTitle: "country",
        valueTitle: "alignment rate (F1)",
        domain: [0, 1],
        ...(metrics.alignmentRate.overall !== null ? { reference: metrics.alignmentRate.overall } : {}),
      }),
    });
  }

  // The stated and action matrices, country x value.
  const matrices = matricesFromRecords(records, {
    actionVariants: manifest.config.protocol === "paper" ? manifest.config.actionVariants : undefined,
  });
  const how =
    matrices.scoreAverage.method === "paper"
      ? "the paper's aggregation of the parsed answers"
      : "order-balanced expected scores of the letter probabilities";
  const stated = valueHeatmap(
    "stated-by-country-and-value",
    "Stated values (Task 1) by country and value",
    `Task 1 score of each country and value (${how}), the mean over the country's topics: 0 = strongly agree, 1 = strongly disagree (binarized at 0.5). Values grouped by Schwartz type in the released analysis' order; point estimates, no intervals.`,
    meanOverTopics(matrices.stated),
    PAPER_COUNTRY_ORDER,
    "country",
    "stated score",
    "blues",
  );
  const action = valueHeatmap(
    "action-by-country-and-value",
    "Actions (Task 2) by country and value",
    `Task 2 score of each country and value (${how}), the mean over the country's topics: the probability (paper protocol: the share of answers) of the value-opposing (resisting) action, 0 = the value-aligned action, binarized at 0.5. Values grouped by Schwartz type in the released analysis' order; point estimates, no intervals.`,
    meanOverTopics(matrices.action),
    PAPER_COUNTRY_ORDER,
    "country",
    "action score",
    "purples",
  );
  if (stated) figures.push(stated);
  if (action) figures.push(action);

  // Alignment distance heatmaps.
  const d = metrics.alignmentDistance;
  const byCountry = valueHeatmap(
    "alignment-distance-by-country-and-value",
    "Alignment distance by country and value",
    "Alignment distance |mean stated - mean action| of each country and value, both means over the country's topics (0 = the stated value and the action agree). Values grouped by Schwartz type in the released analysis' order; point estimates, no intervals.",
    d.byCountry,
    PAPER_COUNTRY_ORDER,
    "country",
    "alignment distance",
    "reds",
  );
  const byTopic = valueHeatmap(
    "alignment-distance-by-topic-and-value",
    "Alignment distance by topic and value",
    "Alignment distance |mean stated - mean action| of each topic and value, both means over the topic's countries. Values grouped by Schwartz type in the released analysis' order; point estimates, no intervals.",
    d.byTopic,
    TOPICS,
    "topic",
    "alignment distance",
    "reds",
  );
  if (byCountry) figures.push(byCountry);
  if (byTopic) figures.push(byTopic);

  // The most misaligned values per country and per topic.
  const ranking = (
    key: "byCountry" | "byTopic",
    order: readonly string[],
    what: string,
    name: string,
  ): Figure | undefined => {
    const groups = ordered(order, Object.keys(metrics.ranking[key]));
    const entries = groups.flatMap((g) =>
      (metrics.ranking[key][g]?.top5 ?? []).map((v, i) => ({
        panel: g,
        label: v,
        value: d[key][g]?.[v] ?? 0,
        rank: i + 1,
      })),
    );
    if (entries.length === 0) return undefined;
    const k = metrics.ranking.k;
    const title = `The ${k} most misaligned values per ${what}`;
    return {
      name,
      title,
      caption: `The ${k} values of each ${what} with the largest alignment distance, largest first (ties in the released analysis' value order); point estimates, no intervals.`,
      spec: rankingSpec({
        title,
        entries,
        panels: groups,
        valueTitle: "alignment distance",
        columns: 4,
        domain: [0, Math.max(0.05, ...entries.map((e) => e.value))],
      }),
    };
  };
  const rankCountry = ranking("byCountry", PAPER_COUNTRY_ORDER, "country", "top-misaligned-values-by-country");
  const rankTopic = ranking("byTopic", TOPICS, "topic", "top-misaligned-values-by-topic");
  if (rankCountry) figures.push(rankCountry);
  if (rankTopic) figures.push(rankTopic);

  // Position bias.
  const tasks = metrics.positionBias.tasks;
  const taskName = { stated: "stated (Task 1)", action: "action (Task 2)" } as const;
  const massRows = (["stated", "action"] as const).flatMap((t) => {
    const b = tasks[t];
    if (!b) return [];
    const shares = b.protocol === "letters" ? b.massByPosition : b.choiceShareByPosition;
    if (b.answers === 0) return [];
    return b.positions.map((p, i) => ({ panel: taskName[t], x: p, value: shares[i] ?? 0, reference: b.uniform }));
  });
  if (massRows.length > 0) {
    const letters = tasks.stated?.protocol === "letters" || tasks.action?.protocol === "letters";
    figures.push({
      name: "position-bias-by-position",
      title: "Answer mass by shown position",
      caption: letters
        ? "Mean probability (renormalized over the option letters) each shown position received, over every scored answer and repeat; the dashed line is the uniform share 1/options. Order-balanced repeats show every option in every position equally often, so this bias cancels out of the other figures. Point estimates, no intervals."
        : "Share of parsed answers that chose each shown position; the dashed line is the uniform share 1/options. Point estimates, no intervals.",
      spec: referenceBarsSpec({
        title: "Answer mass by shown position",
        rows: massRows,
        panels: [...new Set(massRows.map((r) => r.panel))],
        xTitle: "shown position",
        valueTitle: letters ? "mean probability" : "share of answers",
        referenceLabel: "uniform",
        domain: [0, Math.max(0.5, ...massRows.map((r) => r.value))],
      }),
    });
  }
  const flips = (["stated", "action"] as const).flatMap((t) => {
    const b = tasks[t];
    if (b?.protocol !== "letters" || b.topAnswerChanges.share === null) return [];
    const c = b.topAnswerChanges;
    return [{ label: taskName[t], share: c.share!, text: `${c.changed}/${c.eligible}` }];
  });
  if (flips.length > 0) {
    figures.push({
      name: "top-answer-changes-with-order",
      title: "Top answer changes with the option order",
      caption:
        "Share of questions (asked in at least two option orders) whose most probable option is not the same on every repeat; after each bar, questions that changed of those eligible. Point estimates, no intervals.",
      spec: shareBarsSpec({
        title: "Top answer changes with the option order",
        rows: flips,
        labelTitle: "task",
        valueTitle: "share of questions",
      }),
    });
  }
  return figures;
}
