/** A report table (src/report/table.ts) as an HTML table; numbers keep their exact value in data-value. */
import type { Cell, Table } from "../table.js";
import { esc } from "./escape.js";

/** Decimals shown for a number that is not an integer. */
export const HTML_DIGITS = 3;

function cell(c: Cell): string {
  if (c === null) return '<td class="na">–</td>';
  if (typeof c === "number") {
    const shown = Number.isInteger(c) ? String(c) : Number.isFinite(c) ? c.toFixed(HTML_DIGITS) : String(c);
    return `<td class="num" data-value="${esc(String(c))}">${esc(shown)}</td>`;
  }
  return `<td>${esc(c)}</td>`;
}

export function tableHtml(t: Table): string {
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = t.rows.map((r) => `<tr>${t.columns.map((_, i) => cell(r[i] ?? null)).join("")}</tr>`).join("\n");
  return `<div class="table" id="table-${esc(t.name)}"><h3>${esc(t.title)}</h3><div class="scroll"><table class="data" data-table="${esc(t.name)}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div></div>`;
}
