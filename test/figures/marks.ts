// Reading rendered figures back: the items of Vega's SVG marks, and a PDF's pages.

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
