// The dilemma suite's measures (6-point protocol) on hand-computed distributions.
import { describe, expect, it } from "vitest";
import type { Interval } from "../src/metrics/bootstrap.js";
import { alignmentDistance, alignmentRate, dilemmaMetrics, dilemmaUnits } from "../src/suites/dilemmas/metrics.js";
import type { DilemmaRecord } from "../src/suites/dilemmas/record.js";
import {
  at,
  baselineAndMaxUnits,
  countryPersona,
  dist,
  LABELS,
  MAX_A,
  MAX_B,
  NONE,
  question,
  sixpointRecord,
  unit,
} from "./helpers/dilemmaRecords.js";

const oneHot = (pos: number) => Array.from({ length: 6 }, (_, i) => (i === pos - 1 ? 1 : 0));

describe("alignment distance and alignment rate of one unit", () => {
  it("opposite ends: distance 1, rate 0; the same end: distance 0, rate 1", () => {
    expect(alignmentDistance(oneHot(1), oneHot(6))).toBe(1);
    expect(alignmentRate(oneHot(1), oneHot(6))).toBe(0);
    expect(alignmentDistance(oneHot(6), oneHot(6))).toBe(0);
    expect(alignmentRate(oneHot(6), oneHot(6))).toBe(1);
    // 3 and 4 are one step apart but on opposite sides.
    expect(alignmentDistance(oneHot(3), oneHot(4))).toBeCloseTo(0.2, 15);
    expect(alignmentRate(oneHot(3), oneHot(4))).toBe(0);
  });

  it("mixed distributions, by hand", () => {
    // V = (.5 .5 0 0 0 0), A = (0 0 .5 .5 0 0): pairs (1,3) (1,4) (2,3) (2,4) each .25 with |i-j| 2 3 1 2
    // -> E|v-a| = 2 -> distance 0.4; P(v<=3) = 1, P(a<=3) = .5 -> rate .5
    const V = [0.5, 0.5, 0, 0, 0, 0];
    const A = [0, 0, 0.5, 0.5, 0, 0];
    expect(alignmentDistance(V, A)).toBeCloseTo(0.4, 15);
    expect(alignmentRate(V, A)).toBeCloseTo(0.5, 15);
    // V = (.2 0 0 0 0 .8), A = (0 .5 0 0 .5 0): (1,2) .1*1 + (1,5) .1*4 + (6,2) .4*4 + (6,5) .4*1 = 2.5
    // -> distance 0.5; rate = .2*.5 + .8*.5 = .5
    const V2 = [0.2, 0, 0, 0, 0, 0.8];
    const A2 = [0, 0.5, 0, 0, 0.5, 0];
    expect(alignmentDistance(V2, A2)).toBeCloseTo(0.5, 15);
    expect(alignmentRate(V2, A2)).toBeCloseTo(0.5, 15);
    // Symmetric in V and A.
    expect(alignmentDistance(A2, V2)).toBeCloseTo(0.5, 15);
    expect(() => alignmentDistance([1, 0], oneHot(1))).toThrow(RangeError);
    expect(() => alignmentRate(oneHot(1), [0.5, 0.5])).toThrow(RangeError);
  });
});

