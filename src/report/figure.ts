/**
 * A figure of a run or a comparison: a complete Vega-Lite spec (data inline, no URLs) with its
 * title and caption. Suites make them (src/suites/<name>/figures.ts, `Suite.figures`); the
 * run's outputs write the report.md ones as `charts/<name>.svg` (as before figures existed),
 * `report --figures svg,pdf` writes every one under `figures/` for a paper, and the HTML pages
 * embed them as inline SVG.
 *
 * Rendering is deterministic: the same figure gives the same SVG and PDF bytes. Vega, PDFKit and
 * svg-to-pdfkit are loaded only when a figure is drawn, so commands that draw none start fast.
 */
import path from "node:path";
import { InvalidArgumentError } from "commander";
import { ensureDir, writeFileAtomic } from "../util/durableFiles.js";
import { type Heatmap, heatmapSpec, renumberIds } from "./charts.js";

export interface Figure {
  /** File name without extension, kebab-case (unique within a run's figures). */
  name: string;
  title: string;
  /** What the figure shows and what was resampled for its intervals. */
  caption: string;
  /** A complete Vega-Lite v6 spec, data inline, no URLs. */
  spec: Record<string, unknown>;
  /** Drawn in report.md's "## Figures" section and written as `charts/<name>.svg` (the heatmaps of before). */
  markdown?: true;
}

/** The formats `--figures` writes under `<dir>/figures/`. */
export type FigureFormat = "svg" | "pdf";
export const FIGURE_FORMATS: readonly FigureFormat[] = ["svg", "pdf"];

/** Widths of a paper's column and page in points (a figure's plot width is set from these). */
export const COLUMN_WIDTH = 240;
export const PAGE_WIDTH = 500;

/** A heatmap as a figure: the spec `charts/<name>.svg` has always been drawn from, in report.md. */
export function heatmapFigure(h: Heatmap, caption: string): Figure {
  return { name: h.name, title: h.title, caption, spec: heatmapSpec(h), markdown: true };
}

/** The bootstrap sentence of a caption: settings, and what was resampled. */
export function bootstrapSentence(
  b: { samples: number; seed: number; level: number } | undefined,
  resampled: string | undefined,
): string {
  if (!b || b.samples === 0) return "No intervals: the bootstrap was off (--bootstrap 0).";
  const level = Math.round(b.level * 100);
  return `${level}% percentile bootstrap intervals (${b.samples} resamples, seed ${b.seed})${resampled ? `; resampled: ${resampled}` : ""}.`;
}

/** Commander's parser of `--figures svg,pdf` (a one-line error for an unknown format). */
export function figuresOption(text: string): FigureFormat[] {
  const parsed = parseFigureFormats(text);
  if (typeof parsed === "string") throw new InvalidArgumentError(parsed);
  return parsed;
}

/** Parses `--figures svg,pdf`: the formats in canonical order, or one line saying what is wrong. */
export function parseFigureFormats(text: string): FigureFormat[] | string {
  const parts = text
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
  const bad = parts.filter((p) => !(FIGURE_FORMATS as readonly string[]).includes(p));
  if (bad.length > 0 || parts.length === 0) return `--figures takes svg, pdf or svg,pdf (got "${text}")`;
  return FIGURE_FORMATS.filter((f) => parts.includes(f));
}

/** The figure as an SVG document (deterministic for the same figure). */
export function renderFigureSvg(f: Figure): Promise<string> {
  // One drawing per figure object: report.md's charts/, figures/ and report.html share it.
  let svg = drawn.get(f);
  if (svg === undefined) {
    svg = drawFigureSvg(f);
    drawn.set(f, svg);
  }
  return svg;
}

const drawn = new WeakMap<Figure, Promise<string>>();

