import path from "node:path";
import { describe, expect, it } from "vitest";
import { PREDICT_MODES } from "../../src/suites/predict/conversation.js";
import { predictMetrics } from "../../src/suites/predict/metrics.js";
import {
  loadReleasedExplanations,
  parseLabelAnswer,
  parseReleasedExplanations,
  parseReleasedName,
  releasedScoredRows,
} from "../../src/suites/predict/released.js";
import { UserError } from "../../src/util/errors.js";
import { FIDELITY, haveShared, SHARED } from "../helpers/shared.js";

describe("parseLabelAnswer: the second space-separated field, as the paper's analysis (result.split(' ')[1])", () => {
  it.each([
    ["Label: True", true],
    ["Label: False", false],
    ["Label: True  \n Action Attribution: ['x']", true],
    ["Label: False \n Reason: r", false],
    ["Label:\tx False", false], // the first field holds the tab; the second is False
  ])("%j -> %s", (answer, predicted) => {
    expect(parseLabelAnswer(answer)).toEqual({ ok: true, predicted });
  });

  it.each([
    [
      "True",
      'the answer has no space; expected "Label: True|False" (the paper reads the second space-separated field)',
    ],
    ["", 'the answer has no space; expected "Label: True|False" (the paper reads the second space-separated field)'],
    ["Label: true", 'the second space-separated field "true" is neither True nor False'],
    ["Label: True.", 'the second space-separated field "True." is neither True nor False'],
    ["Label:True yes", 'the second space-separated field "yes" is neither True nor False'],
    [
      "Label: True\nReason: r",
      'the second space-separated field "True\\nReason:" is neither True nor False (split on any whitespace it would read True; the paper splits on single spaces)',
    ],
    [
      "  Label:  True",
      'the second space-separated field "" is neither True nor False (split on any whitespace it would read True; the paper splits on single spaces)',
    ],
    [
      "Label:\u00a0True x",
      'the second space-separated field "x" is neither True nor False (split on any whitespace it would read True; the paper splits on single spaces)',
    ],
  ])("%j is unparseable", (answer, reason) => {
    expect(parseLabelAnswer(answer)).toEqual({ ok: false, reason });
  });

  it("reads labels as pandas does: True/False in any case, or 1/0", () => {
    const csv = ",label,result\n0,TRUE,Label: True\n1,false,Label: False\n2,1,Label: True\n3,0,Label: True\n";
    const got = parseReleasedExplanations("m_explanation_outputs_default.csv", Buffer.from(csv));
    expect(got.rows.map((r) => r.label)).toEqual([true, false, true, false]);
  });
});

describe("parseReleasedName", () => {
  it("reads the predicted model and the mode", () => {
    expect(parseReleasedName("/x/chatgpt_explanation_outputs_attribution_explanation.csv")).toEqual({
      predictedModel: "chatgpt",
      mode: "attribution_explanation",
    });
    expect(parseReleasedName("llama_3_explanation_outputs_default.csv").predictedModel).toBe("llama_3");
  });
  it("rejects another name in one line", () => {
    expect(() => parseReleasedName("chatgpt_outputs_default.csv")).toThrow(UserError);
    expect(() => parseReleasedName("x_explanation_outputs_reason.csv")).toThrow(/mode one of default, attribution/);
  });
});

describe("parseReleasedExplanations", () => {
  const file = "m_explanation_outputs_default.csv";
  it("keeps every row, the raw answer and an unparseable one's reason", () => {
    const csv = ',label,result\n0,True,Label: True\n1,False,"Label: False \n more"\n2,True,Maybe\n';
    const got = parseReleasedExplanations(file, Buffer.from(csv));
    expect(got.mode).toBe("default");
    expect(got.rows).toEqual([
      { index: 0, line: 2, label: true, answer: "Label: True", predicted: true },
      { index: 1, line: 3, label: false, answer: "Label: False \n more", predicted: false },
      {
        index: 2,
        line: 5,
        label: true,
        answer: "Maybe",
        predicted: null,
        reason:
          'the answer has no space; expected "Label: True|False" (the paper reads the second space-separated field)',
      },
    ]);
    expect(releasedScoredRows(got)[2]).toEqual({ key: 2, label: true, predicted: null });
  });
  it("names the file, line and field of a bad row", () => {
    const bad = (csv: string) => () => parseReleasedExplanations(file, Buffer.from(csv));
    expect(bad(",label,result\n0,yes,Label: True\n")).toThrow(
      `${file}: line 2, field "label": "yes" is not True or False; fix or remove the row`,
    );
    expect(bad(",label,result\nx,True,Label: True\n")).toThrow(`${file}: line 2, field "(index)"`);
    expect(bad(",label,result\n0,True,a b\n0,True,a b\n")).toThrow("index 0 repeats line 2");
    expect(bad(",label\n0,True\n")).toThrow('the header lacks the column "result"');
  });
  it("a missing file is a UserError", async () => {
    await expect(loadReleasedExplanations("/nonexistent/a_explanation_outputs_default.csv")).rejects.toThrow(
      "no such file",
    );
  });
});

const DIR = path.join(SHARED.releasedOutputs, "explanations");
const FILES = PREDICT_MODES.map((mode) => path.join(DIR, `chatgpt_explanation_outputs_${mode}.csv`));
const haveReleased = haveShared("predict/released.test", "the released prediction outputs' metrics", ...FILES);

describe.skipIf(!haveReleased)("the released predictions reproduce the paper's numbers", FIDELITY, () => {
  const EXPECTED = {
    default: { f1: "0.7952", accuracy: "0.7450" },
    attribution: { f1: "0.8230", accuracy: "0.7850" },
    explanation: { f1: "0.8299", accuracy: "0.7950" },
    attribution_explanation: { f1: "0.8299", accuracy: "0.7950" },
  };

  it("F1 and accuracy per mode, to 4 decimals; every answer parses", async () => {
    const files = await Promise.all(FILES.map(loadReleasedExplanations));
    const byMode = Object.fromEntries(files.map((f) => [f.mode, releasedScoredRows(f)]));
    const m = predictMetrics(byMode, { samples: 200, seed: 1 });
    for (const mode of PREDICT_MODES) {
      const got = m.byMode[mode]!;
      expect({ mode, f1: got.f1!.toFixed(4), accuracy: got.accuracy!.toFixed(4) }).toEqual({ mode, ...EXPECTED[mode] });
      expect([got.n, got.unparsed]).toEqual([200, 0]);
      expect(got.recall!).toBeGreaterThanOrEqual(0.99);
    }
    expect(m.byMode.default).toMatchObject({ tp: 99, fp: 50, tn: 50, fn: 1 });
    expect(m.differences.explanation!.n).toBe(200);
    expect(m.differences.explanation!.metrics.f1!.estimate).toBeCloseTo(0.8299 - 0.7952, 3);
  });
});
