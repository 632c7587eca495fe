/**
 * The paper's released output formats (PROTOCOL.md "Released model outputs"), read into
 * valuelens records:
 *
 * - `t1-csv`          Task-1 answers: country, topic, response, prompt_index (an index column and
 *                     timestamp, model, task, duration may be there too). One record per row.
 * - `t2-eval-log`     Task-2 choices, JSON lines `{index, model_choice, prompt_index, ...}`, one per
 *                     VIA row (`index` = 0-based data row of the VIA CSV). One record per pair.
 * - `t2-partial-csv`  Task-2 choices in the VIA layout plus model_choice and prompt_index.
 *                     One record per pair.
 * - `t2-wide-csv`     Task-2 raw answers, one row per (country, topic, value) with option1,
 *                     option2 and evaluation_0..7 (variant i). One record per non-empty answer.
 *
 * A malformed row (unknown country, bad prompt_index, broken JSON line) is a one-line UserError
 * naming the file, line and field. An answer that cannot be parsed, or a pair without exactly one
 * chosen row, is data: its record keeps `parsed.ok = false` and the reason.
 */
import path from "node:path";
import { extractHumanAction, type Polarity, type ViaDataset } from "../dataset.js";
import { actionChoicePolarity, actionVariantReversed, parseActionAnswer, parseStatedAnswer } from "../paper.js";
import { resolveCountry, resolveTopic, resolveValue } from "../../../protocol/values.js";
import { baseId } from "../questions.js";
import type { ImportFile } from "../../../records/manifest.js";
import type { ViaRecord } from "../record.js";
import { isUserError, UserError } from "../../../util/errors.js";
import { digestOf } from "../../../util/hash.js";
import { columnIndex, field, readCsv, type CsvRow, type CsvTable } from "../../../util/csv.js";

/** The formats of the paper's released VIA outputs (`valuelens import official`). */
export type OfficialFormat = Exclude<ImportFile["format"], "explanations-csv">;

export const FORMAT_LABELS: Readonly<Record<OfficialFormat, string>> = {
  "t1-csv": "Task-1 CSV",
  "t2-eval-log": "Task-2 eval log",
  "t2-partial-csv": "Task-2 CSV in the VIA layout",
  "t2-wide-csv": "Task-2 wide CSV",
};

/** Which task a format holds. */
export function formatTask(format: OfficialFormat): "stated" | "action" {
  return format === "t1-csv" ? "stated" : "action";
}

const EXPECTED_T1 = "a Task-1 CSV with the columns country, topic, response, prompt_index";
const EXPECTED_LOG = 'a Task-2 eval log (.jsonl, one {"index", "model_choice", "prompt_index"} object per line)';
const EXPECTED_PARTIAL =
  "a Task-2 CSV in the VIA layout plus model_choice and prompt_index (country, topic, value, polarity, model_choice, prompt_index)";
const EXPECTED_WIDE = "a wide Task-2 CSV (country, topic, value, option1, option2, evaluation_0 ... evaluation_7)";
export const EXPECTED_FORMATS = `${EXPECTED_T1}, ${EXPECTED_LOG}, ${EXPECTED_PARTIAL}, or ${EXPECTED_WIDE}`;

/**
 * How an imported record's `cacheKey` is made: imported answers have no prompt or model digest to
 * key on, so the key names where the answer came from.
 */
export const CACHE_KEY_RULE =
  'sha256 of the canonical JSON {"file": <sha256 of the imported file>, "rows": [<0-based data rows of that file: CSV rows after the header, or JSON lines>], "column": <"evaluation_i", wide layout only>}';

export function importCacheKey(fileSha256: string, rows: number[], column?: string): string {
  return digestOf({ file: fileSha256, rows, ...(column !== undefined ? { column } : {}) });
}

// ---------------------------------------------------------------------------
// Detection

export interface JsonLine {
  /** 0-based position among the file's JSON lines (blank lines skipped). */
  row: number;
  /** 1-based line of the file. */
  line: number;
  obj: Record<string, unknown>;
}

