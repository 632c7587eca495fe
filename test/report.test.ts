import { describe, expect, it } from "vitest";
import { computeMetrics } from "../src/suites/via/metrics/alignment.js";
import { renderCountryTable } from "../src/report/report.js";
import { renderReport } from "../src/suites/via/reportSections.js";
import { SMALL_ACTION, SMALL_STATED } from "./helpers/handcrafted.js";

const HEADER = "| model | US | CA | GER | UK | FR | AUS | IND | PAK | PHIL | NGA | EG | UG | overall |";

// The small hand-computed matrices of test/helpers/handcrafted.ts (F1 per scenario written there).
const stated = SMALL_STATED;
const action = SMALL_ACTION;

describe("renderCountryTable", () => {
  it("uses the paper's header and '–' for missing countries", () => {
    const t = renderCountryTable([
      { label: "model-a", byCountry: { "United States": 0.514, Canada: 0.49 }, overall: 0.5 },
      { label: "model|b", byCountry: { Uganda: 0.3 }, overall: null },
    ]);
    const lines = t.split("\n");
    expect(lines[0]).toBe(HEADER);
    expect(lines[1]).toBe("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    expect(lines[2]).toBe("| model-a | 0.51 | 0.49 | – | – | – | – | – | – | – | – | – | – | 0.50 |");
    expect(lines[3]).toBe("| model\\|b | – | – | – | – | – | – | – | – | – | – | – | 0.30 | – |");
  });

  it("appends countries outside the paper's list", () => {
    const t = renderCountryTable([{ label: "x", byCountry: { Narnia: 0.25 }, overall: 0.25 }]);
    expect(t.split("\n")[0]).toBe(HEADER.replace("| overall |", "| Narnia | overall |"));
    expect(t).toContain("| 0.25 | 0.25 |");
  });
});

describe("renderReport", () => {
  const metrics = computeMetrics(stated, action);
  const md = renderReport({
    title: "valuelens report: tiny",
    manifestSummary: { model: "tiny-model", protocol: "paper", questions: 16 },
    metrics,
    notes: ["a note"],
  });

  it("leads with the country table", () => {
    const lines = md.split("\n");
    expect(lines[0]).toBe("# valuelens report: tiny");
    const firstTable = lines.findIndex((l) => l.startsWith("|"));
    expect(lines[firstTable]).toBe(HEADER);
    expect(lines[firstTable + 2]).toBe("| tiny-model | 0.75 | – | – | – | – | – | – | – | – | – | 0.33 | – | 0.54 |");
  });

  it("contains the topic, distance, ranking, inconsistency and summary sections", () => {
    expect(md).toContain("## Alignment rate by topic (F1)");
    // T1: (0.5 + 2/3) / 2 = 0.5833; T2: (1 + 0) / 2 = 0.5
    expect(md).toContain("| T1 | 0.58 | 2 |");
    expect(md).toContain("| T2 | 0.50 | 2 |");
    expect(md).toContain("## Mean alignment distance by country");
    // US: per value |mean stated - mean action|: A |0.5-1| = 0.5, B |0.5-0.5| = 0, C |1-0.5| = 0.5, D 0 -> 0.25
    expect(md).toContain("| United States (US) | 0.250 |");
    // Egypt: A 0, B 0, C 0.5, D 0.5 -> 0.25
    expect(md).toContain("| Egypt (EG) | 0.250 |");
    expect(md).toContain("## Most misaligned values by country (top-1, top-5)");
    expect(md).toContain("| United States (US) | A (0.500) | A, C, B, D |");
    expect(md).toContain("| Egypt (EG) | C (0.500) | C, D, A, B |");
    expect(md).toContain("| model | (A,D) | (D,A) | (A,A) | (D,D) | cells |");
    // (A,D): US/T1 A; (D,A): US/T1 C, EG/T1 C, EG/T1 D
    expect(md).toContain("| tiny-model | 1 | 3 | 7 | 5 | 16 |");
    expect(md).toContain("| protocol | paper |");
    expect(md).toContain("| questions | 16 |");
    expect(md).toContain("- a note");
    // the country table comes first
    expect(md.indexOf(HEADER)).toBeLessThan(md.indexOf("## Alignment rate by topic"));
    expect(md.indexOf("## Alignment rate by topic")).toBeLessThan(md.indexOf("## Mean alignment distance"));
    expect(md.indexOf("## Mean alignment distance")).toBeLessThan(md.indexOf("## Most misaligned"));
    expect(md.indexOf("## Most misaligned")).toBeLessThan(md.indexOf("## Cross-task inconsistency"));
    expect(md.indexOf("## Cross-task inconsistency")).toBeLessThan(md.indexOf("## Run summary"));
  });
});
