/**
 * From a run's records to the paper's matrices and metrics.
 *
 * Letters protocol: each record carries an expected score in [0,1] (stated: expected scale
 * position / 3; action: probability of the resisting action). By default a cell is the
 * question's ORDER-BALANCED score: the mean over its complete balanced cycles of repeats (every
 * option in every position once; see ./positionBias.ts), so that position bias cancels out;
 * `average: "all-repeats"` gives the raw mean over every repeat instead. The raw per-order
 * scores stay in the records.
 * Paper protocol: parsed Task-1 ratings and Task-2 choices go through the paper's own
 * aggregation (dropped answers, "no choice scores 0").
 * Failed questions (`record.failed`: the backend gave no answer) are left out before anything
 * else, whatever the protocol (in the paper's aggregation a missing Task-2 choice would score
 * 0), and counted in `inputs.<task>.failed` and `failedQuestions`.
 */
import { isScoredValueRecord, type ViaRecord } from "../record.js";
import { ANALYSIS_ORDER, PAPER_COUNTRY_ORDER, TOPICS, VALUE_NAMES } from "../../../protocol/values.js";
import { computeMetrics, sharedCells, type ComputeMetricsOptions, type Metrics } from "./alignment.js";
import { beyondPaperFromShared } from "./beyond.js";
import { balancedScores, positionBias, type PositionBias } from "./positionBias.js";
import type { UncertaintyOptions } from "../../../metrics/uncertainty.js";
import { intervalsFromShared, repeatSpread, type RepeatSpread } from "./uncertainty.js";
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

/** How a letters cell averages the repeats of its question. */
export type RepeatAverage = "order-balanced" | "all-repeats";

export interface ScoreAverageInfo {
  /** "order-balanced" / "all-repeats" (letters), "paper" (the paper's aggregation) */
  method: RepeatAverage | "paper";
  description: string;
  /** letters, order-balanced: questions without a complete balanced cycle (averaged over all their repeats) */
  unbalancedQuestions?: { stated: number; action: number };
}

export interface RunMetrics extends Metrics {
  protocol: string;
  /** How the matrices were built, and what was dropped on the way. */
  /** records: answered records (failed questions not included); failed: failed questions, left out. */
  inputs: {
    stated: TaskInputs;
    action: TaskInputs;
  };
  /** Questions recorded as failed (no answer), left out of every figure. */
  failedQuestions: number;
  scoreAverage: ScoreAverageInfo;
  /** letters: the alignment rate per repeat index, its mean and SD across repeats */
  repeatSpread?: RepeatSpread;
  positionBias: PositionBias;
  /** plain statements that qualify the figures (e.g. position bias confounded with values) */
  warnings: string[];
}

export interface TaskInputs {
  records: number;
  used: number;
  dropped: number;
  droppedByReason: Record<string, number>;
  failed: number;
}

export interface MatricesOptions {
  /** paper protocol: the Task-2 variants averaged (default: those present) */
  actionVariants?: number[];
  /** letters protocol: how repeats are averaged per cell (default "order-balanced") */
  average?: RepeatAverage;
}

export interface RunMetricsOptions extends MatricesOptions {
  /** bootstrap intervals of the headline figures; absent = none computed */
  bootstrap?: UncertaintyOptions;
}

const AVERAGE_TEXT: Record<RepeatAverage, string> = {
  "order-balanced":
    "each letters question's score is averaged over its complete balanced cycles of repeats (every option in every position once, so position bias cancels); a question with fewer scored repeats than options is averaged over all its repeats and counted as unbalanced; the raw per-order scores are in records.jsonl",
  "all-repeats": "each letters question's score is the plain mean over all its repeats (not order-balanced)",
};

/** The records with an answer (failed questions left out), and how many failed per task. */
export function answeredRecords(records: readonly ViaRecord[]): {
  answered: ViaRecord[];
  failed: { stated: number; action: number };
} {
  const answered = records.filter((r) => r.failed === undefined);
  const failedOf = (task: "stated" | "action") =>
    records.filter((r) => r.failed !== undefined && r.task === task).length;
  return { answered, failed: { stated: failedOf("stated"), action: failedOf("action") } };
}

