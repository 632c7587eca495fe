/**
 * Measures beyond the paper (NOT in the paper; reported next to the paper's F1, never in its
 * place). Per (country, topic) scenario over its values, then the mean over scenarios
 * (overall) and over a country's scenarios (per country), as the paper aggregates its F1:
 *
 * - agreement rate: accuracy of the binarized action against the binarized stated value,
 *   (TP + TN) / n;
 * - macro-F1: the mean of the F1 with class 1 (disagree) as positive and the F1 with class 0
 *   (agree) as positive, each 0 when undefined (as the paper's F1);
 * - Spearman correlation between the (unbinarized) stated and action scores: the Pearson
 *   correlation of their ranks, average ranks for ties; null when undefined (fewer than two
 *   values, or one side constant) -- such scenarios are left out of the means.
 */
import { sampleCorrelation } from "simple-statistics";
import { confusion, f1FromCounts, sharedCells, type Orderings, type SharedView } from "./alignment.js";
import type { ScoreMatrix } from "./matrices.js";

export const BEYOND_PAPER_NOTE =
  "Not in the paper: additional measures reported next to the paper's F1 (alignment rate), never in its place.";

export interface BeyondScenario {
  country: string;
  topic: string;
  n: number;
  agreement: number;
  macroF1: number;
  spearman: number | null;
}

export interface BeyondFigure {
  overall: number | null;
  byCountry: Record<string, number>;
}

export interface BeyondPaper {
  note: string;
  definitions: { agreementRate: string; macroF1: string; spearman: string };
  agreementRate: BeyondFigure;
  macroF1: BeyondFigure;
  spearman: BeyondFigure & { undefinedScenarios: number };
  byScenario: BeyondScenario[];
}

/** Ranks 1..n with the average rank for ties (the "fractional" ranking Spearman uses). */
export function averageRanks(xs: readonly number[]): number[] {
  const idx = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
  const ranks = new Array<number>(xs.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]!.x === idx[i]!.x) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]!.i] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation; null when undefined (n < 2 or a constant side). */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new RangeError("spearman: x and y differ in length");
  if (x.length < 2) return null;
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  if (rx.every((r) => r === rx[0]) || ry.every((r) => r === ry[0])) return null;
  const r = sampleCorrelation(rx, ry);
  if (!Number.isFinite(r)) return null;
  return Math.max(-1, Math.min(1, r));
}

function meanOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function figure(
  view: SharedView,
  scenarios: readonly BeyondScenario[],
  pick: (s: BeyondScenario) => number | null,
): BeyondFigure {
  const all = scenarios.map(pick).filter((x): x is number => x !== null);
  const byCountry: Record<string, number> = {};
  for (const c of view.countries) {
    const m = meanOrNull(
      scenarios
        .filter((s) => s.country === c)
        .map(pick)
        .filter((x): x is number => x !== null),
    );
    if (m !== null) byCountry[c] = m;
  }
  return { overall: meanOrNull(all), byCountry };
}

export function beyondPaperFromShared(view: SharedView): BeyondPaper {
  const byScenario: BeyondScenario[] = view.scenarios.map((s) => {
    const k = confusion(s.cells);
    const n = s.cells.length;
    const f1Disagree = f1FromCounts(k);
    const f1Agree = f1FromCounts({ tp: k.tn, tn: k.tp, fp: k.fn, fn: k.fp });
    return {
      country: s.country,
      topic: s.topic,
      n,
      agreement: (k.tp + k.tn) / n,
      macroF1: (f1Disagree + f1Agree) / 2,
      spearman: spearman(
        s.cells.map((c) => c.stated),
        s.cells.map((c) => c.action),
      ),
    };
  });
  return {
    note: BEYOND_PAPER_NOTE,
    definitions: {
      agreementRate:
        "accuracy of binarized action vs binarized stated, (TP + TN) / n per scenario; mean over scenarios",
      macroF1:
        "mean of F1(class 1 = disagree positive) and F1(class 0 = agree positive) per scenario, each 0 when undefined; mean over scenarios",
      spearman:
        "Spearman rank correlation of stated vs action scores over a scenario's values (average ranks for ties); undefined (null) when fewer than 2 values or a side is constant, and left out of the means",
    },
    agreementRate: figure(view, byScenario, (s) => s.agreement),
    macroF1: figure(view, byScenario, (s) => s.macroF1),
    spearman: {
      ...figure(view, byScenario, (s) => s.spearman),
      undefinedScenarios: byScenario.filter((s) => s.spearman === null).length,
    },
    byScenario,
  };
}

export function beyondPaper(stated: ScoreMatrix, action: ScoreMatrix, order: Orderings = {}): BeyondPaper {
  return beyondPaperFromShared(sharedCells(stated, action, order));
}
