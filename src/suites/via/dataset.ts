/**
 * The VIA dataset (ValueActionLens): one generated action per (country, topic, value,
 * polarity), in the released CSV layout:
 *
 *   <unnamed index>, Unnamed: 0, country, topic, value, polarity, generation_prompt
 *
 * `generation_prompt` is the generating model's raw answer; the action is its
 * "Human Action" field, recovered leniently (fenced blocks, Python-style single-quoted
 * dicts, unescaped apostrophes). Refusals and garbled answers are reported, not dropped
 * silently.
 */
import { stripFence } from "../../util/fence.js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { columnIndex, readCsv } from "../../util/csv.js";
import { jsonrepair } from "jsonrepair";
import { z } from "zod";
import { UserError } from "../../util/errors.js";
import { fromPackageRoot } from "../../util/paths.js";
import { COUNTRIES, TOPICS, VALUE_NAMES, closeMatches } from "../../protocol/values.js";

export type Polarity = "positive" | "negative";

export interface ViaAction {
  /** 0-based position among the CSV's data rows (the index the paper's Task-2 logs use). */
  row: number;
  country: string;
  topic: string;
  value: string;
  polarity: Polarity;
  /** The "Human Action" text, trimmed. */
  action: string;
}

export type ViaExcludedReason = "refusal" | "unparseable" | "empty-action";

export interface ViaExcluded {
  row: number;
  country: string;
  topic: string;
  value: string;
  polarity: Polarity;
  reason: ViaExcludedReason;
  /** What was wrong, with the start of the answer. */
  detail: string;
}

export interface ViaDataset {
  path: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  /** Number of data rows (header excluded). */
  rows: number;
  /** Rows with a recovered action, in file order. */
  actions: ViaAction[];
  /** Rows without one, in file order. */
  excluded: ViaExcluded[];
}

export interface ViaPair {
  country: string;
  topic: string;
  value: string;
  positive: ViaAction;
  negative: ViaAction;
}

export interface ViaInfo {
  rows: number;
  usableActions: number;
  excluded: Record<ViaExcludedReason, number>;
  completePairs: number;
}

/** Our own small sample in the VIA layout (the default dataset for the demo and tests). */
export const SAMPLE_VIA_PATH: string = fromPackageRoot("datasets", "via-sample.csv");

/** The released CSV's file name (in its zip, and where `valuelens datasets fetch via` puts it). */
export const VIA_CSV_NAME = "value_action_gap_full_data_generation.csv";
/** The released VIA CSV's sha256 (PROTOCOL.md). */
export const VIA_CSV_SHA256 = "892e52588d9b9ffa0c3316200dec4ceec4e893793aa2a47ae6f11415e4f9209d";

export const VIA_COLUMNS = ["", "Unnamed: 0", "country", "topic", "value", "polarity", "generation_prompt"] as const;
const REQUIRED_COLUMNS = ["country", "topic", "value", "polarity", "generation_prompt"] as const;
type RequiredColumn = (typeof REQUIRED_COLUMNS)[number];

const RowSchema = z.object({
  country: z.enum(COUNTRIES as [string, ...string[]]),
  topic: z.enum(TOPICS as [string, ...string[]]),
  value: z.enum(VALUE_NAMES as [string, ...string[]]),
  polarity: z.enum(["positive", "negative"]),
  generation_prompt: z.string(),
});

// ---------------------------------------------------------------------------
// Recovering the "Human Action" from a generation

export type HumanActionResult =
  | { ok: true; action: string; method: "json" | "jsonrepair" | "field" }
  | { ok: false; reason: ViaExcludedReason; detail: string };

/** The generation's known fields; a repair that yields any other key means the answer was garbled. */
const GENERATION_FIELDS = new Set(["Human Action", "Feature Attributions", "Natural Language Explanation"]);

const REFUSAL =
  /^\W*(?:i['\u2019]?m sorry|sorry|i apologi[sz]e|apologies|unfortunately|i (?:cannot|can['\u2019]?t|won['\u2019]?t|am unable|'m unable|must decline))/i;