export type OfficialSource =
  | { format: "t1-csv" | "t2-partial-csv" | "t2-wide-csv"; table: CsvTable }
  | { format: "t2-eval-log"; lines: JsonLine[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Read a released file and tell its format from the file extension and the header (or the first JSON line). */
export function readOfficialFile(file: string, bytes: Buffer): OfficialSource {
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "");
  if (first === undefined) throw new UserError(`${file}: the file is empty; expected ${EXPECTED_FORMATS}`);
  const ext = path.extname(file).toLowerCase();
  if (ext === ".jsonl" || ext === ".json" || first.trimStart().startsWith("{")) {
    let obj: unknown;
    try {
      obj = JSON.parse(first);
    } catch {
      throw new UserError(
        `${file}: unrecognized format (the first line is not a JSON object); expected ${EXPECTED_LOG}`,
      );
    }
    if (!isObject(obj) || !("index" in obj) || !("model_choice" in obj)) {
      const keys = isObject(obj) ? Object.keys(obj).join(", ") : typeof obj;
      throw new UserError(
        `${file}: unrecognized format (the first JSON line has ${keys || "no keys"}); expected ${EXPECTED_LOG}`,
      );
    }
    return { format: "t2-eval-log", lines: readJsonLines(file, text) };
  }
  const table = readCsv(file, bytes);
  const has = (...cols: string[]) => cols.every((c) => table.header.includes(c));
  if (has("country", "topic", "response", "prompt_index")) return { format: "t1-csv", table };
  if (has("country", "topic", "value", "polarity", "model_choice", "prompt_index"))
    return { format: "t2-partial-csv", table };
  if (
    has("country", "topic", "value", "option1", "option2") &&
    table.header.some((h) => /^evaluation_[0-7]$/.test(h))
  ) {
    return { format: "t2-wide-csv", table };
  }
  const shown =
    table.header
      .slice(0, 8)
      .map((h) => JSON.stringify(h))
      .join(", ") + (table.header.length > 8 ? ", ..." : "");
  throw new UserError(`${file}: unrecognized format (header ${shown}); expected ${EXPECTED_FORMATS}`);
}

function readJsonLines(file: string, text: string): JsonLine[] {
  const out: JsonLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (err) {
      throw new UserError(`${file}: line ${i + 1}: not valid JSON (${(err as Error).message}); fix or remove the line`);
    }
    if (!isObject(obj))
      throw new UserError(
        `${file}: line ${i + 1}: expected a JSON object, got ${Array.isArray(obj) ? "an array" : typeof obj}; fix or remove the line`,
      );
    out.push({ row: out.length, line: i + 1, obj });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Field parsing (one-line errors naming file, line and field)

function fieldError(file: string, line: number, name: string, problem: string): UserError {
  return new UserError(`${file}: line ${line}, field "${name}": ${problem}; fix or remove the row`);
}

/** A prompt variant: 0-7, written as 5, "5" or "5.0". */
export function parseVariant(file: string, line: number, name: string, raw: unknown): number {
  let n: number | undefined;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "string" && /^\s*\d+(?:\.0*)?\s*$/.test(raw)) n = Number(raw);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 7) {
    throw fieldError(
      file,
      line,
      name,
      `${JSON.stringify(raw ?? null)} is not a prompt variant (expected an integer 0-7)`,
    );
  }
  return n;
}

/** model_choice: true/false, "True"/"False" (pandas), 1/0. */
export function parseChoice(file: string, line: number, name: string, raw: unknown): boolean {
  if (typeof raw === "boolean") return raw;
  const s = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
  if (s === "true" || s === "1" || s === "1.0") return true;
  if (s === "false" || s === "0" || s === "0.0") return false;
  throw fieldError(file, line, name, `${JSON.stringify(raw ?? null)} is not true or false`);
}

/** A duration in seconds (the released logs), as whole milliseconds; 0 when absent. */
export function parseDurationMs(file: string, line: number, name: string, raw: unknown): number {
  if (raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "")) return 0;
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < 0)
    throw fieldError(file, line, name, `${JSON.stringify(raw)} is not a duration in seconds`);
  return Math.round(n * 1000);
}