async function drawFigureSvg(f: Figure): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const compiled = vl.compile(f.spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return renumberIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** The size an SVG document declares (vega writes width and height in pixels, read as points). */
export function svgSize(svg: string): { width: number; height: number } {
  const open = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const num = (attr: string) => Number(new RegExp(`\\b${attr}="([\\d.]+)"`).exec(open)?.[1] ?? Number.NaN);
  const width = num("width");
  const height = num("height");
  if (!(width > 0 && height > 0)) throw new Error("the SVG declares no width and height");
  return { width, height };
}

/**
 * An SVG document as a one-page PDF of its size (1 px = 1 pt), without a browser: PDFKit and
 * svg-to-pdfkit, text in the standard Helvetica fonts. The creation date and document id are
 * fixed, so the same SVG gives the same bytes.
 */
export async function svgToPdf(svg: string, title?: string): Promise<Buffer> {
  const [{ default: PDFDocument }, { default: SVGtoPDF }] = await Promise.all([
    import("pdfkit"),
    import("svg-to-pdfkit"),
  ]);
  const { width, height } = svgSize(svg);
  const doc = new PDFDocument({
    size: [width, height],
    margin: 0,
    compress: true,
    info: {
      Title: title ?? "",
      Producer: "valuelens",
      Creator: "valuelens",
      CreationDate: new Date(0),
      ModDate: new Date(0),
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  SVGtoPDF(doc, svg, 0, 0, { width, height, assumePt: true });
  doc.end();
  return fixPdfId(await done);
}

/** PDFKit derives the trailer's /ID from the time; replace it with a digest of the rest (same length, so offsets hold). */
function fixPdfId(pdf: Buffer): Buffer {
  const text = pdf.toString("latin1");
  const m = /\/ID \[<([0-9a-f]+)> <([0-9a-f]+)>\]/.exec(text);
  if (!m) return pdf;
  const before = text.slice(0, m.index);
  // a stable id: FNV-1a of the content before the trailer, repeated to the id's length
  let h = 0x811c9dc5;
  for (let i = 0; i < before.length; i++) {
    h ^= before.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const id = h
    .toString(16)
    .padStart(8, "0")
    .repeat(Math.ceil(m[1]!.length / 8))
    .slice(0, m[1]!.length);
  const fixed = `${before}/ID [<${id}> <${id}>]${text.slice(m.index + m[0].length)}`;
  return Buffer.from(fixed, "latin1");
}

/** The figure as a PDF (deterministic for the same figure). */
export async function renderFigurePdf(f: Figure): Promise<Buffer> {
  return svgToPdf(await renderFigureSvg(f), f.title);
}

/** Writes the report.md figures as `<dir>/charts/<name>.svg`; returns the paths written. */
export async function writeChartFiles(dir: string, figures: readonly Figure[]): Promise<string[]> {
  const shown = figures.filter((f) => f.markdown);
  if (shown.length === 0) return [];
  const chartsDir = path.join(dir, "charts");
  ensureDir(chartsDir);
  const files: string[] = [];
  for (const f of shown) {
    const file = path.join(chartsDir, `${f.name}.svg`);
    writeFileAtomic(file, await renderFigureSvg(f));
    files.push(file);
  }
  return files;
}

/** Writes every figure as `<dir>/figures/<name>.<format>` for each format, and their captions as `captions.md`; returns the paths written. */
export async function writeFigureFiles(
  dir: string,
  figures: readonly Figure[],
  formats: readonly FigureFormat[],
): Promise<string[]> {
  if (figures.length === 0 || formats.length === 0) return [];
  const out = path.join(dir, "figures");
  ensureDir(out);
  const files: string[] = [];
  for (const f of figures) {
    const svg = await renderFigureSvg(f);
    if (formats.includes("svg")) {
      const file = path.join(out, `${f.name}.svg`);
      writeFileAtomic(file, svg);
      files.push(file);
    }
    if (formats.includes("pdf")) {
      const file = path.join(out, `${f.name}.pdf`);
      writeFileAtomic(file, await svgToPdf(svg, f.title));
      files.push(file);
    }
  }
  const captions = path.join(out, "captions.md");
  writeFileAtomic(captions, figureCaptions(figures));
  files.push(captions);
  return files;
}

/** `figures/captions.md`: each figure's file, title and caption, for a paper's \caption{}. */
export function figureCaptions(figures: readonly Figure[]): string {
  return `# Figures\n\n${figures.map((f) => `## ${f.name}\n\n**${f.title}.** ${f.caption}\n`).join("\n")}`;
}

/** report.md's last section: the markdown figures, as `charts/<name>.svg` images. */
export function figuresSection(figures: readonly Figure[]): string {
  const shown = figures.filter((f) => f.markdown);
  if (shown.length === 0) return "";
  return `\n## Figures\n\n${shown.map((f) => `![${f.title}](charts/${f.name}.svg)`).join("\n\n")}\n`;
}
