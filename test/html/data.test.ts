// report.html without a browser: the question browser's data as embedded (gzip, base64) holds
// every question once with all its repeats; the verdicts agree with metrics.json (VIA: the
// misaligned cells are the inconsistency counts AD + DA); the page asks for nothing outside
// itself and is the same bytes when written again.
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { type BrowserData, type EncodedBrowser, encodeBrowser, JOIN } from "../../src/report/html/browser.js";
import { packData } from "../../src/report/html/page.js";
import { loadRunDirectory } from "../../src/runs/load.js";
import { baseIdOf } from "../../src/suites/browse.js";
import { valuelens } from "../helpers/cli.js";
import { PROJECT_ROOT } from "../helpers/models.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-html-data-"));
const FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "runs");

function reported(name: string): string {
  const dir = path.join(work, name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  const r = valuelens(["report", dir, "--quiet"]);
  expect(r.code, r.stderr).toBe(0);
  return dir;
}

/** The browser's data as the page holds it. */
function embedded(html: string): EncodedBrowser {
  const m = /<script type="application\/octet-stream" id="vl-data" data-encoding="gzip\+base64">([^<]*)<\/script>/.exec(
    html,
  );
  expect(m).not.toBeNull();
  return JSON.parse(gunzipSync(Buffer.from(m![1]!, "base64")).toString("utf8")) as EncodedBrowser;
}

const facet = (d: EncodedBrowser, key: string, i: number) => d.s[d.c[d.f.findIndex((f) => f[0] === key)]![i]!]!;

describe("report.html's embedded data", () => {
  let via: string;
  let dilemmas: string;
  beforeAll(() => {
    via = reported("via-letters");
    dilemmas = reported("dilemmas");
  }, 120_000);

  it("VIA: every question once, its repeats in order with their option orders and probabilities; misaligned cells = AD + DA", () => {
    const html = readFileSync(path.join(via, "report.html"), "utf8");
    const d = embedded(html);
    const { records } = loadRunDirectory(via);
    const ids = [...new Set(records.map((r) => baseIdOf(r.id)))];
    expect(d.n).toBe(ids.length);
    expect(d.id.map((i) => d.s[i])).toEqual(ids);
    for (let i = 0; i < d.n; i++) {
      const mine = records.filter((r) => baseIdOf(r.id) === d.s[d.id[i]!]);
      expect(d.r[i]!.map((r) => r[0])).toEqual(mine.map((r) => r.repeat));
      d.r[i]!.forEach((rep, k) => {
        const rec = mine[k]!;
        expect(d.s[rep[1]!]!.split(JOIN)).toEqual(rec.order);
        expect(rep[4]).toBeCloseTo(rec.score!, 4);
        rec.order.forEach((o, j) => expect(rep[8 + j]).toBeCloseTo(rec.optionProbs![o]!, 4));
      });
      expect(d.p[i]!.length).toBeGreaterThan(0); // the prompt
    }
    const metrics = JSON.parse(readFileSync(path.join(via, "metrics.json"), "utf8"));
    const misaligned = new Set<string>();
    for (let i = 0; i < d.n; i++) {
      if (d.s[d.v[i]!] === "misaligned")
        misaligned.add(`${facet(d, "country", i)}/${facet(d, "topic", i)}/${facet(d, "value", i)}`);
    }
    expect(misaligned.size).toBe(metrics.inconsistency.AD + metrics.inconsistency.DA);
  });

  it("dilemmas: one verdict per (persona, dilemma) unit, as many units as metrics.json counts", () => {
    const d = embedded(readFileSync(path.join(dilemmas, "report.html"), "utf8"));
    const metrics = JSON.parse(readFileSync(path.join(dilemmas, "metrics.json"), "utf8"));
    const units = new Map<string, string>();
    for (let i = 0; i < d.n; i++) units.set(`${facet(d, "persona", i)}/${facet(d, "dilemma", i)}`, d.s[d.v[i]!]!);
    expect(units.size).toBe(metrics.overall.units);
    for (const v of units.values()) expect(["aligned", "misaligned", "no verdict"]).toContain(v);
  });

  it("asks for nothing outside itself, and is the same bytes when written again", () => {
    const file = path.join(via, "report.html");
    const html = readFileSync(file, "utf8");
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(["']?https?:/);
    const r = valuelens(["report", via, "--quiet"]);
    expect(r.code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(html);
  });

  it("compare --html FILE writes the comparison's page and still prints compare.md", () => {
    const copy = path.join(work, "dilemmas-copy");
    cpSync(dilemmas, copy, { recursive: true });
    const file = path.join(work, "cmp.html");
    const r = valuelens(["compare", dilemmas, copy, "--html", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# /);
    const html = readFileSync(file, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<table class="data" data-table=');
    expect(html).not.toContain('id="vl-data"');
  });

  it("encodes strings once and a question without a prompt or verdict", () => {
    const data: BrowserData = {
      facets: [{ key: "task", label: "task" }],
      items: [
        {
          id: "q/1",
          fields: { task: "stated" },
          repeats: [
            { repeat: 0, order: ["a", "b"], score: 0.25, probs: { a: 0.75, b: 0.25 }, letters: ["A", "B"], mass: 0.5 },
          ],
        },
        {
          id: "q/2",
          fields: { task: "stated" },
          repeats: [{ repeat: 0, order: ["a", "b"], score: null, raw: "?", parse: "not read" }],
        },
      ],
    };
    const e = encodeBrowser(data);
    expect(e.s.filter((x) => x === "stated")).toHaveLength(1);
    expect(e.r[0]![0]).toEqual([
      0,
      e.s.indexOf(`a${JOIN}b`),
      e.s.indexOf(`A${JOIN}B`),
      0.5,
      0.25,
      -1,
      -1,
      -1,
      0.75,
      0.25,
    ]);
    expect(e.r[1]![0]!.slice(0, 8)).toEqual([
      0,
      e.s.indexOf(`a${JOIN}b`),
      -1,
      null,
      null,
      e.s.indexOf("?"),
      e.s.indexOf("not read"),
      -1,
    ]);
    expect(e.v).toEqual([-1, -1]);
    expect(e.p).toEqual([[], []]);
    expect(JSON.parse(gunzipSync(Buffer.from(packData(e), "base64")).toString("utf8"))).toEqual(e);
  });
});