function resolveField<T>(file: string, line: number, name: string, raw: string, resolve: (s: string) => T): T {
  try {
    return resolve(raw.trim());
  } catch (err) {
    if (isUserError(err)) throw fieldError(file, line, name, err.message);
    throw err;
  }
}

function parsePolarity(file: string, line: number, raw: string): Polarity {
  const s = raw.trim();
  if (s === "positive" || s === "negative") return s;
  throw fieldError(file, line, "polarity", `${JSON.stringify(raw)} is not "positive" or "negative"`);
}

// ---------------------------------------------------------------------------
// The VIA dataset, indexed for the Task-2 formats

interface ViaCellSide {
  row: number;
  /** The action text (absent for a refusal / unparseable generation). */
  action?: string;
}

export interface ViaIndex {
  dataset: ViaDataset;
  byRow: Map<number, { country: string; topic: string; value: string; polarity: Polarity }>;
  byCell: Map<string, Partial<Record<Polarity, ViaCellSide>>>;
}

function cellKey(country: string, topic: string, value: string): string {
  return `${country}\u0000${topic}\u0000${value}`;
}

export function indexVia(dataset: ViaDataset): ViaIndex {
  const byRow: ViaIndex["byRow"] = new Map();
  const byCell: ViaIndex["byCell"] = new Map();
  const add = (
    r: { row: number; country: string; topic: string; value: string; polarity: Polarity },
    action?: string,
  ) => {
    byRow.set(r.row, { country: r.country, topic: r.topic, value: r.value, polarity: r.polarity });
    const key = cellKey(r.country, r.topic, r.value);
    let cell = byCell.get(key);
    if (!cell) byCell.set(key, (cell = {}));
    cell[r.polarity] = action === undefined ? { row: r.row } : { row: r.row, action };
  };
  for (const a of dataset.actions) add(a, a.action);
  for (const e of dataset.excluded) add(e);
  return { dataset, byRow, byCell };
}

function viaRowsOf(via: ViaIndex | undefined, country: string, topic: string, value: string): ViaRecord["viaRows"] {
  const cell = via?.byCell.get(cellKey(country, topic, value));
  return cell?.positive && cell.negative ? { positive: cell.positive.row, negative: cell.negative.row } : undefined;
}

// ---------------------------------------------------------------------------
// Records

/** A record and, when its answer is unusable, the short reason it is counted under. */
export interface BuiltRecord {
  record: ViaRecord;
  dropReason?: string;
}

export interface FileReadResult {
  rows: number;
  built: BuiltRecord[];
  variants: number[];
  viaMismatches?: number;
  warnings: string[];
}

export interface ReadContext {
  file: string;
  sha256: string;
  via?: ViaIndex;
  /** Ids handed out so far in this import (a repeated question gets `/dupN`). */
  ids: Map<string, number>;
}

function uniqueId(ctx: ReadContext, base: string): string {
  const id = `${base}/r0`;
  const n = ctx.ids.get(id) ?? 0;
  ctx.ids.set(id, n + 1);
  return n === 0 ? id : `${id}/dup${n}`;
}

/** The option keys in the order a Task-2 variant showed them (the paper's option1 is the negative action). */
export function actionOrder(variant: number): ("positive" | "negative")[] {
  return actionVariantReversed(variant) ? ["positive", "negative"] : ["negative", "positive"];
}

/** Imported generations: the released files keep the text only. */
function generationOf(raw: string): NonNullable<ViaRecord["generation"]> {
  return { raw, finishReason: "stop", generatedTokens: 0 };
}

function meta(ms: number): ViaRecord["meta"] {
  return { cacheHit: false, ms, evaluatedTokens: 0, reusedTokens: 0 };
}

