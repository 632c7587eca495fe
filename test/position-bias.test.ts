// Position bias on handcrafted records: mass per position, top answers that change with the
// order, order-balanced scores (the default for the matrices), and the variant-5 confound.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { matricesFromRecords, metricsFromRecords } from "../src/suites/via/metrics/fromRecords.js";
import { isBalancedCycle } from "../src/metrics/positionBias.js";
import {
  balancedScores,
  positionBias,
  type LettersTaskBias,
  type PaperTaskBias,
} from "../src/suites/via/metrics/positionBias.js";
import { STATED_SCALE } from "../src/suites/via/questions.js";
import { renderRunReport } from "../src/suites/via/report.js";
import type { ViaRecord } from "../src/suites/via/record.js";
import {
  handcraftedManifest,
  lettersRecord,
  lettersRun,
  paperActionRecord,
  shownOrder,
  writeRunDir,
} from "./helpers/handcrafted.js";
import { valuelens } from "./helpers/cli.js";

const C = "Nigeria";
const T = "Politics";
const VALUES = ["Equality", "Wealth", "Freedom"];

/** A model that puts 0.7 on "A" whatever A says (2 options, balanced orders). */
function alwaysA(repeats: number, seed = 4): ViaRecord[] {
  const out: ViaRecord[] = [];
  for (const value of VALUES) {
    for (let repeat = 0; repeat < repeats; repeat++) {
      const order = shownOrder("action", C, T, value, repeat, seed);
      out.push(lettersRecord({ task: "action", country: C, topic: T, value, repeat, order, byPosition: [0.7, 0.3] }));
    }
  }
  return out;
}

describe("position bias (letters)", () => {
  it("a model that always puts 0.7 on A: mass A 0.7 vs uniform 0.5, every top answer flips", () => {
    const pb = positionBias(alwaysA(4));
    const a = pb.tasks.action as LettersTaskBias;
    expect(a.protocol).toBe("letters");
    expect(a.positions).toEqual(["A", "B"]);
    expect(a.uniform).toBe(0.5);
    expect(a.massByPosition[0]).toBeCloseTo(0.7, 12);
    expect(a.massByPosition[1]).toBeCloseTo(0.3, 12);
    expect(a.answers).toBe(12);
    expect(a.questions).toBe(3);
    expect(a.topAnswerChanges).toEqual({ eligible: 3, changed: 3, share: 1 });
    expect(a.orderBalanced).toEqual({ questions: 3, balanced: 3, unbalanced: 0 });
    expect(pb.tasks.stated).toBeUndefined();
    // Balanced orders: each option is shown first half the time, so the balanced score is 0.5.
    for (const b of balancedScores(alwaysA(4))) expect(b.score).toBeCloseTo(0.5, 12);
    // Letters orders vary, so no confound.
    expect(pb.actionOrder?.resistingFirst).toBe(false);
  });

  it("a model that follows the options, not the positions, never flips", () => {
    const recs: ViaRecord[] = [];
    for (let repeat = 0; repeat < 4; repeat++) {
      const order = shownOrder("action", C, T, "Equality", repeat, 4);
      recs.push(
        lettersRecord({
          task: "action",
          country: C,
          topic: T,
          value: "Equality",
          repeat,
          order,
          byPosition: order.map((k) => (k === "negative" ? 0.8 : 0.2)),
        }),
      );
    }
    const a = positionBias(recs).tasks.action as LettersTaskBias;
    expect(a.topAnswerChanges).toEqual({ eligible: 1, changed: 0, share: 0 });
    expect(a.massByPosition[0]).toBeCloseTo(0.5, 12);
  });

  it("stated task: 4 positions against 0.25", () => {
    const recs: ViaRecord[] = [];
    for (let repeat = 0; repeat < 4; repeat++) {
      const order = shownOrder("stated", C, T, "Wealth", repeat, 4);
      recs.push(
        lettersRecord({
          task: "stated",
          country: C,
          topic: T,
          value: "Wealth",
          repeat,
          order,
          byPosition: [0.4, 0.2, 0.2, 0.2],
        }),
      );
    }
    const s = positionBias(recs).tasks.stated as LettersTaskBias;
    expect(s.uniform).toBe(0.25);
    expect(s.positions).toEqual(["A", "B", "C", "D"]);
    expect(s.massByPosition.map((x) => Number(x.toFixed(12)))).toEqual([0.4, 0.2, 0.2, 0.2]);
    expect(s.orderBalanced.balanced).toBe(1);
    // Over the Latin square each scale point is shown first once: expected position (0+1+2+3)/4 * 0.4 + ... -> 0.5 of the scale.
    expect(balancedScores(recs)[0]!.score).toBeCloseTo(0.5, 12);
  });
});

