// `valuelens report DIR --figures svg,pdf` and `valuelens compare ... --out DIR --figures svg`
// write every figure under figures/, and change nothing else; without the flag nothing is written there.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { valuelens } from "../helpers/cli.js";
import { PROJECT_ROOT } from "../helpers/models.js";

const FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "runs");
let work: string;

beforeAll(() => {
  work = realpathSync(mkdtempSync(path.join(tmpdir(), "vl-figures-")));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copy(name: string, as = name): string {
  const dir = path.join(work, as);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe("report --figures", () => {
  it("writes an SVG and a PDF of every figure; report.md, metrics.json and charts/ stay as they were", () => {
    const dir = copy("via-letters");
    const r = valuelens(["report", dir, "--figures", "svg,pdf", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(path.join(dir, "figures"))
      .filter((f) => f !== "captions.md")
      .sort();
    const captions = readFileSync(path.join(dir, "figures", "captions.md"), "utf8");
    expect(captions).toContain(
      "## alignment-rate-by-country\n\n**Alignment rate (F1) by country.** Alignment rate of each country",
    );
    const names = [...new Set(files.map((f) => f.replace(/\.(svg|pdf)$/, "")))];
    expect(names).toContain("alignment-rate-by-country");
    expect(names).toContain("stated-by-country-and-value");
    expect(files.length).toBe(2 * names.length);
    for (const n of names) {
      expect(readFileSync(path.join(dir, "figures", `${n}.svg`), "utf8")).toMatch(/^<svg/);
      expect(
        readFileSync(path.join(dir, "figures", `${n}.pdf`))
          .subarray(0, 5)
          .toString("latin1"),
      ).toBe("%PDF-");
    }
    // the report.md figure is also under figures/, drawn the same as charts/
    expect(readFileSync(path.join(dir, "figures", "alignment-rate-by-country-and-topic.svg"), "utf8")).toBe(
      readFileSync(path.join(dir, "charts", "alignment-rate-by-country-and-topic.svg"), "utf8"),
    );
    expect(readFileSync(path.join(dir, "report.md"), "utf8")).toBe(
      readFileSync(path.join(FIXTURES, "via-letters", "report.md"), "utf8"),
    );
    expect(JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"))).toStrictEqual(
      JSON.parse(readFileSync(path.join(FIXTURES, "via-letters", "metrics.json"), "utf8")),
    );
    // the same figures again: the same bytes
    const before = files.map((f) => readFileSync(path.join(dir, "figures", f)));
    expect(valuelens(["report", dir, "--figures", "svg,pdf", "--quiet"]).code).toBe(0);
    files.forEach((f, i) => expect(readFileSync(path.join(dir, "figures", f)).equals(before[i]!), f).toBe(true));
  }, 120_000);

  it("without --figures nothing is written under figures/; an unknown format is refused in one line", () => {
    const dir = copy("dilemmas");
    expect(valuelens(["report", dir, "--quiet"]).code).toBe(0);
    expect(existsSync(path.join(dir, "figures"))).toBe(false);
    const bad = valuelens(["report", dir, "--figures", "png"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--figures takes svg, pdf or svg,pdf \(got "png"\)/);
    const pdf = valuelens(["report", dir, "--figures", "pdf", "--quiet"]);
    expect(pdf.code, pdf.stderr).toBe(0);
    const files = readdirSync(path.join(dir, "figures")).filter((f) => f !== "captions.md");
    expect(files.every((f) => f.endsWith(".pdf"))).toBe(true);
    expect(files).toContain("choices-action-questions-by-kind.pdf");
  }, 120_000);
});

describe("compare --figures", () => {
  it("writes the comparison's figures under <out>/figures/; refused without --out", () => {
    const a = copy("via-letters", "cmp-a");
    const b = copy("via-letters", "cmp-b");
    const out = path.join(work, "cmp");
    const r = valuelens(["compare", a, b, "--out", out, "--figures", "svg"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(out, "figures")).sort()).toEqual([
      "captions.md",
      "compare-agreement.svg",
      "compare-alignment-rate-by-country.svg",
      "compare-differences-by-country.svg",
    ]);
    const noOut = valuelens(["compare", a, b, "--figures", "svg"]);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toMatch(/--figures writes one file per figure: pass --out DIR/);
  }, 120_000);
});
