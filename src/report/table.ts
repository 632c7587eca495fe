/**
 * A table as data, rendered as markdown (report.md, compare.md), CSV or JSON (--format), so
 * the numbers go straight into pandas or R.
 */
import path from "node:path";
import { ensureDir, writeFileAtomic } from "../util/durableFiles.js";
export type Cell = string | number | null;

export interface Table {
  /** File-name-safe identifier, e.g. "alignment-rate-by-country". */
  name: string;
  title: string;
  columns: string[];
  rows: Cell[][];
}

export type TableFormat = "md" | "csv" | "json";

export function renderTable(table: Table, format: TableFormat, digits = 2): string {
  if (format === "json") {
    return (
      JSON.stringify(
        table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i] ?? null]))),
        null,
        2,
      ) + "\n"
    );
  }
  if (format === "csv") {
    const esc = (c: Cell) => {
      if (c === null) return "";
      const s = typeof c === "number" ? String(c) : c;
      return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    return [table.columns, ...table.rows].map((r) => r.map(esc).join(",")).join("\n") + "\n";
  }
  const md = (c: Cell) =>
    c === null
      ? "–"
      : typeof c === "number"
        ? Number.isInteger(c)
          ? String(c)
          : c.toFixed(digits)
        : c.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const lines = [`| ${table.columns.join(" | ")} |`, `| ${table.columns.map(() => "---").join(" | ")} |`];
  for (const r of table.rows) lines.push(`| ${r.map(md).join(" | ")} |`);
  return lines.join("\n") + "\n";
}

/** Write each table as `<dir>/tables/<name>.<format>`; returns the paths written. */
export function writeReportTables(dir: string, tables: readonly Table[], format: "csv" | "json"): string[] {
  const tablesDir = path.join(dir, "tables");
  ensureDir(tablesDir);
  return tables.map((t) => {
    const file = path.join(tablesDir, `${t.name}.${format}`);
    writeFileAtomic(file, renderTable(t, format));
    return file;
  });
}
