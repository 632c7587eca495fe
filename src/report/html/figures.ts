/**
 * Figures (src/report/figure.ts) as inline SVG drawn when the page is written, each with its
 * title and caption: the page needs no Vega at all.
 */
import { type Figure, renderFigureSvg } from "../figure.js";
import { esc } from "./escape.js";

/** Makes the ids inside one figure's SVG unique on the page (clip paths, gradients). */
function scopeIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/**
 * Figures sized for a paper column (narrower than SMALL_WIDTH px) are drawn SCREEN_SCALE times
 * larger on screen; the viewBox keeps them sharp. Wider ones (heatmaps) keep their size.
 */
export const SCREEN_SCALE = 1.5;
const SMALL_WIDTH = 400;

function enlarge(svg: string): string {
  return svg.replace(/^<svg\b[^>]*>/, (open) => {
    const width = Number(/\bwidth="([\d.]+)"/.exec(open)?.[1] ?? Number.NaN);
    if (!open.includes("viewBox=") || !(width < SMALL_WIDTH)) return open;
    return open.replace(
      /\b(width|height)="([\d.]+)"/g,
      (_m, attr: string, v: string) => `${attr}="${Math.round(Number(v) * SCREEN_SCALE)}"`,
    );
  });
}

/** One `<figure>` per figure: the SVG, then the title and caption. */
export async function figuresHtml(figures: readonly Figure[]): Promise<string> {
  const parts: string[] = [];
  for (const [i, f] of figures.entries()) {
    let body: string;
    try {
      const svg = (await renderFigureSvg(f)).replace(/^<\?xml[^>]*>\s*/, "");
      body = enlarge(scopeIds(svg, `f${i}`));
    } catch (err) {
      body = `<p class="error">This figure could not be drawn: ${esc(err instanceof Error ? err.message : String(err))}</p>`;
    }
    parts.push(
      `<figure class="figure" id="figure-${esc(f.name)}" data-figure="${esc(f.name)}"><div class="svg">${body}</div><figcaption><b>${esc(f.title)}.</b> ${esc(f.caption)}</figcaption></figure>`,
    );
  }
  return parts.join("\n");
}