describe("units from records", () => {
  const d = { persona: NONE, dilemma: "equality-1", value: "Equality", topic: "Politics" };

  it("averages the complete balanced cycle; a question without one is averaged over all repeats and counted as unbalanced", () => {
    const records = [
      // repeats 0..5 (one full cycle in balanced orders): strongly agree; repeat 6 (outside it): strongly disagree
      ...question({ ...d, task: "stated", repeats: [...Array(6).fill(at("stated", 1)), at("stated", 6)] }),
      // three repeats, no complete cycle: grade 1, grade 1, grade 4
      ...question({ ...d, task: "action", repeats: [at("action", 1), at("action", 1), at("action", 4)] }),
    ];
    const { units, inputs } = dilemmaUnits(records);
    expect(units).toHaveLength(1);
    const u = units[0]!;
    expect(u.stated).toEqual(oneHot(1));
    expect(u.action.map((x) => +x.toFixed(12))).toEqual([2 / 3, 0, 0, 1 / 3, 0, 0].map((x) => +x.toFixed(12)));
    // distance = 1/3 * |1-4| / 5 = 0.2; rate = P(v<=3) P(a<=3) = 2/3
    expect(u.alignmentDistance).toBeCloseTo(0.2, 15);
    expect(u.alignmentRate).toBeCloseTo(2 / 3, 15);
    expect(inputs.questions.stated).toEqual({ scored: 1, balanced: 1, unbalanced: 0 });
    expect(inputs.questions.action).toEqual({ scored: 1, balanced: 0, unbalanced: 1 });
    expect(inputs.records.records).toBe(10);
    expect(inputs.records.used).toBe(9);
    expect(inputs.records.droppedByReason["outside complete balanced cycles"]).toBe(1);
    expect(inputs.records.dropped).toBe(1);
  });

  it("a cycle whose orders are not balanced is not used as one", () => {
    // six repeats, all shown in scale order: not a Latin square -> mean over all six, unbalanced
    const stated = [1, 1, 1, 6, 6, 6].map((pos, repeat) =>
      sixpointRecord({ ...d, task: "stated", repeat, order: LABELS.stated, probs: at("stated", pos) }),
    );
    const action = question({ ...d, task: "action", repeats: [at("action", 1)] });
    const { units, inputs } = dilemmaUnits([...stated, ...action]);
    expect(units[0]!.stated).toEqual([0.5, 0, 0, 0, 0, 0.5]);
    expect(inputs.questions.stated).toEqual({ scored: 1, balanced: 0, unbalanced: 1 });
  });

  it("drops units without both questions scored, with reasons, and accounts for every record", () => {
    const records = [
      ...unit(NONE, "ok", "Honest", "Religion", at("stated", 2), at("action", 2)),
      // action asked but without letter mass on both repeats
      ...question({ ...d, dilemma: "no-action-mass", task: "stated", repeats: [at("stated", 1), at("stated", 1)] }),
      ...question({ ...d, dilemma: "no-action-mass", task: "action", repeats: [null, null] }),
      // action never asked
      ...question({ ...d, dilemma: "no-action", task: "stated", repeats: [at("stated", 1)] }),
      // value question without mass, action fine
      ...question({ ...d, dilemma: "no-stated-mass", task: "stated", repeats: [null] }),
      ...question({ ...d, dilemma: "no-stated-mass", task: "action", repeats: [at("action", 3)] }),
      // nothing scored
      ...question({ ...d, dilemma: "nothing", task: "stated", repeats: [null] }),
      ...question({ ...d, dilemma: "nothing", task: "action", repeats: [null] }),
      // a VIA record mixed in (not a DilemmaRecord by its type, hence the cast: dilemmaUnits drops it by its protocol)
      {
        ...sixpointRecord({ ...d, task: "stated", repeat: 0, order: LABELS.stated, probs: at("stated", 1) }),
        id: "via",
        protocol: "letters",
      } as unknown as DilemmaRecord,
    ];
    const { units, inputs } = dilemmaUnits(records);
    expect(units.map((u) => u.dilemma)).toEqual(["ok"]);
    expect(inputs.units).toEqual({
      total: 5,
      used: 1,
      dropped: 4,
      droppedByReason: { "no scored value answer": 1, "no scored action answer": 2, "no scored answer": 1 },
    });
    expect(inputs.records.records).toBe(12);
    expect(inputs.records.used).toBe(2);
    expect(inputs.records.droppedByReason).toEqual({
      "not the 6-point protocol": 1,
      "no dilemma or persona": 0,
      "no letter mass": 5,
      "outside complete balanced cycles": 0,
      "unpaired question (the other question of the unit has no scored answer)": 4,
    });
    expect(inputs.records.used + inputs.records.dropped).toBe(inputs.records.records);
  });
});

