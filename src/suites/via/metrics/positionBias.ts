/**
 * Position bias of a VIA run: how much an answer depends on where an option is shown rather than on what
 * it says, and the order-balanced scores that cancel it out of the metrics. The pieces every
 * letters suite shares (positions, balanced cycles) are in src/metrics/positionBias.ts.
 *
 * Letters protocol (per task):
 * - probability mass per position (A, B, ...), averaged over every scored answer (each
 *   question on each repeat), against the uniform share 1/n;
 * - the share of questions whose top answer (the option key with the highest probability)
 *   is not the same on all of its repeats -- the repeats of a question differ only in the
 *   option order, so any change is caused by the order alone;
 * - order-balanced scores: per question, the mean score over its complete balanced cycles of
 *   repeats (n consecutive repeats, n = number of options, in which every option sits in every
 *   position exactly once -- checked from the records' `order`). A question with no complete
 *   cycle (fewer than n scored repeats) falls back to the mean over all its scored repeats and
 *   is flagged unbalanced.
 *
 * Paper protocol (Task 2): the share of parsed answers choosing each shown position, and the
 * confound check: when every Task-2 answer saw the resisting action first (the released
 * evaluation's variant 5), position bias and values cannot be told apart.
 */
import type { Task } from "../../../questions/question.js";
import { isScoredValueRecord, type ScoredValueRecord, type ViaRecord } from "../record.js";
import {
  completeBalancedCycles,
  groupByQuestion,
  positionLetter,
  positionProbs,
  topOption,
} from "../../../metrics/positionBias.js";

// ---------------------------------------------------------------------------------------------
// Order-balanced scores

export interface BalancedScore {
  question: string;
  task: Task;
  country: string;
  topic: string;
  value: string;
  /** number of options (the cycle length) */
  options: number;
  /** the score the metrics use: mean over the complete balanced cycles (or over all scored repeats if none) */
  score: number;
  /** mean over all scored repeats (the raw all-repeats average) */
  allRepeatsScore: number;
  /** repeat indices that entered `score` */
  repeatsUsed: number[];
  /** scored repeats of the question */
  repeatsScored: number;
  /** false when no complete balanced cycle exists (score = all-repeats mean) */
  balanced: boolean;
}

/**
 * One order-balanced score per letters question that has at least one scored repeat.
 * Cycles are repeats `c*n .. c*n + n - 1`; a cycle is complete when all n are scored and their
 * orders form a Latin square. Records of other protocols are ignored.
 */
