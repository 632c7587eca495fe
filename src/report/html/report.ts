/**
 * report.html of a run and compare.html of a comparison: the headline table (the first of
 * report.md's tables), the figures as inline SVG with their captions, the other tables
 * (`Suite.tables`, exact values in data-value), for a run the question browser, the notes and
 * report.md itself (folded).
 */
import type { Manifest } from "../../records/manifest.js";
import type { Figure } from "../figure.js";
import type { Table } from "../table.js";
import { type BrowserData, encodeBrowser } from "./browser.js";
import { esc } from "./escape.js";
import { figuresHtml } from "./figures.js";
import { type PageSection, renderPage } from "./page.js";
import { tableHtml } from "./tables.js";

export interface RunPageInput {
  manifest: Manifest;
  /** the suite's name ("via", "dilemmas", ...) */
  suite: string;
  tables: readonly Table[];
  figures: readonly Figure[];
  /** the run's notes (the manifest's and how the records were read) */
  notes: readonly string[];
  /** report.md as written */
  markdown: string;
  /** records held */
  recorded: number;
  browser?: BrowserData;
}

function tablesSection(tables: readonly Table[]): PageSection {
  return { id: "tables", title: "Tables", html: tables.map(tableHtml).join("\n") };
}

async function figuresSection(figures: readonly Figure[]): Promise<PageSection> {
  return { id: "figures", title: "Figures", html: `<div class="figures">${await figuresHtml(figures)}</div>` };
}

function notesSection(notes: readonly string[]): PageSection {
  return {
    id: "notes",
    title: "Notes",
    html: `<ul class="notes">${notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`,
  };
}

function markdownSection(name: string, markdown: string): PageSection {
  return {
    id: "markdown",
    title: name,
    html: `<details><summary>${esc(name)} as written beside this page</summary><pre>${esc(markdown)}</pre></details>`,
  };
}

/** The model's name as a run names it. */
export function modelNameOf(manifest: Manifest): string {
  return manifest.backend.model.name || manifest.config.model;
}

export async function runPageHtml(input: RunPageInput): Promise<string> {
  const m = input.manifest;
  const model = modelNameOf(m);
  const partial = m.status !== "complete" || input.recorded < m.questions.total;
  const sections: PageSection[] = [];
  const [headline, ...rest] = input.tables;
  if (headline) sections.push({ id: "headline", title: "Headline", html: tableHtml(headline) });
  if (input.figures.length) sections.push(await figuresSection(input.figures));
  if (rest.length) sections.push(tablesSection(rest));
  if (input.browser) sections.push({ id: "browser", title: "Questions", html: '<div id="vl-browser"></div>' });
  if (input.notes.length) sections.push(notesSection(input.notes));
  sections.push(markdownSection("report.md", input.markdown));
  return renderPage({
    title: `${model}: ${input.suite} run${partial ? " (partial)" : ""}`,
    subtitle: `valuelens ${m.tool.version} · protocol ${m.config.protocol} · ${m.status}`,
    summary: [
      ["model", model],
      ["suite", input.suite],
      ["protocol", m.config.protocol],
      ["status", m.status],
      ["questions recorded", `${input.recorded} of ${m.questions.total}`],
      ["repeats", String(m.config.repeats)],
      ["seed", String(m.config.seed)],
      ["engine", m.backend.engine],
      ["model sha256", m.backend.modelSha256.slice(0, 16)],
      ["dataset", `${m.dataset.path} (sha256 ${m.dataset.sha256.slice(0, 12)})`],
      ["started", m.startedAt],
      ["finished", m.finishedAt ?? "–"],
    ],
    sections,
    ...(input.browser ? { browser: encodeBrowser(input.browser) } : {}),
  });
}

export interface ComparePageInput {
  /** the runs compared: label and directory */
  runs: readonly { label: string; dir: string; protocol: string }[];
  headline: Table;
  tables: readonly Table[];
  figures: readonly Figure[];
  markdown: string;
  partial: boolean;
  shared: number;
}

export async function comparePageHtml(input: ComparePageInput): Promise<string> {
  const sections: PageSection[] = [];
  sections.push({ id: "headline", title: "Headline", html: tableHtml(input.headline) });
  const rest = input.tables.filter((t) => t.name !== input.headline.name);
  if (input.figures.length) sections.push(await figuresSection(input.figures));
  if (rest.length) sections.push(tablesSection(rest));
  sections.push(markdownSection("compare.md", input.markdown));
  return renderPage({
    title: `Comparison of ${input.runs.length} runs`,
    subtitle: input.runs.map((r) => r.label).join(" · "),
    summary: [
      ...input.runs.map((r, i): [string, string] => [`run ${i + 1}`, `${r.label} (${r.dir}, protocol ${r.protocol})`]),
      [
        "shared questions",
        `${input.shared}${input.partial ? " (partial comparison: only the questions all runs share)" : ""}`,
      ],
    ],
    sections,
  });
}