describe("order-balanced scores", () => {
  it("5 repeats of a 2-option question use the first 4 (two complete cycles)", () => {
    const scores = [0.9, 0.1, 0.8, 0.2, 0.99];
    const recs = scores.map((p, repeat) => {
      const order = shownOrder("action", C, T, "Equality", repeat, 2);
      // probability of "negative" = p in every repeat, whatever the order
      return lettersRecord({
        task: "action",
        country: C,
        topic: T,
        value: "Equality",
        repeat,
        order,
        byPosition: order.map((k) => (k === "negative" ? p : 1 - p)),
      });
    });
    const [b] = balancedScores(recs);
    expect(b!.repeatsUsed).toEqual([0, 1, 2, 3]);
    expect(b!.balanced).toBe(true);
    expect(b!.score).toBeCloseTo((0.9 + 0.1 + 0.8 + 0.2) / 4, 12);
    expect(b!.allRepeatsScore).toBeCloseTo((0.9 + 0.1 + 0.8 + 0.2 + 0.99) / 5, 12);
    expect(b!.repeatsScored).toBe(5);
    // The matrices use the balanced score by default; the raw all-repeats average on request.
    expect(matricesFromRecords(recs).action[C]![T]!.Equality).toBeCloseTo(0.5, 12);
    expect(matricesFromRecords(recs, { average: "all-repeats" }).action[C]![T]!.Equality).toBeCloseTo(2.99 / 5, 12);
    const m = metricsFromRecords(recs);
    expect(m.scoreAverage.method).toBe("order-balanced");
    expect(m.scoreAverage.unbalancedQuestions).toEqual({ stated: 0, action: 0 });
    expect(m.inputs.action).toMatchObject({ records: 5, used: 4, dropped: 1 });
    expect(m.inputs.action.droppedByReason["outside complete balanced cycles"]).toBe(1);
  });

  it("fewer repeats than options: all repeats, flagged unbalanced", () => {
    const recs = [0, 1, 2].map((repeat) =>
      lettersRecord({
        task: "stated",
        country: C,
        topic: T,
        value: "Wealth",
        repeat,
        order: shownOrder("stated", C, T, "Wealth", repeat, 1),
        byPosition: [0.7, 0.1, 0.1, 0.1],
      }),
    );
    const [b] = balancedScores(recs);
    expect(b!.balanced).toBe(false);
    expect(b!.repeatsUsed).toEqual([0, 1, 2]);
    expect(b!.score).toBeCloseTo(b!.allRepeatsScore, 15);
    expect(metricsFromRecords(recs).scoreAverage.unbalancedQuestions).toEqual({ stated: 1, action: 0 });
  });

  it("a cycle whose orders do not form a Latin square is not balanced (checked from `order`)", () => {
    const same = [0, 1].map((repeat) =>
      lettersRecord({
        task: "action",
        country: C,
        topic: T,
        value: "Wealth",
        repeat,
        order: ["negative", "positive"],
        byPosition: [0.6, 0.4],
      }),
    );
    expect(balancedScores(same)[0]!.balanced).toBe(false);
    expect(
      isBalancedCycle([
        ["a", "b"],
        ["b", "a"],
      ]),
    ).toBe(true);
    expect(
      isBalancedCycle([
        ["a", "b"],
        ["a", "b"],
      ]),
    ).toBe(false);
    expect(isBalancedCycle([[...STATED_SCALE], [...STATED_SCALE].reverse()])).toBe(false);
  });

  it("a letters run: the default matrices differ from the raw average when the model favours A", () => {
    const recs = lettersRun({ countries: [C], topics: [T], values: VALUES, repeats: 3, seed: 9, firstBias: 0.5 });
    const balanced = matricesFromRecords(recs).action[C]![T]!;
    const raw = matricesFromRecords(recs, { average: "all-repeats" }).action[C]![T]!;
    expect(balanced).not.toEqual(raw);
    // and the raw per-order scores are still in the records
    expect(recs.filter((r) => r.task === "action").every((r) => r.score !== null && r.optionProbs !== undefined)).toBe(
      true,
    );
  });
});

describe("paper-protocol Task 2, variant 5 only: position bias confounded with values", () => {
  const recs = VALUES.map((value, i) =>
    paperActionRecord({
      country: C,
      topic: T,
      value,
      variant: 5,
      order: ["negative", "positive"],
      option: i === 0 ? 2 : 1,
    }),
  );

  it("is detected from the records' order and stated plainly in metrics.json and the report", () => {
    const m = metricsFromRecords(recs, { actionVariants: [5] });
    expect(m.positionBias.actionOrder).toMatchObject({ resistingFirst: true, answers: 3, resistingFirstCount: 3 });
    expect(m.positionBias.actionOrder!.statement).toContain(
      "All 3 Task-2 answers (prompt variant 5) saw the resisting action first",
    );
    expect(m.positionBias.actionOrder!.statement).toContain("confounded");
    expect(m.warnings).toEqual([m.positionBias.actionOrder!.statement]);
    const p = m.positionBias.tasks.action as PaperTaskBias;
    expect(p.protocol).toBe("paper");
    expect(p.choiceShareByPosition[0]).toBeCloseTo(2 / 3, 12);
    expect(p.uniform).toBe(0.5);
    const md = renderRunReport(handcraftedManifest(recs, { protocol: "paper", repeats: 1, seed: 0 }), m, recs);
    expect(md).toContain("**Position bias confounded with values:**");
    expect(md).toContain("saw the resisting action first");
    // stated right under the country table as well
    expect(md.indexOf("saw the resisting action first")).toBeLessThan(md.indexOf("## Alignment rate by topic"));
  });

  it("is not claimed when some answers saw the positive action first (variant 2)", () => {
    const mixed = [
      ...recs,
      paperActionRecord({
        country: C,
        topic: T,
        value: "Equality",
        variant: 2,
        order: ["positive", "negative"],
        option: 1,
      }),
    ];
    const m = metricsFromRecords(mixed, { actionVariants: [2, 5] });
    expect(m.positionBias.actionOrder).toMatchObject({
      resistingFirst: false,
      answers: 4,
      resistingFirstCount: 3,
      statement: null,
    });
    expect(m.warnings).toEqual([]);
  });

  it("`valuelens report` writes it into metrics.json", () => {
    const dir = writeRunDir(path.join(mkdtempSync(path.join(tmpdir(), "vl-pb-")), "run"), recs, {
      protocol: "paper",
      repeats: 1,
      seed: 0,
    });
    const r = valuelens(["report", dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("saw the resisting action first");
    const metrics = JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
    expect(metrics.positionBias.actionOrder.resistingFirst).toBe(true);
    expect(metrics.warnings[0]).toContain("confounded");
  });
});