export function balancedScores(records: readonly ViaRecord[]): BalancedScore[] {
  const letters = records.filter((r) => r.protocol === "letters" && r.order.length > 0).filter(isScoredValueRecord);
  const out: BalancedScore[] = [];
  for (const [question, list] of groupByQuestion(letters)) {
    const first = list[0]!;
    const n = first.order.length;
    const used = completeBalancedCycles(list, n);
    const balanced = used.length > 0;
    const chosen = balanced ? used : list;
    const meanOf = (xs: readonly ScoredValueRecord[]) => xs.reduce((s, r) => s + r.score, 0) / xs.length;
    out.push({
      question,
      task: first.task,
      country: first.country,
      topic: first.topic,
      value: first.value,
      options: n,
      score: meanOf(chosen),
      allRepeatsScore: meanOf(list),
      repeatsUsed: chosen.map((r) => r.repeat),
      repeatsScored: list.length,
      balanced,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Position bias

export interface OrderSensitivity {
  /** questions with at least two scored repeats in at least two different orders */
  eligible: number;
  /** of those, questions whose top answer (argmax option key) is not the same on every repeat */
  changed: number;
  /** changed / eligible; null when no question is eligible */
  share: number | null;
}

export interface LettersTaskBias {
  protocol: "letters";
  task: Task;
  /** number of options (positions) */
  options: number;
  /** A, B, ... */
  positions: string[];
  /** 1 / options */
  uniform: number;
  /** mean probability (renormalized over the letters) each position received, averaged over scored answers */
  massByPosition: number[];
  /** scored answers (question x repeat) averaged */
  answers: number;
  questions: number;
  topAnswerChanges: OrderSensitivity;
  orderBalanced: { questions: number; balanced: number; unbalanced: number };
}

export interface PaperTaskBias {
  protocol: "paper";
  task: "action";
  options: number;
  positions: string[];
  uniform: number;
  /** share of parsed answers that chose each shown position (Option 1, Option 2) */
  choiceShareByPosition: number[];
  /** parsed answers counted */
  answers: number;
}

export interface OrderConfound {
  /** every Task-2 answer saw the resisting (negative) action in the first position */
  resistingFirst: boolean;
  /** Task-2 answers and how many of them saw the resisting action first */
  answers: number;
  resistingFirstCount: number;
  /** the plain statement for metrics.json and the report (null when not confounded) */
  statement: string | null;
}

export interface PositionBias {
  definition: string;
  tasks: { stated?: LettersTaskBias; action?: LettersTaskBias | PaperTaskBias };
  /** Task-2 order check (any protocol); undefined when the run has no Task-2 answer with a known order */
  actionOrder?: OrderConfound;
}

function lettersTaskBias(task: Task, records: readonly ViaRecord[]): LettersTaskBias | undefined {
  const scored = records.filter((r) => r.score !== null && positionProbs(r) !== undefined);
  if (scored.length === 0) return undefined;
  const n = Math.max(...scored.map((r) => r.order.length));
  const mass = new Array<number>(n).fill(0);
  for (const r of scored) positionProbs(r)!.forEach((p, i) => (mass[i]! += p));
  const byQ = groupByQuestion(scored);
  let eligible = 0;
  let changed = 0;
  for (const list of byQ.values()) {
    if (list.length < 2 || new Set(list.map((r) => r.order.join("\u0000"))).size < 2) continue;
    eligible++;
    if (new Set(list.map((r) => topOption(r))).size > 1) changed++;
  }
  const balanced = balancedScores(scored);
  const nBalanced = balanced.filter((b) => b.balanced).length;
  return {
    protocol: "letters",
    task,
    options: n,
    positions: Array.from({ length: n }, (_, i) => positionLetter(i)),
    uniform: 1 / n,
    massByPosition: mass.map((m) => m / scored.length),
    answers: scored.length,
    questions: byQ.size,
    topAnswerChanges: { eligible, changed, share: eligible === 0 ? null : changed / eligible },
    orderBalanced: { questions: balanced.length, balanced: nBalanced, unbalanced: balanced.length - nBalanced },
  };
}

function paperActionBias(records: readonly ViaRecord[]): PaperTaskBias | undefined {
  const parsed = records.filter(
    (r) => r.parsed?.ok === true && typeof r.parsed.option === "number" && r.order.length > 0,
  );
  if (parsed.length === 0) return undefined;
  const n = Math.max(2, ...parsed.map((r) => r.order.length));
  const counts = new Array<number>(n).fill(0);
  for (const r of parsed) {
    const opt = (r.parsed as { option: number }).option;
    if (opt >= 1 && opt <= n) counts[opt - 1]! += 1;
  }
  return {
    protocol: "paper",
    task: "action",
    options: n,
    positions: Array.from({ length: n }, (_, i) => `Option ${i + 1}`),
    uniform: 1 / n,
    choiceShareByPosition: counts.map((c) => c / parsed.length),
    answers: parsed.length,
  };
}

/** Whether every Task-2 answer saw the resisting action first, from the records' `order`. */
export function actionOrderConfound(records: readonly ViaRecord[]): OrderConfound | undefined {
  const action = records.filter((r) => r.task === "action" && r.order.length > 0);
  if (action.length === 0) return undefined;
  const first = action.filter((r) => r.order[0] === "negative").length;
  const all = first === action.length;
  const variants = [...new Set(action.map((r) => r.variant).filter((v): v is number => v !== null))].sort(
    (a, b) => a - b,
  );
  const variantText =
    variants.length > 0 ? ` (prompt variant${variants.length > 1 ? "s" : ""} ${variants.join(", ")})` : "";
  return {
    resistingFirst: all,
    answers: action.length,
    resistingFirstCount: first,
    statement: all
      ? `All ${action.length} Task-2 answers${variantText} saw the resisting action first: position bias is confounded with values here -- ` +
        "a model that prefers the first option looks like a model that resists its values, and the two cannot be told apart in these data."
      : null,
  };
}

export function positionBias(records: readonly ViaRecord[]): PositionBias {
  const tasks: PositionBias["tasks"] = {};
  for (const task of ["stated", "action"] as const) {
    const mine = records.filter((r) => r.task === task);
    const letters = mine.filter((r) => r.protocol === "letters" && r.value !== null);
    const lb = letters.length > 0 ? lettersTaskBias(task, letters) : undefined;
    if (lb) tasks[task] = lb;
    else if (task === "action") {
      const pb = paperActionBias(mine.filter((r) => r.protocol === "paper"));
      if (pb) tasks.action = pb;
    }
  }
  const out: PositionBias = {
    definition:
      "letters protocol: mean probability (renormalized over the letters) per shown position vs the uniform share 1/n; share of questions whose top answer changes across repeats (which differ only in option order); " +
      "order-balanced score = mean over complete cycles of n repeats in which each option sits in each position once. Paper protocol: share of parsed Task-2 answers choosing each shown position.",
    tasks,
  };
  const confound = actionOrderConfound(records);
  if (confound) out.actionOrder = confound;
  return out;
}