export function matricesFromRecords(all: readonly ViaRecord[], opts: MatricesOptions = {}) {
  const protocol = all[0]?.protocol ?? "letters";
  const { answered: records, failed } = answeredRecords(all);
  const stated = records.filter((r) => r.task === "stated");
  const action = records.filter((r) => r.task === "action");
  if (protocol === "letters") {
    const average: RepeatAverage = opts.average ?? "order-balanced";
    const scored = (list: readonly ViaRecord[]) => list.filter(isScoredValueRecord);
    const statedScored = scored(stated);
    const actionScored = scored(action);
    const balanced = balancedScores([...statedScored, ...actionScored]);
    const cells = (task: "stated" | "action", list: readonly ViaRecord[]) =>
      average === "all-repeats"
        ? list
            .filter(isScoredValueRecord)
            .map((r) => ({ country: r.country, topic: r.topic, value: r.value, score01: r.score }))
        : balanced
            .filter((b) => b.task === task)
            .map((b) => ({ country: b.country, topic: b.topic, value: b.value, score01: b.score }));
    const usedOf = (task: "stated" | "action", list: readonly ViaRecord[]) =>
      average === "all-repeats"
        ? list.length
        : balanced.filter((b) => b.task === task).reduce((n, b) => n + b.repeatsUsed.length, 0);
    const unbalanced = (task: "stated" | "action") => balanced.filter((b) => b.task === task && !b.balanced).length;
    const statedUsed = usedOf("stated", statedScored);
    const actionUsed = usedOf("action", actionScored);
    const beyondCycles = (list: readonly ViaRecord[], used: number): Record<string, number> =>
      average === "order-balanced" ? { "outside complete balanced cycles": list.length - used } : {};
    const scoreAverage: ScoreAverageInfo = { method: average, description: AVERAGE_TEXT[average] };
    if (average === "order-balanced")
      scoreAverage.unbalancedQuestions = { stated: unbalanced("stated"), action: unbalanced("action") };
    return {
      protocol,
      stated: statedMatrixFromExpected(cells("stated", statedScored)),
      action: actionMatrixFromExpected(cells("action", actionScored)),
      inputs: {
        stated: summary(
          stated.length,
          statedUsed,
          { "no-letter-mass": stated.length - statedScored.length, ...beyondCycles(statedScored, statedUsed) },
          failed.stated,
        ),
        action: summary(
          action.length,
          actionUsed,
          { "no-letter-mass": action.length - actionScored.length, ...beyondCycles(actionScored, actionUsed) },
          failed.action,
        ),
      },
      scoreAverage,
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
    .filter((r): r is ViaRecord & { value: string } => r.value !== null)
    .map((r) => ({
      country: r.country,
      topic: r.topic,
      value: r.value,
      variant: r.variant ?? 5,
      chosen:
        r.parsed?.ok && (r.parsed.chosen === "positive" || r.parsed.chosen === "negative") ? r.parsed.chosen : null,
    }));
  const variants = opts.actionVariants ?? [...new Set(choices.map((c) => c.variant))];
  const actionBuild =
    choices.length > 0
      ? actionMatrixFromPaperChoices(choices, actionValues(choices), variants.length ? variants : [5])
      : undefined;
  const scoreAverage: ScoreAverageInfo = {
    method: "paper",
    description:
      "the paper's aggregation: Task-1 ratings averaged over the kept variants, Task-2 choices averaged over the requested variants (no choice scores 0)",
  };
  return {
    protocol,
    stated: statedBuild.matrix,
    action: actionBuild?.matrix ?? ({} as ScoreMatrix),
    inputs: {
      stated: summary(stated.length, statedBuild.kept, statedBuild.droppedByReason, failed.stated),
      action: summary(
        action.length,
        actionBuild?.used ?? 0,
        { "no-choice (scored 0, as the paper)": actionBuild?.noChoice ?? 0 },
        failed.action,
      ),
    },
    scoreAverage,
  };
}

/** Values that the action matrix covers: those asked (a run may filter values). */
function actionValues(choices: readonly PaperActionChoice[]): string[] {
  const asked = new Set(choices.map((c) => c.value));
  return VALUE_NAMES.filter((v) => asked.has(v));
}

function summary(records: number, used: number, droppedByReason: Record<string, number>, failed: number): TaskInputs {
  const dropped = Object.values(droppedByReason).reduce((a, b) => a + b, 0);
  return { records, used, dropped, droppedByReason, failed };
}

/** The paper's orderings (countries as in its table, topics, values grouped by Schwartz type). */
export const PAPER_ORDERINGS = { countries: PAPER_COUNTRY_ORDER, topics: TOPICS, values: ANALYSIS_ORDER } as const;

/**
 * The paper's measures plus the beyond-the-paper measures, and bootstrap intervals when
 * `bootstrap` is given, from two matrices.
 */
export function metricsFromMatrices(
  stated: ScoreMatrix,
  action: ScoreMatrix,
  opts: ComputeMetricsOptions & { bootstrap?: UncertaintyOptions } = {},
): Metrics {
  const metrics = computeMetrics(stated, action, opts);
  const view = sharedCells(stated, action, opts);
  const out: Metrics = { ...metrics };
  if (opts.bootstrap !== undefined) out.intervals = intervalsFromShared(view, opts.bootstrap);
  out.beyondPaper = beyondPaperFromShared(view);
  return out;
}

export function metricsFromRecords(all: readonly ViaRecord[], opts: RunMetricsOptions = {}): RunMetrics {
  const m = matricesFromRecords(all, opts);
  const records = answeredRecords(all).answered;
  const order = {
    countries: [...PAPER_ORDERINGS.countries],
    topics: [...PAPER_ORDERINGS.topics],
    values: [...PAPER_ORDERINGS.values],
  };
  const metrics = metricsFromMatrices(m.stated, m.action, {
    ...order,
    ...(opts.bootstrap ? { bootstrap: opts.bootstrap } : {}),
  });
  const bias = positionBias(records);
  const warnings: string[] = [];
  if (bias.actionOrder?.statement) warnings.push(bias.actionOrder.statement);
  const failedQuestions = m.inputs.stated.failed + m.inputs.action.failed;
  const out: RunMetrics = {
    ...metrics,
    protocol: m.protocol,
    inputs: m.inputs,
    failedQuestions,
    scoreAverage: m.scoreAverage,
    positionBias: bias,
    warnings,
  };
  if (m.protocol === "letters") {
    const spread = repeatSpread(records, order);
    if (spread) out.repeatSpread = spread;
  }
  return out;
}