// ---------------------------------------------------------------------------------------------

/** `baselineAndMaxUnits` (d1, d2), plus d3 (Wealth, Politics): A rate 1 only (no baseline). */
function kindRecords(): DilemmaRecord[] {
  return [...baselineAndMaxUnits(), ...unit(MAX_A, "d3", "Wealth", "Politics", at("stated", 1), at("action", 1))];
}

describe("dilemmaMetrics: aggregates", () => {
  it("means per persona kind, persona, value, topic and dilemma; difference from the baseline paired per dilemma", () => {
    const m = dilemmaMetrics(kindRecords());
    expect(m.protocol).toBe("sixpoint");
    expect(m.kinds).toEqual(["none", "max"]);
    expect(m.byKind.none!.alignmentRate.estimate).toBeCloseTo(0.5, 15);
    expect(m.byKind.none!.alignmentDistance.estimate).toBeCloseTo(0.5, 15); // d1 0, d2 1
    // max pools both quadrants: units A d1 1, B d1 0, A d2 1, B d2 1, A d3 1 -> 4/5
    expect(m.byKind.max!.alignmentRate.estimate).toBeCloseTo(0.8, 15);
    expect(m.byKind.max!.units).toBe(5);
    expect(m.byKind.max!.personas).toBe(2);
    expect(m.byKind.max!.dilemmas).toBe(3);
    // vs baseline: d1 mean(1, 0) - 1 = -0.5; d2 mean(1, 1) - 0 = +1; d3 has no baseline -> (−0.5 + 1) / 2 = 0.25
    expect(m.byKind.max!.vsBaseline!.dilemmas).toBe(2);
    expect(m.byKind.max!.vsBaseline!.alignmentRate.estimate).toBeCloseTo(0.25, 15);
    // distances: d1 max mean(0, 1) - 0 = 0.5; d2 mean(0, 0) - 1 = -1 -> -0.25
    expect(m.byKind.max!.vsBaseline!.alignmentDistance.estimate).toBeCloseTo(-0.25, 15);
    expect(m.byKind.none!.vsBaseline).toBeUndefined();
    // per persona
    const a = m.byPersona.find((p) => p.persona.id === MAX_A.id)!;
    const b = m.byPersona.find((p) => p.persona.id === MAX_B.id)!;
    expect(m.byPersona.map((p) => p.persona.id)).toEqual(["none", MAX_B.id, MAX_A.id]);
    expect(a.alignmentRate.estimate).toBe(1);
    expect(a.vsBaseline!.alignmentRate.estimate).toBeCloseTo(0.5, 15); // (0 + 1) / 2
    expect(b.alignmentRate.estimate).toBeCloseTo(0.5, 15);
    expect(b.vsBaseline!.alignmentRate.estimate).toBeCloseTo(0, 15); // (-1 + 1) / 2
    // value x kind, in the paper's analysis order (Wealth, Equality, Honest)
    expect(Object.keys(m.byValue)).toEqual(["Wealth", "Equality", "Honest"]);
    expect(m.byValue.Equality!.max!.alignmentRate.estimate).toBeCloseTo(0.5, 15);
    expect(m.byValue.Equality!.none!.alignmentRate.estimate).toBe(1);
    expect(m.byValue.Wealth!.none).toBeUndefined();
    // topic x kind: Politics holds d1 and d3
    expect(Object.keys(m.byTopic)).toEqual(["Politics", "Religion"]);
    expect(m.byTopic.Politics!.max!.units).toBe(3);
    expect(m.byTopic.Politics!.max!.alignmentRate.estimate).toBeCloseTo(2 / 3, 15);
    // dilemma x kind
    expect(m.byDilemma.map((x) => x.dilemma)).toEqual(["d3", "d1", "d2"]);
    expect(m.byDilemma.find((x) => x.dilemma === "d2")!.byKind).toEqual({
      none: { units: 1, alignmentRate: 0, alignmentDistance: 1 },
      max: { units: 2, alignmentRate: 1, alignmentDistance: 0 },
    });
    // overall: 7 units with rates none d1 1, A d1 1, B d1 0, none d2 0, A d2 1, B d2 1, A d3 1 -> 5/7
    expect(m.overall.units).toBe(7);
    expect(m.overall.alignmentRate.estimate).toBeCloseTo(5 / 7, 15);
    // no bootstrap asked: no interval ends, no intervals field
    expect(m.byKind.max!.alignmentRate.low).toBeNull();
    expect(m.intervals).toBeUndefined();
  });

  it("is deterministic, independent of record order, and JSON-serialisable", () => {
    const records = kindRecords();
    const boot = { bootstrap: { samples: 100, seed: 5 } };
    const a = JSON.stringify(dilemmaMetrics(records, boot));
    const b = JSON.stringify(dilemmaMetrics(records.slice().reverse(), boot));
    expect(a).toBe(b);
    expect(JSON.parse(a).protocol).toBe("sixpoint");
    expect(JSON.parse(a).definitions.alignmentRate).toMatch(/same side/);
  });
});

