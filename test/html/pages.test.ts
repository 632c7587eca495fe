// report.html of a run of each suite and compare.html of a comparison, opened from file:// in
// headless Chromium (test/helpers/browser.ts; skipped, loudly, without one). The runs are the
// fixtures' real tiny-model run directories (test/fixtures/runs/) copied and reported again,
// and a prediction run on a stand-in (as test/predict/run.test.ts makes one). Each page: no
// console error, no request but the file itself, the tables' numbers equal those computed from
// metrics.json (or the comparison), every figure drawn with marks, the browser's filters count
// what the records hold, a question's details show its prompt and repeats, and a screenshot
// that is not blank (`npm run screenshots` writes them to docs/img/ for the README).
/// <reference lib="dom" />
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareDirs } from "../../src/compare/compare.js";
import { loadRunDirectory } from "../../src/runs/load.js";
import { baseIdOf } from "../../src/suites/browse.js";
import { suiteOf } from "../../src/suites/registry.js";
import { closeSharedChromium, haveChromium, sharedChromium } from "../helpers/browser.js";
import { tinyLabelsRun } from "../helpers/labelsRun.js";
import { valuelens, valuelensSpawn } from "../helpers/cli.js";
import { PROJECT_ROOT } from "../helpers/models.js";
import {
  expectFigures,
  expectQuiet,
  expectScreenshot,
  expectTables,
  filterBy,
  openFile,
  shownNumbers,
} from "./checks.js";

const have = haveChromium("test/html/pages.test.ts");
const hasGit = spawnSync("git", ["--version"]).status === 0;
const work = mkdtempSync(path.join(tmpdir(), "vl-html-"));
const FIXTURES = path.join(PROJECT_ROOT, "test", "fixtures", "runs");

/** The VIA fixture's config (test/fixtures/runs/via-letters/manifest.json) as run flags. */
const SAME_QUESTIONS = ["--countries", "Nigeria,Germany", "--topics", "Environment", "--repeats", "2", "--seed", "7"];

