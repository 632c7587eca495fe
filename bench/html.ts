/// <reference lib="dom" />
/**
 * report.html of a full-size VIA run in headless Chromium: how long the page takes to open.
 *
 *   node --import tsx bench/html.ts      -> bench/results/html.json
 *
 * A synthetic dataset in the released CSV's layout (12 countries x 11 topics x 56 values, two
 * actions each, with explanations) and seeded random letter answers for every question of the
 * default letters run (stated and action, 5 repeats: 73,920 records), written as a run
 * directory by the same code as `valuelens report` (metrics.json, report.md, report.html).
 * Chromium (test/helpers/browser.ts) then opens report.html from file:// five times and the
 * bench prints: the page's size, the time to write it, and per load the time to
 * DOMContentLoaded, to the browser ready (data parsed, first rows drawn) and to the load event;
 * then the time to filter by a country and to open a question's details. Target: ready < 3 s.
 */
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeManifest, type Manifest } from "../src/records/manifest.js";
import type { RunRecord } from "../src/records/records.js";
import { recordBase } from "../src/runner/answer.js";
import { COUNTRIES, TOPICS, VALUE_NAMES } from "../src/protocol/values.js";
import { writeRunOutputs } from "../src/runs/outputs.js";
import { loadViaSync } from "../src/suites/via/dataset.js";
import { viaSuite } from "../src/suites/via/index.js";
import { haveChromium, launchChromium, watchedPage } from "../test/helpers/browser.js";
import { testConfig } from "../test/helpers/config.js";

const LOADS = 5;
const work = mkdtempSync(path.join(tmpdir(), "vl-bench-html-"));

/** A seeded xorshift in [0, 1). */
function random(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function csvCell(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function syntheticCsv(file: string): void {
  const lines = [",Unnamed: 0,country,topic,value,polarity,generation_prompt"];
  let row = 0;
  for (const country of COUNTRIES)
    for (const topic of TOPICS)
      for (const value of VALUE_NAMES)
        for (const polarity of ["positive", "negative"]) {
          const verb = polarity === "positive" ? "act for" : "act against";
          const generation = JSON.stringify({
            "Human Action": `As someone in ${country}, I ${verb} ${value} in ${topic.toLowerCase()} by doing a concrete, ordinary thing that a person there might do on a weekday.`,
            "Feature Attributions": ["a concrete thing"],
            "Natural Language Explanation": `This shows how the action ${polarity === "positive" ? "expresses" : "resists"} ${value}.`,
          });
          lines.push([row, row, country, topic, value, polarity, csvCell(generation)].join(","));
          row++;
        }
  writeFileSync(file, lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  if (!haveChromium("bench/html")) process.exit(1);
  const csv = path.join(work, "via-full-synthetic.csv");
  syntheticCsv(csv);
  const dataset = loadViaSync(csv);
  const config = testConfig({ repeats: 5, seed: 1, via: csv });
  const questions = viaSuite.questions(config, dataset);
  const rand = random(42);
  const records: RunRecord[] = questions.map((q) => {
    const raw = q.order.map(() => rand() + 0.05);
    const total = raw.reduce((a, b) => a + b, 0);
    const letters = q.letters!;
    const probs = Object.fromEntries(letters.map((l, i) => [l, raw[i]! / total]));
    const optionProbs = Object.fromEntries(q.order.map((k, i) => [k, raw[i]! / total]));
    const mass = 0.2 + 0.7 * rand();
    return {
      ...recordBase(q, "0".repeat(64)),
      letters: { probs, mass, spellings: {}, top: { text: "A", p: mass }, method: "bench" },
      optionProbs,
      score: viaSuite.letterScore(q, optionProbs, mass),
      meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
    } as RunRecord;
  });
  const dir = path.join(work, "run");
  mkdirSync(dir);
  const manifest: Manifest = {
    tool: { name: "valuelens", version: "bench" },
    status: "complete",
    imported: false,
    config,
    configDigest: "bench",
    dataset: { path: csv, sha256: dataset.sha256, rows: dataset.rows, usableActions: dataset.actions.length },
    backend: {
      engine: "synthetic",
      model: { name: "synthetic", sha256: "0".repeat(64) },
      modelSha256: "0".repeat(64),
    },
    questions: { total: records.length, byTask: { stated: records.length / 2, action: records.length / 2 } },
    notes: ["Synthetic answers (bench/html.ts): seeded random letter probabilities."],
    versions: {},
    hardware: {},
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
  } as unknown as Manifest;
  writeManifest(dir, manifest);
  const t0 = performance.now();
  await writeRunOutputs(dir, manifest, records, { bootstrap: 100 });
  const writeMs = performance.now() - t0;
  const file = path.join(dir, "report.html");
  const bytes = statSync(file).size;
  console.log(
    `${records.length} records; report.html ${(bytes / 1e6).toFixed(1)} MB, written in ${(writeMs / 1000).toFixed(1)} s (metrics, report.md, figures, page)`,
  );

  const browser = await launchChromium();
  const loads: { domContentLoadedMs: number; readyMs: number; loadMs: number }[] = [];
  let filterMs = 0;
  let detailsMs = 0;
  let errors: string[] = [];
  try {
    for (let i = 0; i < LOADS; i++) {
      const { page, log } = await watchedPage(browser);
      const start = Date.now();
      await page.goto(`file://${file}`, { waitUntil: "load" });
      await page.waitForSelector("[data-browser-ready]");
      const wall = Date.now() - start;
      const t = await page.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        return { dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, ready: performance.now() };
      });
      loads.push({
        domContentLoadedMs: Math.round(t.dcl),
        readyMs: Math.round(Math.min(t.ready, wall)),
        loadMs: Math.round(t.load),
      });
      if (i === LOADS - 1) {
        const country = await page.$eval(
          'select[data-facet="country"] option:nth-child(3)',
          (o) => (o as HTMLOptionElement).value,
        );
        const before = await page.getAttribute("#vl-count", "data-count");
        const f0 = Date.now();
        await page.selectOption('select[data-facet="country"]', country);
        await page.waitForFunction(
          (n) => document.getElementById("vl-count")?.getAttribute("data-count") !== n,
          before,
        );
        filterMs = Date.now() - f0;
        const d0 = Date.now();
        await page.click("tr.vl-row >> nth=0");
        await page.waitForSelector(".details");
        detailsMs = Date.now() - d0;
      }
      errors = errors.concat(log.errors);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const result = {
    records: records.length,
    questions: records.length / 5,
    pageBytes: bytes,
    writeSeconds: Number((writeMs / 1000).toFixed(2)),
    loads,
    medianReadyMs: median(loads.map((l) => l.readyMs)),
    filterByCountryMs: filterMs,
    openDetailsMs: detailsMs,
    consoleErrors: errors,
    target: "browser ready < 3000 ms",
    chromium: browser.version(),
    at: new Date().toISOString(),
  };
  for (const [i, l] of loads.entries())
    console.log(
      `load ${i + 1}: DOMContentLoaded ${l.domContentLoadedMs} ms, browser ready ${l.readyMs} ms, load event ${l.loadMs} ms`,
    );
  console.log(
    `median ready ${result.medianReadyMs} ms (target < 3000 ms); filter by a country ${filterMs} ms; open a question ${detailsMs} ms; console errors: ${errors.length}`,
  );
  writeFileSync(path.join(import.meta.dirname, "results", "html.json"), JSON.stringify(result, null, 2) + "\n");
}

await main();