/**
 * `"Human Action": "..."` or `'Human Action': '...'`, where the string ends at the quote
 * that is followed by the next known field or the closing brace. This keeps unescaped
 * apostrophes inside single-quoted strings (`'... Germany's past ...'`).
 */
const FIELD_RE =
  /(["'])Human Action\1\s*:\s*(["'])([\s\S]*?)\2\s*(?:,\s*(["'])(?:Feature Attributions|Natural Language Explanation)\4\s*:|\}\s*$)/;

function unescapeLiteral(s: string): string {
  return s.replace(/\\(["'\\/nrt])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c));
}

function snippet(text: string, n = 80): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n)}...` : one;
}

function asAction(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Recover the "Human Action" text of one generation: strict JSON first; otherwise the
 * targeted field pattern (exact text, apostrophes kept) and then jsonrepair (accepted only
 * when the repaired object has no keys beyond the generation's known fields).
 */
export function extractHumanAction(generation: string): HumanActionResult {
  const text = generation.trim();
  if (text === "") return { ok: false, reason: "unparseable", detail: "empty answer" };
  const body0 = stripFence(text);
  const start = body0.indexOf("{");
  const end = body0.lastIndexOf("}");
  const body = start >= 0 ? body0.slice(start, end > start ? end + 1 : undefined).trim() : body0.trim();

  const done = (action: string, method: "json" | "jsonrepair" | "field"): HumanActionResult => {
    const a = action.trim();
    if (a === "") return { ok: false, reason: "empty-action", detail: 'the "Human Action" field is empty' };
    return { ok: true, action: a, method };
  };

  if (!/Human Action/i.test(text)) {
    if (REFUSAL.test(text)) return { ok: false, reason: "refusal", detail: `refusal: ${snippet(text)}` };
    return { ok: false, reason: "unparseable", detail: `no "Human Action" field: ${snippet(text)}` };
  }

  // 1. Strict JSON.
  try {
    const obj: unknown = JSON.parse(body);
    if (obj && typeof obj === "object" && !Array.isArray(obj)) {
      const a = asAction((obj as Record<string, unknown>)["Human Action"]);
      if (a !== undefined) return done(a, "json");
    }
  } catch {
    // fall through
  }
  // 2. The targeted field pattern: exact text, even with unescaped apostrophes.
  const m = FIELD_RE.exec(body);
  if (m) return done(unescapeLiteral(m[3]!), "field");
  // 3. jsonrepair, accepted only if the repair did not invent keys.
  try {
    const obj: unknown = JSON.parse(jsonrepair(body));
    if (obj && typeof obj === "object" && !Array.isArray(obj)) {
      const rec = obj as Record<string, unknown>;
      const a = asAction(rec["Human Action"]);
      const strange = Object.keys(rec).filter((k) => !GENERATION_FIELDS.has(k));
      if (a !== undefined && strange.length === 0) return done(a, "jsonrepair");
      if (a !== undefined) {
        return {
          ok: false,
          reason: "unparseable",
          detail: `garbled answer (unexpected ${JSON.stringify(strange[0])} after the action): ${snippet(text)}`,
        };
      }
    }
  } catch {
    // fall through
  }
  return { ok: false, reason: "unparseable", detail: `"Human Action" field could not be recovered: ${snippet(text)}` };
}

// ---------------------------------------------------------------------------
// Loading

function rowError(path: string, line: number, field: string, problem: string, todo: string): UserError {
  return new UserError(`${path}: line ${line}, field "${field}": ${problem}; ${todo}`);
}

function fieldHint(field: RequiredColumn, got: string): string {
  const list = field === "country" ? COUNTRIES : field === "topic" ? TOPICS : field === "value" ? VALUE_NAMES : null;
  if (field === "polarity") return `expected "positive" or "negative"`;
  if (!list) return "expected a string";
  const close = closeMatches(got, list);
  return close.length > 0
    ? `did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?`
    : `expected one of the protocol's ${list.length} ${field === "country" ? "countries" : field + "s"} (src/protocol/values.ts)`;
}

/**
 * Load a CSV in the VIA layout. Validates every row (country, topic and value against the
 * protocol, polarity positive/negative) and throws a one-line UserError naming the file,
 * the line and the field for a malformed row.
 */
