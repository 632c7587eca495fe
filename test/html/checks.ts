/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// What every page test checks in Chromium (test/html/*.test.ts): no console errors, no request
// but the file itself, the numbers of its tables equal the tables computed from metrics.json
// (or the comparison), every figure drawn with marks, and a screenshot that is not blank.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { expect } from "vitest";
import type { Table } from "../../src/report/table.js";
import { type PageLog, watchedPage } from "../helpers/browser.js";
import { PROJECT_ROOT } from "../helpers/models.js";

/** Opens an HTML file from file:// and waits for its script; returns the page and its log. */
export async function openFile(browser: Browser, file: string): Promise<{ page: Page; log: PageLog; url: string }> {
  const { page, log } = await watchedPage(browser);
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: "load" });
  if (await page.$("#vl-browser")) await page.waitForSelector("[data-browser-ready]");
  return { page, log, url };
}

/** Nothing went wrong on the page and nothing left it. */
export function expectQuiet(log: PageLog, url: string): void {
  expect(log.errors).toEqual([]);
  expect(log.requests).toEqual([url]);
}

/** Every number of every table on the page equals the table's own value (shown rounded to 3 decimals). */
export async function expectTables(page: Page, tables: readonly Table[]): Promise<number> {
  const shown = await page.$$eval("table[data-table]", (els) =>
    els.map((t) => ({
      name: t.getAttribute("data-table")!,
      rows: [...t.querySelectorAll("tbody tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => ({ value: td.getAttribute("data-value"), text: td.textContent })),
      ),
    })),
  );
  let numbers = 0;
  for (const t of tables) {
    const s = shown.find((x) => x.name === t.name);
    expect(s, `table ${t.name} on the page`).toBeDefined();
    expect(s!.rows.length).toBe(t.rows.length);
    t.rows.forEach((row, i) =>
      row.forEach((cell, j) => {
        const got = s!.rows[i]![j]!;
        if (typeof cell === "number") {
          expect(Number(got.value)).toBe(cell);
          expect(got.text).toBe(Number.isInteger(cell) ? String(cell) : cell.toFixed(3));
          numbers++;
        } else if (cell === null) expect(got.text).toBe("–");
        else expect(got.text).toBe(cell);
      }),
    );
  }
  return numbers;
}

/** The exact values of every number shown in the page's tables. */
export async function shownNumbers(page: Page): Promise<Set<number>> {
  const values = await page.$$eval("td[data-value]", (els) => els.map((e) => e.getAttribute("data-value")!));
  return new Set(values.map(Number));
}

/** Every figure is an SVG with a size and marks; returns the figure names in page order. */
export async function expectFigures(page: Page, names: readonly string[]): Promise<void> {
  const figures = await page.$$eval("figure[data-figure]", (els) =>
    els.map((f) => {
      const svg = f.querySelector("svg");
      const box = svg?.getBoundingClientRect();
      return {
        name: f.getAttribute("data-figure"),
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks: svg
          ? svg.querySelectorAll(
              'g[class*="mark-"] > path, g[class*="mark-"] > text, g[class*="mark-"] > line, g[class*="mark-"] > rect, g[class*="mark-"] > g',
            ).length
          : 0,
        caption: f.querySelector("figcaption")?.textContent ?? "",
        error: f.querySelector(".error") !== null,
      };
    }),
  );
  expect(figures.map((f) => f.name)).toEqual(names);
  for (const f of figures) {
    expect(f.error, `figure ${f.name} drawn`).toBe(false);
    expect(f.width, `figure ${f.name} width`).toBeGreaterThan(50);
    expect(f.height, `figure ${f.name} height`).toBeGreaterThan(30);
    expect(f.marks, `figure ${f.name} marks`).toBeGreaterThan(0);
    expect(f.caption.length).toBeGreaterThan(10);
  }
}

/**
 * A screenshot of the page (the first screen), checked not blank: its pixels, decoded by the
 * browser itself on a blank page, hold more than a few colours. With VALUELENS_SCREENSHOTS set
 * (npm run screenshots) it is also written to docs/img/<name>.png for the README.
 */
export async function expectScreenshot(browser: Browser, page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ type: "png" });
  const blank = await browser.newPage();
  try {
    const colours = await blank.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length && seen.size < 1000; i += 4 * 7)
        seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      return seen.size;
    }, png.toString("base64"));
    expect(colours, `${name}: distinct colours in the screenshot`).toBeGreaterThan(20);
  } finally {
    await blank.close();
  }
  if (process.env.VALUELENS_SCREENSHOTS) {
    const file = path.join(PROJECT_ROOT, "docs", "img", `${name}.png`);
    writeFileSync(file, png);
    expect(png.length, `${file} under 300 KB`).toBeLessThan(300_000);
  }
}

/** Chooses a facet's value in the browser; returns the count the page then shows and the rows drawn. */
export async function filterBy(
  page: Page,
  facet: string,
  value: string | null,
): Promise<{ count: number; rows: number }> {
  const select = `select[data-facet="${facet}"]`;
  if (value === null) await page.selectOption(select, "-1");
  else {
    const option = await page.$$eval(
      `${select} option`,
      (opts, v) => opts.find((o) => o.textContent!.replace(/ \(\d+\)$/, "") === v)?.getAttribute("value"),
      value,
    );
    expect(option, `${facet} ${value} among the filter's values`).toBeDefined();
    await page.selectOption(select, option!);
  }
  const count = Number(await page.getAttribute("#vl-count", "data-count"));
  const rows = await page.locator("tr.vl-row").count();
  return { count, rows };
}
