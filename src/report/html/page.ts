/**
 * The page shell of report.html and compare.html: one self-contained file, CSS and script
 * inline, no request leaves it (a Content-Security-Policy that allows nothing else says so to
 * the browser), so it opens from file:// and works offline.
 */
import { gzipSync } from "node:zlib";
import { esc } from "./escape.js";
import { BROWSER_SCRIPT } from "./client.js";
import type { EncodedBrowser } from "./browser.js";

export interface PageSection {
  id: string;
  title: string;
  /** the section's HTML */
  html: string;
}

export interface Page {
  title: string;
  /** a line under the title (model, suite, status) */
  subtitle?: string;
  /** the summary as label/value pairs */
  summary: readonly [string, string][];
  sections: readonly PageSection[];
  /** the question browser's data (absent: no browser) */
  browser?: EncodedBrowser;
}

const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'";

const CSS = `
:root { --fg: #1d2329; --muted: #5c6670; --line: #d8dde2; --bg: #ffffff; --soft: #f4f6f8; --accent: #1f6f5c; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 18px 28px 10px; border-bottom: 1px solid var(--line); background: var(--soft); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .sub { margin: 0; color: var(--muted); }
nav { margin-top: 8px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
main { padding: 4px 28px 40px; max-width: 1400px; }
section { margin-top: 18px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
h4 { font-size: 13px; margin: 10px 0 4px; color: var(--muted); }
dl.summary { display: grid; grid-template-columns: repeat(3, max-content minmax(0, 1fr)); gap: 2px 14px; margin: 0; font-size: 13px; }
dl.summary dd { overflow-wrap: anywhere; }
@media (max-width: 900px) { dl.summary { grid-template-columns: max-content 1fr; } }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 9px; text-align: left; vertical-align: top; }
table.data th { background: var(--soft); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: var(--muted); text-align: center; }
.figures { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure.figure { margin: 0; width: min-content; min-width: 380px; max-width: 100%; border: 1px solid var(--line); padding: 10px; background: #fff; }
figure.figure .svg { overflow-x: auto; }
figure.figure svg { display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 6px; }
ul.notes li { margin: 3px 0; }
details > summary { cursor: pointer; color: var(--accent); }
pre { white-space: pre-wrap; word-break: break-word; background: var(--soft); padding: 8px; margin: 4px 0; font-size: 12px; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 14px; margin-bottom: 8px; }
.facet { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
.facet select, .facet input { font: inherit; color: var(--fg); padding: 3px; min-width: 150px; }
.count { font-weight: 600; }
tr.vl-row { cursor: pointer; }
tr.vl-row:hover { background: #eef5f2; }
.verdict.misaligned { color: var(--bad); font-weight: 600; }
.verdict.aligned { color: var(--accent); }
.details { padding: 6px 4px 12px; }
.details .qid { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted); margin: 0; }
.side { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
.side > div { border-left: 3px solid var(--accent); padding: 0 10px; background: var(--soft); }
.turn { display: flex; gap: 8px; }
.turn .role { min-width: 70px; font-size: 11px; color: var(--muted); padding-top: 8px; text-transform: uppercase; }
.turn pre { flex: 1; }
ol.options { list-style: none; padding: 0; margin: 0; }
ol.options .prob { font-variant-numeric: tabular-nums; color: var(--muted); margin-left: 6px; }
ol.options .bar { display: inline-block; height: 8px; background: var(--accent); margin-left: 6px; vertical-align: middle; }
.pager button { font: inherit; margin: 8px 4px 0 0; }
.error { color: var(--bad); }
.note { color: var(--muted); }
`;

/**
 * The browser's data as gzip in base64: a full VIA run's 11 MB of JSON becomes about a quarter of
 * that; the page unpacks it with the browser's own DecompressionStream (no request, no library).
 */
export function packData(data: EncodedBrowser): string {
  return gzipSync(Buffer.from(JSON.stringify(data), "utf8"), { level: 9 }).toString("base64");
}

export function renderPage(page: Page): string {
  const nav = page.sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join("");
  const summary = page.summary.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
  const sections = page.sections
    .map((s) => `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>\n${s.html}\n</section>`)
    .join("\n");
  const browser = page.browser
    ? `<script type="application/octet-stream" id="vl-data" data-encoding="gzip+base64">${packData(page.browser)}</script>\n<script>${BROWSER_SCRIPT}</script>\n`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(page.title)}</h1>${page.subtitle ? `<p class="sub">${esc(page.subtitle)}</p>` : ""}<nav>${nav}</nav></header>
<main>
<section id="summary"><dl class="summary">${summary}</dl></section>
${sections}
</main>
${browser}</body>
</html>
`;
}
