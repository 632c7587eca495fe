/**
 * What every suite's compare.md and comparison tables share. Every table is built in two
 * styles: "text" (markdown: an estimate and its interval in one cell, "–" where missing) and
 * "data" (csv/json: one numeric column per figure, intervals as `low` / `high` columns, null
 * where missing).
 */
import type { Interval } from "../metrics/bootstrap.js";
import type { Cell } from "./table.js";

export type TableStyle = "text" | "data";

/** An interval as three data cells: estimate, low, high. */
export function intervalCells(iv: Interval | undefined): Cell[] {
  return [iv?.estimate ?? null, iv?.low ?? null, iv?.high ?? null];
}

/** "95%" for a comparison's bootstrap level. */
export function levelText(r: { bootstrap: { level: number } }): string {
  return `${Math.round(r.bootstrap.level * 100)}%`;
}

/** The "Notes" section of a comparison's markdown (nothing when there are none). */
export function notesSection(notes: readonly string[]): string[] {
  return notes.length > 0 ? ["## Notes", "", ...notes.map((n) => `- ${n}`), ""] : [];
}
