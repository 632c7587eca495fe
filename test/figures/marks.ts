// Reading rendered figures back: the items of Vega's SVG marks, and a PDF's pages.
import { inflateSync } from "node:zlib";

/**
 * Items Vega drew for marks of `type` ("rect", "symbol", "rule", "text", ...): Vega writes each
 * mark as `<g class="mark-<type> role-mark ...">` holding one element per item (and no group).
 */
export function markItems(svg: string, type: string): number {
  let n = 0;
  const re = new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, "gs");
  for (const m of svg.matchAll(re)) n += (m[1]!.match(/<(path|line|text|rect|circle)\b/g) ?? []).length;
  return n;
}

/** A PDF's page count (the page tree's /Count) and first /MediaBox. */
export function pdfPages(pdf: Buffer): { pages: number; mediaBox: number[] } {
  const text = pdf.toString("latin1");
  const count = /\/Type \/Pages\s*\/Count (\d+)/.exec(text) ?? /\/Count (\d+)/.exec(text);
  const box = /\/MediaBox \[([^\]]+)\]/.exec(text);
  return {
    pages: count ? Number(count[1]) : 0,
    mediaBox: box ? box[1]!.trim().split(/\s+/).map(Number) : [],
  };
}

/** Text objects (BT ... ET) drawn in a PDF's content streams (PDFKit deflates them). */
export function pdfTextObjects(pdf: Buffer): number {
  const text = pdf.toString("latin1");
  let n = 0;
  for (const m of text.matchAll(/stream\r?\n/g)) {
    const start = m.index + m[0].length;
    const end = text.indexOf("endstream", start);
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString("latin1");
    } catch {
      continue; // not a deflated stream (e.g. a font program)
    }
    n += (content.match(/\bBT\b/g) ?? []).length;
  }
  return n;
}
