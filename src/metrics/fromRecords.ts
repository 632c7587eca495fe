/**
 * From a run's records to the paper's matrices and metrics.
 *
 * Letters protocol: each record carries an expected score in [0,1] (stated: expected scale
 * position / 3; action: probability of the resisting action); repeats are averaged per cell.
 * Paper protocol: parsed Task-1 ratings and Task-2 choices go through the paper's own
 * aggregation (dropped answers, "no choice scores 0").
 */
import type { RunRecord } from "../runs/records.js";
import { ANALYSIS_ORDER, PAPER_COUNTRY_ORDER, TOPICS, VALUE_NAMES } from "../protocol/values.js";
import { computeMetrics, type Metrics } from "./alignment.js";
import {
  actionMatrixFromExpected,
  actionMatrixFromPaperChoices,
  statedMatrixFromExpected,
  statedMatrixFromPaperAnswers,
  type PaperActionChoice,
  type PaperStatedAnswer,
  type Rating,
  type ScoreMatrix,
} from "./matrices.js";

export interface RunMetrics extends Metrics {
  protocol: string;
  /** How the matrices were built, and what was dropped on the way. */
  inputs: {
    stated: { records: number; used: number; dropped: number; droppedByReason: Record<string, number> };
    action: { records: number; used: number; dropped: number; droppedByReason: Record<string, number> };
  };
}

export function matricesFromRecords(records: readonly RunRecord[], opts: { actionVariants?: number[] } = {}) {
  const stated = records.filter((r) => r.task === "stated");
  const action = records.filter((r) => r.task === "action");
  const protocol = records[0]?.protocol ?? "letters";
  if (protocol === "letters") {
    const cells = (list: readonly RunRecord[]) =>
      list
        .filter((r) => r.score !== null && r.value !== null)
        .map((r) => ({ country: r.country, topic: r.topic, value: r.value!, score01: r.score! }));
    const statedCells = cells(stated);
    const actionCells = cells(action);
    return {
      protocol,
      stated: statedMatrixFromExpected(statedCells),
      action: actionMatrixFromExpected(actionCells),
      inputs: {
        stated: summary(stated.length, statedCells.length, { "no-letter-mass": stated.length - statedCells.length }),
        action: summary(action.length, actionCells.length, { "no-letter-mass": action.length - actionCells.length }),
      },
    };
  }
  const answers: PaperStatedAnswer[] = stated.map((r) => ({
    country: r.country,
    topic: r.topic,
    variant: r.variant ?? 0,
    ratings: r.parsed?.ok && r.parsed.ratings ? (r.parsed.ratings as Record<string, Rating>) : null,
  }));
  const statedBuild = statedMatrixFromPaperAnswers(answers, VALUE_NAMES);
  const choices: PaperActionChoice[] = action
    .filter((r) => r.value !== null)
    .map((r) => ({
      country: r.country,
      topic: r.topic,
      value: r.value!,
      variant: r.variant ?? 5,
      chosen: r.parsed?.ok && (r.parsed.chosen === "positive" || r.parsed.chosen === "negative") ? r.parsed.chosen : null,
    }));
  const variants = opts.actionVariants ?? [...new Set(choices.map((c) => c.variant))];
  const actionBuild =
    choices.length > 0 ? actionMatrixFromPaperChoices(choices, actionValues(choices), variants.length ? variants : [5]) : undefined;
  return {
    protocol,
    stated: statedBuild.matrix,
    action: actionBuild?.matrix ?? ({} as ScoreMatrix),
    inputs: {
      stated: summary(stated.length, statedBuild.kept, statedBuild.droppedByReason),
      action: summary(action.length, actionBuild?.used ?? 0, { "no-choice (scored 0, as the paper)": actionBuild?.noChoice ?? 0 }),
    },
  };
}

/** Values that the action matrix covers: those asked (a run may filter values). */
function actionValues(choices: readonly PaperActionChoice[]): string[] {
  const asked = new Set(choices.map((c) => c.value));
  return VALUE_NAMES.filter((v) => asked.has(v));
}

function summary(records: number, used: number, droppedByReason: Record<string, number>) {
  const dropped = Object.values(droppedByReason).reduce((a, b) => a + b, 0);
  return { records, used, dropped, droppedByReason };
}

export function metricsFromRecords(records: readonly RunRecord[], opts: { actionVariants?: number[] } = {}): RunMetrics {
  const m = matricesFromRecords(records, opts);
  const metrics = computeMetrics(m.stated, m.action, {
    countries: PAPER_COUNTRY_ORDER,
    topics: TOPICS,
    values: ANALYSIS_ORDER,
  });
  return { ...metrics, protocol: m.protocol, inputs: m.inputs };
}