export async function loadVia(path: string): Promise<ViaDataset> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw viaReadError(path, err);
  }
  return parseVia(path, bytes);
}

/** `loadVia` without awaiting: for readers that check a run directory synchronously (src/runs/load.ts). */
export function loadViaSync(path: string): ViaDataset {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw viaReadError(path, err);
  }
  return parseVia(path, bytes);
}

function viaReadError(path: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return new UserError(
      `VIA dataset not found: ${path}; pass --via PATH to a CSV in the VIA layout (e.g. value_action_gap_full_data_generation.csv) or use the bundled sample`,
    );
  }
  return new UserError(`cannot read VIA dataset ${path}: ${(err as Error).message}`);
}

function parseVia(path: string, bytes: Buffer): ViaDataset {
  const sha256 = createHash("sha256").update(bytes).digest("hex");

  const table = readCsv(path, bytes);
  const header = table.header;
  const col = columnIndex(table, path, REQUIRED_COLUMNS, `the VIA columns ${JSON.stringify(VIA_COLUMNS.join(","))}`);

  const actions: ViaAction[] = [];
  const excluded: ViaExcluded[] = [];
  const seen = new Map<string, number>();
  for (const { row, line, fields: record } of table.rows) {
    const raw: Partial<Record<RequiredColumn, string>> = {};
    for (const name of REQUIRED_COLUMNS) {
      const v = record[col[name]];
      if (v === undefined) {
        throw rowError(
          path,
          line,
          name,
          `missing (the row has ${record.length} of ${header.length} columns)`,
          "fix the row's quoting or remove the row",
        );
      }
      raw[name] = name === "generation_prompt" ? v : v.trim();
    }
    const parsed = RowSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = String(issue.path[0] ?? "?") as RequiredColumn;
      const got = raw[field] ?? "";
      throw rowError(
        path,
        line,
        field,
        `${JSON.stringify(got)} is not valid (${fieldHint(field, got)})`,
        "fix or remove the row",
      );
    }
    const { country, topic, value, polarity, generation_prompt } = parsed.data;
    const key = `${country}\u0000${topic}\u0000${value}\u0000${polarity}`;
    const dup = seen.get(key);
    if (dup !== undefined) {
      throw rowError(
        path,
        line,
        "polarity",
        `duplicate ${polarity} row for (${country}, ${topic}, ${value}), first at line ${dup}`,
        "keep one of the two rows",
      );
    }
    seen.set(key, line);

    const got = extractHumanAction(generation_prompt);
    if (got.ok) actions.push({ row, country, topic, value, polarity, action: got.action });
    else excluded.push({ row, country, topic, value, polarity, reason: got.reason, detail: got.detail });
  }
  return { path, sha256, rows: table.rows.length, actions, excluded };
}

/** The (country, topic, value) cells that have both a positive and a negative action, in file order. */
export function viaPairs(ds: ViaDataset): ViaPair[] {
  const byCell = new Map<
    string,
    { country: string; topic: string; value: string; positive?: ViaAction; negative?: ViaAction }
  >();
  for (const a of ds.actions) {
    const key = `${a.country}\u0000${a.topic}\u0000${a.value}`;
    let cell = byCell.get(key);
    if (!cell) byCell.set(key, (cell = { country: a.country, topic: a.topic, value: a.value }));
    cell[a.polarity] = a;
  }
  const out: ViaPair[] = [];
  for (const c of byCell.values()) {
    if (c.positive && c.negative)
      out.push({ country: c.country, topic: c.topic, value: c.value, positive: c.positive, negative: c.negative });
  }
  return out;
}

/** Counts for `valuelens info` and the run manifest. */
export function viaInfo(ds: ViaDataset): ViaInfo {
  const excluded: Record<ViaExcludedReason, number> = { refusal: 0, unparseable: 0, "empty-action": 0 };
  for (const e of ds.excluded) excluded[e.reason]++;
  return { rows: ds.rows, usableActions: ds.actions.length, excluded, completePairs: viaPairs(ds).length };
}