function copyFixture(name: string): string {
  const dir = path.join(work, name);
  cpSync(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

function report(dir: string): void {
  const r = valuelens(["report", dir, "--quiet"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(existsSync(path.join(dir, "report.html"))).toBe(true);
}

/** The run's tables and figure names as its suite makes them from metrics.json. */
function expected(dir: string) {
  const run = loadRunDirectory(dir);
  const metrics = JSON.parse(readFileSync(path.join(dir, "metrics.json"), "utf8"));
  const suite = suiteOf(run.manifest.config);
  return {
    run,
    metrics,
    tables: suite.tables(run.manifest, metrics, run.records),
    figures: suite.figures(metrics, run.records, run.manifest).map((f) => f.name),
  };
}

/** Questions (records grouped over repeats) whose first record passes `keep`. */
function questionsWhere<R extends { id: string }>(records: readonly R[], keep: (r: R) => boolean): number {
  return new Set(records.filter(keep).map((r) => baseIdOf(r.id))).size;
}

// One Chromium for the file's pages (helpers/browser.ts).
afterAll(closeSharedChromium);

describe.skipIf(!have)("report.html and compare.html in Chromium", () => {
  let browser: Browser;
  const via = path.join(work, "via-letters");
  const dilemmas = path.join(work, "dilemmas");
  const cmp = path.join(work, "cmp");
  // compared with the VIA fixture: its questions on a stand-in model, or (without git to build
  // one) the fixture's first shard, on the questions they share
  const other = hasGit ? path.join(work, "via-standin") : path.join(work, "via-letters-shard1-of-2");

  beforeAll(async () => {
    copyFixture("via-letters");
    copyFixture("dilemmas");
    copyFixture("via-letters-shard1-of-2");
    report(via);
    report(dilemmas);
    if (hasGit) {
      // the fixture's questions on another model (a stand-in with a real vocabulary), to compare
      const s = valuelens([
        "run",
        "--model",
        "standin:llama3",
        ...SAME_QUESTIONS,
        "--out",
        other,
        "--progress",
        "quiet",
      ]);
      expect(s.code).toBe(0);
    }
    const c = valuelens(["compare", via, other, ...(hasGit ? [] : ["--allow-partial"]), "--out", cmp]);
    expect(c.code).toBe(0);
    browser = await sharedChromium();
  }, 300_000);

  it("VIA: numbers, figures, filters, a misaligned cell side by side, prompt and repeats", async () => {
    const { run, metrics, tables, figures } = expected(via);
    const { page, log, url } = await openFile(browser, path.join(via, "report.html"));
    expect(await expectTables(page, tables)).toBeGreaterThan(50);
    const numbers = await shownNumbers(page);
    expect(numbers.has(metrics.alignmentRate.overall)).toBe(true);
    for (const f1 of Object.values(metrics.alignmentRate.byCountry)) expect(numbers.has(f1 as number)).toBe(true);
    await expectFigures(page, figures);
    await expectScreenshot(browser, page, "report-via");

    const records = run.records as unknown as { id: string; task: string; country: string; value: string }[];
    const all = questionsWhere(records, () => true);
    expect(Number(await page.getAttribute("#vl-count", "data-count"))).toBe(all);
    const stated = await filterBy(page, "task", "stated");
    expect(stated.count).toBe(questionsWhere(records, (r) => r.task === "stated"));
    expect(stated.rows).toBe(Math.min(stated.count, 50));
    const nigeria = await filterBy(page, "country", "Nigeria");
    expect(nigeria.count).toBe(questionsWhere(records, (r) => r.task === "stated" && r.country === "Nigeria"));
    await filterBy(page, "task", null);
    await filterBy(page, "country", null);
    const mis = await filterBy(page, "verdict", "misaligned");
    expect(mis.count).toBeGreaterThan(0);
    expect(mis.count).toBeLessThan(all);
    // the misaligned action question: its action text and explanation side by side
    await filterBy(page, "task", "action");
    await page.click("tr.vl-row >> nth=0");
    const details = page.locator(".details");
    await expect.poll(() => details.count()).toBe(1);
    const side = await details.locator(".side > div h4").allTextContents();
    expect(side[0]).toMatch(/^Action taken/);
    expect(side[1]).toMatch(/explanation/);
    const texts = await details.locator(".side > div p").allTextContents();
    expect(texts[1]).not.toMatch(/^\(no explanation/);
    expect(await details.locator(".turn.user pre").textContent()).toMatch(/Option|A\./);
    expect(await details.locator("table.repeats tbody > tr").count()).toBe(run.manifest.config.repeats);
    expect(await details.locator("ol.options li").count()).toBe(2 * run.manifest.config.repeats);
    await page.evaluate(() => document.getElementById("browser")?.scrollIntoView());
    await expectScreenshot(browser, page, "report-via-questions");
    // the search box
    await page.fill("input[data-search]", "no-such-question");
    expect(await page.getAttribute("#vl-count", "data-count")).toBe("0");
    expectQuiet(log, url);
    await page.context().close();
  });

  it("dilemmas: numbers, figures, persona filters, a stated question's prompt and letter probabilities", async () => {
    const { run, metrics, tables, figures } = expected(dilemmas);
    const { page, log, url } = await openFile(browser, path.join(dilemmas, "report.html"));
    expect(await expectTables(page, tables)).toBeGreaterThan(20);
    const numbers = await shownNumbers(page);
    expect(numbers.has(metrics.overall.alignmentRate.estimate)).toBe(true);
    expect(numbers.has(metrics.overall.alignmentDistance.estimate)).toBe(true);
    await expectFigures(page, figures);
    await expectScreenshot(browser, page, "report-dilemmas");

    const records = run.records as unknown as { id: string; task: string; persona: { kind: string } }[];
    const kinds = [...new Set(records.map((r) => r.persona.kind))];
    expect(kinds.length).toBeGreaterThan(1);
    for (const kind of kinds) {
      const got = await filterBy(page, "kind", kind);
      expect(got.count).toBe(questionsWhere(records, (r) => r.persona.kind === kind));
    }
    await filterBy(page, "kind", null);
    await filterBy(page, "task", "stated");
    await page.click("tr.vl-row >> nth=0");
    const details = page.locator(".details");
    expect(await details.locator(".turn.user pre").textContent()).toMatch(/agree/i);
    const probs = await details.locator("ol.options .prob").allTextContents();
    expect(probs.length).toBe(6 * run.manifest.config.repeats);
    const sum = probs.slice(0, 6).reduce((a, p) => a + Number(p), 0);
    expect(sum).toBeCloseTo(1, 2);
    expectQuiet(log, url);
    await page.context().close();
  });

  it("compare.html: the comparison's numbers and figures", async () => {
    const c = compareDirs([via, other], { allowPartial: !hasGit });
    const { page, log, url } = await openFile(browser, path.join(cmp, "compare.html"));
    expect(
      await expectTables(page, [c.headline, ...c.tables.filter((t) => t.name !== c.headline.name)]),
    ).toBeGreaterThan(10);
    const json = JSON.parse(readFileSync(path.join(cmp, "compare.json"), "utf8"));
    expect(json.questions.shared).toBe(c.result.questions.shared);
    await expectFigures(
      page,
      (c.figures ?? []).map((f) => f.name),
    );
    await expectScreenshot(browser, page, "compare");
    expectQuiet(log, url);
    await page.context().close();
  });

  it("VIA paper protocol: each question's raw answer and what its parse read", async () => {
    const paper = copyFixture("via-paper");
    report(paper);
    const { run, tables } = expected(paper);
    const { page, log, url } = await openFile(browser, path.join(paper, "report.html"));
    await expectTables(page, tables);
    await page.click("tr.vl-row >> nth=0");
    const details = page.locator(".details");
    const first = run.records[0]!;
    expect(await details.locator("pre.raw").first().textContent()).toBe(first.generation!.raw);
    expect(await details.locator("p.parse").first().textContent()).toMatch(/^parse: /);
    expect(await details.locator(".turn.user pre").textContent()).toMatch(/Nigeria/);
    expectQuiet(log, url);
    await page.context().close();
  });

  it("valuelens view --serve serves the run directory on a loopback port until stopped", async () => {
    const child = valuelensSpawn(["view", via, "--serve"]);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/report\.html)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", () => reject(new Error(`view --serve exited: ${out}`)));
    });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toBe(readFileSync(path.join(via, "report.html"), "utf8"));
    expect((await fetch(url.replace("report.html", "metrics.json"))).status).toBe(200);
    expect((await fetch(url.replace("report.html", "%2e%2e/%2e%2e/etc/passwd"))).status).toBe(404);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });

  it("valuelens view prints report.html's path, and writes it again when it is missing", () => {
    const copy = path.join(work, "view");
    cpSync(via, copy, { recursive: true });
    rmSync(path.join(copy, "report.html"));
    const r = valuelens(["view", copy]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(copy, "report.html"));
    expect(readFileSync(path.join(copy, "report.html"), "utf8")).toBe(
      readFileSync(path.join(via, "report.html"), "utf8"),
    );
    const cmpView = valuelens(["view", cmp]);
    expect(cmpView.stdout.trim()).toBe(path.join(cmp, "compare.html"));
  });
});

describe.skipIf(!have || !hasGit)("report.html of a prediction run in Chromium", () => {
  let browser: Browser;
  const labels = path.join(work, "labels");
  const predict = path.join(work, "predict");

  beforeAll(async () => {
    const quiet = ["--progress", "quiet"];
    const v = await tinyLabelsRun(labels, quiet);
    expect(v.code).toBe(0);
    const p = valuelens([
      "run",
      "--suite",
      "predict",
      "--labels",
      labels,
      "--train",
      "2",
      "--test",
      "3",
      "--seed",
      "5",
      "--model",
      "standin:llama3",
      "--out",
      predict,
      ...quiet,
    ]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    browser = await sharedChromium();
  }, 600_000);

  it("numbers, filters by mode, and the few-shot conversation of a question", async () => {
    const { run, metrics, tables, figures } = expected(predict);
    const { page, log, url } = await openFile(browser, path.join(predict, "report.html"));
    expect(await expectTables(page, tables)).toBeGreaterThan(20);
    const numbers = await shownNumbers(page);
    expect(numbers.has(metrics.byMode.default.f1)).toBe(true);
    await expectFigures(page, figures);
    const records = run.records as unknown as { id: string; mode: string }[];
    for (const mode of ["default", "attribution"]) {
      const got = await filterBy(page, "mode", mode);
      expect(got.count).toBe(questionsWhere(records, (r) => r.mode === mode));
    }
    await page.click("tr.vl-row >> nth=0");
    const details = page.locator(".details");
    expect(await details.locator(".turn.system").count()).toBe(1);
    expect(await details.locator(".turn.user").count()).toBeGreaterThan(1);
    expect(await details.locator(".turn.assistant pre").last().textContent()).toBe("Label: ");
    expectQuiet(log, url);
    await page.context().close();
  });
});
