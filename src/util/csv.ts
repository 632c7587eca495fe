/**
 * Reading a CSV (the VIA dataset, the released outputs) with the line number of every data row, so that a malformed row
 * is reported as `file: line N, field "x": ...`.
 */
import { CsvError, parse } from "csv-parse/sync";
import { checkText } from "./text.js";
import { UserError } from "./errors.js";

export interface CsvRow {
  /** 0-based position among the data rows (header excluded). */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  fields: string[];
}

export interface CsvTable {
  /** Header cells, trimmed. */
  header: string[];
  rows: CsvRow[];
}

/** Parse a whole CSV; the first record is the header. Throws a one-line UserError for broken quoting. */
export function readCsv(file: string, bytes: Buffer): CsvTable {
  checkText(file, bytes);
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    records = parse(bytes, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as typeof records;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as unknown as { lines?: number }).lines;
      throw new UserError(
        `${file}: line ${line ?? "?"}: not valid CSV (${err.message.replace(/\s+/g, " ")}); check the quoting of that row`,
      );
    }
    throw err;
  }
  if (records.length === 0) throw new UserError(`${file}: the file is empty; expected a header line and data rows`);
  const header = records[0]!.record.map((h) => h.trim());
  const rows: CsvRow[] = [];
  let prevEnd = records[0]!.info.lines;
  let prevEmpty = records[0]!.info.empty_lines;
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r]!;
    // A record starts on the line after the previous one ended, past any skipped empty lines.
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
    rows.push({ row: r - 1, line, fields: record });
  }
  return { header, rows };
}

/** Column positions of the named columns; `required` ones must be in the header. */
export function columnIndex<K extends string>(
  table: CsvTable,
  file: string,
  required: readonly K[],
  expected: string,
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const name of required) {
    const i = table.header.indexOf(name);
    if (i < 0) throw new UserError(`${file}: line 1: the header lacks the column "${name}"; expected ${expected}`);
    out[name] = i;
  }
  return out;
}

/** A row's field, or a one-line error when the row is short (broken quoting, cut file). */
export function field(file: string, table: CsvTable, row: CsvRow, col: number): string {
  const v = row.fields[col];
  if (v === undefined) {
    throw new UserError(
      `${file}: line ${row.line}, field "${table.header[col] ?? col}": missing (the row has ${row.fields.length} of ${table.header.length} columns); fix the row's quoting or remove the row`,
    );
  }
  return v;
}