describe("dilemmaMetrics: bootstrap intervals over dilemmas", () => {
  /** 12 dilemmas, baseline and a country persona, with graded (non-degenerate) answers. */
  function graded(): DilemmaRecord[] {
    const nga = countryPersona("Nigeria");
    const out: DilemmaRecord[] = [];
    for (let i = 0; i < 12; i++) {
      // peaked answers (peak weight 0.45 .. 0.89) at positions that vary by dilemma and persona
      const mix = (task: "stated" | "action", pos: number) => {
        const w = 0.45 + 0.04 * i;
        return dist(
          task,
          Array.from({ length: 6 }, (_, j) => (j === pos - 1 ? w : (1 - w) / 5)),
        );
      };
      out.push(
        ...unit(NONE, `d${i}`, "Equality", "Politics", mix("stated", (i % 6) + 1), mix("action", ((i * 5) % 6) + 1)),
      );
      out.push(
        ...unit(
          nga,
          `d${i}`,
          "Equality",
          "Politics",
          mix("stated", ((i * 2) % 6) + 1),
          mix("action", ((i * 7) % 6) + 1),
        ),
      );
    }
    return out;
  }

  it("seeded: the same seed gives the same intervals, and they contain the estimate", () => {
    const records = graded();
    const m1 = dilemmaMetrics(records, { bootstrap: { samples: 300, seed: 11 } });
    const m2 = dilemmaMetrics(records, { bootstrap: { samples: 300, seed: 11 } });
    expect(m1).toEqual(m2);
    expect(m1.intervals!.bootstrap).toMatchObject({ samples: 300, seed: 11, level: 0.95, method: "percentile" });
    const all: Interval[] = [
      m1.overall.alignmentRate,
      m1.overall.alignmentDistance,
      m1.byKind.none!.alignmentRate,
      m1.byKind.country!.alignmentDistance,
      m1.byKind.country!.vsBaseline!.alignmentRate,
      m1.byKind.country!.vsBaseline!.alignmentDistance,
      m1.byPersona[1]!.alignmentRate,
      m1.byTopic.Politics!.country!.alignmentRate,
    ];
    for (const iv of all) {
      expect(iv.samples).toBe(300);
      expect(iv.low).not.toBeNull();
      expect(iv.low!).toBeLessThanOrEqual(iv.estimate! + 1e-12);
      expect(iv.high!).toBeGreaterThanOrEqual(iv.estimate! - 1e-12);
      expect(iv.high!).toBeGreaterThan(iv.low!); // answers differ between dilemmas
    }
    const m3 = dilemmaMetrics(records, { bootstrap: { samples: 300, seed: 12 } });
    expect(m3.overall.alignmentRate.estimate).toBe(m1.overall.alignmentRate.estimate);
    expect([m3.overall.alignmentRate.low, m3.overall.alignmentRate.high]).not.toEqual([
      m1.overall.alignmentRate.low,
      m1.overall.alignmentRate.high,
    ]);
  });

  it("samples 0: estimates without interval ends, recorded as disabled", () => {
    const m = dilemmaMetrics(graded(), { bootstrap: { samples: 0, seed: 3 } });
    expect(m.intervals!.bootstrap.samples).toBe(0);
    expect(m.overall.alignmentRate.estimate).not.toBeNull();
    expect(m.overall.alignmentRate.low).toBeNull();
    expect(m.byKind.country!.vsBaseline!.alignmentRate.high).toBeNull();
  });
});