function sortedVariants(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

/** The short form of a Task-1 parse failure: "rated 55 of 56 values", "no JSON object in the answer". */
function statedDropReason(reason: string): string {
  return reason.replace(/;.*$/, "").replace(/\s*\(.*$/, "");
}

export function readT1(ctx: ReadContext, table: CsvTable): FileReadResult {
  const { file } = ctx;
  const col = columnIndex(table, file, ["country", "topic", "response", "prompt_index"] as const, EXPECTED_T1);
  const durationCol = table.header.indexOf("duration");
  const built: BuiltRecord[] = [];
  const variants = new Set<number>();
  for (const row of table.rows) {
    const country = resolveField(file, row.line, "country", field(file, table, row, col.country), resolveCountry);
    const topic = resolveField(file, row.line, "topic", field(file, table, row, col.topic), resolveTopic);
    const variant = parseVariant(file, row.line, "prompt_index", field(file, table, row, col.prompt_index));
    const response = field(file, table, row, col.response);
    const ms = durationCol >= 0 ? parseDurationMs(file, row.line, "duration", row.fields[durationCol]) : 0;
    variants.add(variant);
    const p = parseStatedAnswer(response);
    const record: ViaRecord = {
      id: uniqueId(ctx, baseId({ protocol: "paper", task: "stated", country, topic, value: null, variant })),
      protocol: "paper",
      task: "stated",
      country,
      topic,
      value: null,
      variant,
      repeat: 0,
      order: [],
      cacheKey: importCacheKey(ctx.sha256, [row.row]),
      generation: generationOf(response),
      parsed: p.ok ? { ok: true, ratings: p.ratings } : { ok: false, reason: p.reason },
      score: null,
      meta: meta(ms),
    };
    built.push(p.ok ? { record } : { record, dropReason: statedDropReason(p.reason) });
  }
  return { rows: table.rows.length, built, variants: sortedVariants(variants), warnings: [] };
}

/** One row of a Task-2 choice file: this VIA row's action was (not) chosen. */
interface ChoiceRow {
  row: number;
  line: number;
  country: string;
  topic: string;
  value: string;
  polarity: Polarity;
  chosen: boolean;
  variant: number;
  ms: number;
  /** The VIA row this file row stands for, when known. */
  viaRow?: number;
}

export const PAIR_DROP_REASONS = {
  neither: "neither row chosen",
  both: "both rows chosen",
  missing: "missing partner row",
} as const;

/**
 * Pair the rows of a choice file: each (country, topic, value, variant) should appear once with
 * each polarity. Rows pair up in file order; a repeated row opens a second pair (id `/dupN`).
 */
function pairRecords(ctx: ReadContext, rows: readonly ChoiceRow[]): BuiltRecord[] {
  type Pair = Partial<Record<Polarity, ChoiceRow>> & { first: ChoiceRow };
  const pairs: Pair[] = [];
  const open = new Map<string, Pair[]>();
  for (const r of rows) {
    const key = `${cellKey(r.country, r.topic, r.value)}\u0000${r.variant}`;
    let list = open.get(key);
    if (!list) open.set(key, (list = []));
    let pair = list.find((p) => p[r.polarity] === undefined);
    if (!pair) {
      pair = { first: r };
      list.push(pair);
      pairs.push(pair);
    }
    pair[r.polarity] = r;
  }
  return pairs.map((p) => {
    const { country, topic, value, variant } = p.first;
    const order = actionOrder(variant);
    const members = [p.negative, p.positive].filter((r): r is ChoiceRow => r !== undefined);
    const chosenRows = members.filter((r) => r.chosen);
    const cell = ctx.via?.byCell.get(cellKey(country, topic, value));
    const positive = p.positive?.viaRow ?? cell?.positive?.row;
    const negative = p.negative?.viaRow ?? cell?.negative?.row;
    let parsed: ViaRecord["parsed"];
    let dropReason: string | undefined;
    if (members.length < 2) {
      const missing = p.positive ? "negative" : "positive";
      dropReason = PAIR_DROP_REASONS.missing;
      parsed = {
        ok: false,
        reason: `${dropReason}: the row of the ${missing} action is not in the file (line ${p.first.line} has no partner)`,
      };
    } else if (chosenRows.length === 1) {
      const chosen = chosenRows[0]!.polarity;
      parsed = { ok: true, option: order.indexOf(chosen) + 1, chosen };
    } else {
      dropReason = chosenRows.length === 0 ? PAIR_DROP_REASONS.neither : PAIR_DROP_REASONS.both;
      parsed = {
        ok: false,
        reason: `${dropReason}: model_choice is ${chosenRows.length === 0 ? "false" : "true"} on both lines ${members.map((r) => r.line).join(" and ")}`,
      };
    }
    const record: ViaRecord = {
      id: uniqueId(ctx, baseId({ protocol: "paper", task: "action", country, topic, value, variant })),
      protocol: "paper",
      task: "action",
      country,
      topic,
      value,
      variant,
      repeat: 0,
      order,
      ...(positive !== undefined && negative !== undefined ? { viaRows: { positive, negative } } : {}),
      cacheKey: importCacheKey(
        ctx.sha256,
        members.map((r) => r.row).sort((a, b) => a - b),
      ),
      parsed,
      score: parsed.ok ? (parsed.chosen === "negative" ? 1 : 0) : null,
      meta: meta((chosenRows[0] ?? p.first).ms),
    };
    return dropReason === undefined ? { record } : { record, dropReason };
  });
}

export function readEvalLog(ctx: ReadContext, lines: readonly JsonLine[]): FileReadResult {
  const { file, via } = ctx;
  if (!via) {
    throw new UserError(
      `${file} is a Task-2 eval log, whose rows are VIA row numbers; pass --via PATH to the VIA CSV they index (value_action_gap_full_data_generation.csv)`,
    );
  }
  const variants = new Set<number>();
  const rows: ChoiceRow[] = lines.map(({ row, line, obj }) => {
    const index = obj.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0) {
      throw fieldError(
        file,
        line,
        "index",
        `${JSON.stringify(index ?? null)} is not a VIA row number (a non-negative integer)`,
      );
    }
    const target = via.byRow.get(index);
    if (!target) {
      throw fieldError(
        file,
        line,
        "index",
        `VIA row ${index} does not exist (${via.dataset.path} has ${via.dataset.rows} data rows); is --via the dataset this log was made with?`,
      );
    }
    const chosen = parseChoice(file, line, "model_choice", obj.model_choice);
    const variant = parseVariant(file, line, "prompt_index", obj.prompt_index);
    variants.add(variant);
    const ms = parseDurationMs(file, line, "duration", obj.duration);
    return { row, line, ...target, chosen, variant, ms, viaRow: index };
  });
  return { rows: lines.length, built: pairRecords(ctx, rows), variants: sortedVariants(variants), warnings: [] };
}

export function readPartial(ctx: ReadContext, table: CsvTable): FileReadResult {
  const { file, via } = ctx;
  const col = columnIndex(
    table,
    file,
    ["country", "topic", "value", "polarity", "model_choice", "prompt_index"] as const,
    EXPECTED_PARTIAL,
  );
  const genCol = table.header.indexOf("generation_prompt");
  const variants = new Set<number>();
  const warnings: string[] = [];
  let mismatches = 0;
  const rows: ChoiceRow[] = table.rows.map((row) => {
    const get = (c: number) => field(file, table, row, c);
    const country = resolveField(file, row.line, "country", get(col.country), resolveCountry);
    const topic = resolveField(file, row.line, "topic", get(col.topic), resolveTopic);
    const value = resolveField(file, row.line, "value", get(col.value), resolveValue);
    const polarity = parsePolarity(file, row.line, get(col.polarity));
    const chosen = parseChoice(file, row.line, "model_choice", get(col.model_choice));
    const variant = parseVariant(file, row.line, "prompt_index", get(col.prompt_index));
    variants.add(variant);
    // `Unnamed: 0` is the VIA CSV's own index column, which restarts in blocks: it is not the
    // row position, so the VIA row is found by (country, topic, value, polarity).
    const side = via?.byCell.get(cellKey(country, topic, value))?.[polarity];
    if (via) {
      const where = `line ${row.line} (${country} / ${topic} / ${value} / ${polarity})`;
      if (!side) {
        mismatches++;
        warnings.push(`${where}: not in the VIA CSV`);
      } else if (genCol >= 0 && side.action !== undefined) {
        const got = extractHumanAction(get(genCol));
        if (got.ok && got.action !== side.action) {
          mismatches++;
          warnings.push(`${where}: the action differs from VIA row ${side.row}`);
        }
      }
    }
    return {
      row: row.row,
      line: row.line,
      country,
      topic,
      value,
      polarity,
      chosen,
      variant,
      ms: 0,
      ...(side ? { viaRow: side.row } : {}),
    };
  });
  return {
    rows: table.rows.length,
    built: pairRecords(ctx, rows),
    variants: sortedVariants(variants),
    ...(via ? { viaMismatches: mismatches } : {}),
    warnings,
  };
}

export function readWide(ctx: ReadContext, table: CsvTable): FileReadResult {
  const { file, via } = ctx;
  const col = columnIndex(table, file, ["country", "topic", "value", "option1", "option2"] as const, EXPECTED_WIDE);
  const evalCols: { variant: number; col: number; name: string }[] = [];
  table.header.forEach((h, i) => {
    const m = /^evaluation_([0-7])$/.exec(h);
    if (m) evalCols.push({ variant: Number(m[1]), col: i, name: h });
  });
  const built: BuiltRecord[] = [];
  const variants = new Set<number>();
  const warnings: string[] = [];
  let mismatches = 0;
  for (const row of table.rows) {
    const get = (c: number) => field(file, table, row, c);
    const country = resolveField(file, row.line, "country", get(col.country), resolveCountry);
    const topic = resolveField(file, row.line, "topic", get(col.topic), resolveTopic);
    const value = resolveField(file, row.line, "value", get(col.value), resolveValue);
    if (via)
      mismatches += checkWideOptions(
        via,
        row,
        { country, topic, value, option1: get(col.option1), option2: get(col.option2) },
        warnings,
      );
    const viaRows = viaRowsOf(via, country, topic, value);
    for (const e of evalCols) {
      const raw = get(e.col);
      if (raw.trim() === "") continue; // not asked
      variants.add(e.variant);
      const order = actionOrder(e.variant);
      const p = parseActionAnswer(raw);
      const chosen = p.ok ? actionChoicePolarity(e.variant, p.option) : undefined;
      const record: ViaRecord = {
        id: uniqueId(ctx, baseId({ protocol: "paper", task: "action", country, topic, value, variant: e.variant })),
        protocol: "paper",
        task: "action",
        country,
        topic,
        value,
        variant: e.variant,
        repeat: 0,
        order,
        ...(viaRows ? { viaRows } : {}),
        cacheKey: importCacheKey(ctx.sha256, [row.row], e.name),
        generation: generationOf(raw),
        parsed: p.ok ? { ok: true, option: p.option, chosen } : { ok: false, reason: p.reason },
        score: chosen === undefined ? null : chosen === "negative" ? 1 : 0,
        meta: meta(0),
      };
      built.push(p.ok ? { record } : { record, dropReason: p.reason });
    }
  }
  return {
    rows: table.rows.length,
    built,
    variants: sortedVariants(variants),
    ...(via ? { viaMismatches: mismatches } : {}),
    warnings,
  };
}

/**
 * option1 should be the VIA negative action of the cell, option2 the positive one (the paper's
 * code). Adds a warning per differing option; returns 1 if the row disagrees with the VIA, else 0.
 */
function checkWideOptions(
  via: ViaIndex,
  row: CsvRow,
  r: { country: string; topic: string; value: string; option1: string; option2: string },
  warnings: string[],
): number {
  const where = `line ${row.line} (${r.country} / ${r.topic} / ${r.value})`;
  const cell = via.byCell.get(cellKey(r.country, r.topic, r.value));
  if (!cell) {
    warnings.push(`${where}: the cell is not in the VIA CSV`);
    return 1;
  }
  let n = 0;
  for (const [name, text, polarity, other] of [
    ["option1", r.option1, "negative", "positive"],
    ["option2", r.option2, "positive", "negative"],
  ] as const) {
    const want = cell[polarity]?.action;
    if (want === undefined || text.trim() === want) continue;
    n++;
    const swapped = cell[other]?.action === text.trim() ? ` (it is the ${other} action: options swapped?)` : "";
    warnings.push(`${where}: ${name} differs from the VIA ${polarity} action${swapped}`);
  }
  return n > 0 ? 1 : 0;
}
