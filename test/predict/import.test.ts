// `valuelens import explanations`: the paper's released predictions as an ordinary predict-suite
// run directory. On the files in ../shared its metrics equal the released analysis; on
// hand-made files: unparseable answers are data, files that are not one experiment are refused
// in one line, and `report` on the directory gives the same metrics.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readManifest } from "../../src/records/manifest.js";
import { readRecords } from "../../src/records/records.js";
import { PREDICT_MODES } from "../../src/suites/predict/conversation.js";
import { valuelens } from "../helpers/cli.js";
import { FIDELITY, haveShared, SHARED } from "../helpers/shared.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-import-expl-"));

function write(name: string, csv: string): string {
  const file = path.join(work, "files", name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, csv);
  return file;
}

function metricsOf(dir: string) {
  return JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
}

describe("valuelens import explanations on hand-made files", () => {
  // Test rows 0-3: labels T T F F. default predicts T T T F (one FP); explanation T T F F, and
  // its row 3 answer is unparseable.
  const def = write(
    "m_explanation_outputs_default.csv",
    ",label,result\n0,True,Label: True\n1,True,Label: True\n2,False,Label: True\n3,False,Label: False\n",
  );
  const expl = write(
    "m_explanation_outputs_explanation.csv",
    ',label,result\n0,True,"Label: True \n Reason: r"\n1,True,Label: True\n2,False,Label: False\n3,False,I cannot tell\n',
  );

  it("writes records with the raw answers, the parse and the label, and metrics per mode", () => {
    const out = path.join(work, "m");
    const r = valuelens(["import", "explanations", expl, def, "--model-name", "my-predictor", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("m_explanation_outputs_explanation.csv: 4 test rows, 3 parsed, 1 unparsed");
    expect(r.stdout).toContain("| Mode | n | F1 |");
    const manifest = readManifest(out)!;
    expect(manifest).toMatchObject({ imported: true, status: "complete" });
    expect(manifest.config).toMatchObject({ model: "my-predictor", protocol: "predict-paper" });
    expect(manifest.import!.files.map((f) => [path.basename(f.path), f.kept, f.dropped])).toEqual([
      ["m_explanation_outputs_default.csv", 4, 0],
      ["m_explanation_outputs_explanation.csv", 3, 1],
    ]);
    const records = readRecords(path.join(out, "records.jsonl")).records as unknown as {
      id: string;
      mode: string;
      row: number | null;
      index: number;
      label: boolean;
      generation: { raw: string };
      parsed: { ok: boolean; chosen?: string; reason?: string };
      score: number | null;
    }[];
    expect(records).toHaveLength(8);
    // Modes in the canonical order, whatever order the files were given in.
    expect(records.map((x) => x.mode)).toEqual([...Array(4).fill("default"), ...Array(4).fill("explanation")]);
    const e0 = records.find((x) => x.id === "predict/explanation/index0/r0")!;
    expect(e0).toMatchObject({ row: null, index: 0, label: true, score: 1, parsed: { ok: true, chosen: "True" } });
    expect(e0.generation.raw).toBe("Label: True \n Reason: r");
    const e3 = records.find((x) => x.id === "predict/explanation/index3/r0")!;
    expect(e3.parsed).toEqual({
      ok: false,
      reason: 'the second space-separated field "cannot" is neither True nor False',
    });
    expect(e3.score).toBeNull();

    const m = metricsOf(out);
    expect(m.byMode.default).toMatchObject({ n: 4, tp: 2, fp: 1, tn: 1, fn: 0, unparsed: 0, accuracy: 0.75 });
    expect(m.byMode.default.precision).toBeCloseTo(2 / 3, 12);
    expect(m.byMode.default.f1).toBeCloseTo(0.8, 12);
    expect(m.byMode.explanation).toMatchObject({ tp: 2, fp: 0, tn: 1, fn: 0, unparsed: 1, f1: 1 });
    // Paired over the index: the test rows both modes answered.
    expect(m.differences.explanation.n).toBeGreaterThan(0);
    const report = readFileSync(path.join(out, "report.md"), "utf8");
    expect(report).toContain("Imported from the released predictions");
    expect(report).toContain("## Improvement over default");

    // `report` on the directory recomputes the same metrics.
    const before = readFileSync(path.join(out, "metrics.json"), "utf8");
    expect(valuelens(["report", out, "--quiet"]).code).toBe(0);
    expect(readFileSync(path.join(out, "metrics.json"), "utf8")).toBe(before);
  });

  it("compare: each run against the first per mode, paired on the test row, with figures", () => {
    const a = path.join(work, "cmp-a");
    const b = path.join(work, "cmp-b");
    expect(valuelens(["import", "explanations", def, "--model-name", "p1", "--out", a]).code).toBe(0);
    // The second predictor gets row 2 right as well: F1 0.8 -> 1.
    const better = write(
      "b/m_explanation_outputs_default.csv",
      ",label,result\n0,True,Label: True\n1,True,Label: True\n2,False,Label: False\n3,False,Label: False\n",
    );
    expect(valuelens(["import", "explanations", better, "--model-name", "p2", "--out", b]).code).toBe(0);
    const out = path.join(work, "cmp");
    const r = valuelens(["compare", a, b, "--out", out, "--bootstrap", "50"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const md = readFileSync(path.join(out, "compare.md"), "utf8");
    expect(md).toContain("## Against p1");
    expect(md).toMatch(/\| p2 \| default \| 4 \| \+0\.200 \[/);
    const html = readFileSync(path.join(out, "compare.html"), "utf8");
    expect(html).toContain("F1 against p1");
  });

  it("imports files whose test rows differ, leaves those rows unpaired and says so; refuses what is not one experiment", () => {
    const other = write(
      "m_explanation_outputs_attribution.csv",
      ",label,result\n0,True,Label: True\n1,False,Label: True\n2,False,Label: True\n3,False,Label: False\n",
    );
    const out = path.join(work, "unpaired");
    let r = valuelens(["import", "explanations", def, other, "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readManifest(out)!.notes.join("\n")).toContain(
      "m_explanation_outputs_attribution.csv does not list the test rows of m_explanation_outputs_default.csv (4 rows against 4; 1 index missing there or labeled otherwise, first at line 3)",
    );
    // Row 1 is labeled True in one file and False in the other: not the same test row, not paired.
    const m = metricsOf(out);
    expect(m.differences.attribution.unpaired).toBe(2);
    expect(m.differences.attribution.n).toBe(3);

    const twice = write("n_explanation_outputs_default.csv", ",label,result\n0,True,Label: True\n");
    r = valuelens(["import", "explanations", def, twice, "--out", path.join(work, "bad2")]);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("are both mode default; pass one file per mode");

    const wrongName = write("m_outputs.csv", ",label,result\n0,True,Label: True\n");
    r = valuelens(["import", "explanations", wrongName, "--out", path.join(work, "bad3")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("not a released prediction file");

    r = valuelens([
      "import",
      "explanations",
      path.join(work, "missing_explanation_outputs_default.csv"),
      "--out",
      path.join(work, "bad4"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("file not found");
  });
});

const DIR = path.join(SHARED.releasedOutputs, "explanations");
const FILES = PREDICT_MODES.map((mode) => path.join(DIR, `chatgpt_explanation_outputs_${mode}.csv`));
const haveReleased = haveShared("predict/import.test", "the import of the released predictions", ...FILES);

describe.skipIf(!haveReleased)("valuelens import explanations on the released predictions", FIDELITY, () => {
  it("gives metrics.json byMode equal to the released analysis, and the intervals it did not print", () => {
    const out = path.join(work, "chatgpt");
    const r = valuelens(["import", "explanations", ...FILES, "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = metricsOf(out);
    const expected = {
      default: [0.7952, 0.745],
      attribution: [0.823, 0.785],
      explanation: [0.8299, 0.795],
      attribution_explanation: [0.8299, 0.795],
    };
    for (const mode of PREDICT_MODES) {
      const got = m.byMode[mode];
      expect({ mode, f1: Number(got.f1.toFixed(4)), accuracy: got.accuracy }).toEqual({
        mode,
        f1: expected[mode][0],
        accuracy: expected[mode][1],
      });
      expect(got.n).toBe(200);
      expect(got.intervals.f1.low).toBeLessThan(got.f1);
      expect(got.intervals.f1.high).toBeGreaterThan(got.f1);
    }
    expect(readRecords(path.join(out, "records.jsonl")).records).toHaveLength(800);
    const report = readFileSync(path.join(out, "report.md"), "utf8");
    for (const mode of ["attribution", "explanation", "attribution_explanation"])
      expect(report).toMatch(
        new RegExp(
          `\\*\\*${mode}\\*\\* against default \\(200 paired rows\\): F1 \\+0\\.0\\d\\d \\[\\+0\\.0\\d\\d, \\+0\\.0\\d\\d\\] excludes zero`,
        ),
      );
    // A second import replaces the first.
    expect(valuelens(["import", "explanations", ...FILES, "--out", out]).code).toBe(0);
  });
});