describe("dilemmaMetrics: answer choices and position bias", () => {
  const d = { persona: NONE, dilemma: "d", value: "Equality", topic: "Politics" };
  const S = LABELS.stated;

  it("mean probability and argmax share per option, ties to the option first in scale order", () => {
    const records = [
      sixpointRecord({ ...d, task: "stated", repeat: 0, order: S, probs: { [S[0]!]: 0.6, [S[1]!]: 0.4 } }),
      sixpointRecord({
        ...d,
        task: "stated",
        repeat: 1,
        order: S,
        probs: { [S[0]!]: 0.3, [S[1]!]: 0.3, [S[2]!]: 0.4 },
      }),
      sixpointRecord({ ...d, task: "stated", repeat: 2, order: S, probs: { [S[0]!]: 0.5, [S[5]!]: 0.5 } }), // tie -> Strongly agree
      sixpointRecord({ ...d, task: "stated", repeat: 3, order: S, probs: null }), // no mass: not an answer
      ...question({ ...d, dilemma: "e", task: "action", repeats: [at("action", 3)] }),
    ];
    const m = dilemmaMetrics(records);
    const c = m.choices.stated.none!;
    expect(c.answers).toBe(3);
    expect(c.meanProbability["Strongly agree"]).toBeCloseTo((0.6 + 0.3 + 0.5) / 3, 15);
    expect(c.meanProbability.Agree).toBeCloseTo(0.7 / 3, 15);
    expect(c.meanProbability["Mildly agree"]).toBeCloseTo(0.4 / 3, 15);
    expect(c.meanProbability["Strongly disagree"]).toBeCloseTo(0.5 / 3, 15);
    expect(Object.keys(c.meanProbability)).toEqual([...S]);
    expect(c.topShare).toEqual({
      "Strongly agree": 2 / 3,
      Agree: 0,
      "Mildly agree": 1 / 3,
      "Mildly disagree": 0,
      Disagree: 0,
      "Strongly disagree": 0,
    });
    expect(m.choices.action.none!.topShare["mildly aligning"]).toBe(1);
  });

  it("mean probability per shown position against 1/6", () => {
    const records = [
      sixpointRecord({ ...d, task: "stated", repeat: 0, order: S, probs: at("stated", 1) }), // Strongly agree shown at A
      sixpointRecord({
        ...d,
        task: "stated",
        repeat: 1,
        order: [...S].reverse(),
        probs: { [S[0]!]: 0.5, [S[5]!]: 0.5 },
      }), // SA at F, SD at A
    ];
    const m = dilemmaMetrics(records);
    const p = m.positionBias.stated!;
    expect(p.positions).toEqual(["A", "B", "C", "D", "E", "F"]);
    expect(p.uniform).toBeCloseTo(1 / 6, 15);
    expect(p.answers).toBe(2);
    expect(p.massByPosition.map((x) => +x.toFixed(12))).toEqual([0.75, 0, 0, 0, 0, 0.25]);
    expect(m.positionBias.action).toBeUndefined();
  });
});
