/**
 * A VIA row's feature attributions and natural-language explanation: the fields the
 * prediction modes `attribution`, `explanation` and `attribution_explanation` put into the
 * few-shot conversation.
 *
 * The VIA loader (src/suites/via/dataset.ts) keeps only the action; this module reads the same
 * CSV with the same reader and takes the action from the loader's own parser
 * (`extractHumanAction`), so the action text is the one every other suite uses. The two other
 * fields are recovered the same lenient way: the first fenced block, strict JSON, then
 * jsonrepair (which also reads Python-style single-quoted dicts), accepted only when the
 * repair yields no key beyond the generation's three fields. A row whose fields cannot be
 * recovered is kept with a reason, never dropped silently.
 */
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { jsonrepair } from "jsonrepair";
import { z } from "zod";
import { stripFence } from "../../util/fence.js";
import { columnIndex, readCsv } from "../../util/csv.js";
import { UserError } from "../../util/errors.js";
import { extractHumanAction, type ViaDataset } from "../via/dataset.js";

/** What a training example shows the predictor besides its label. */
export interface ExampleFields {
  /** The "Human Action" text, as the VIA loader recovers it. */
  action: string;
  /** "Feature Attributions": a list of phrases of the action. */
  attributions: string[];
  /** "Natural Language Explanation". */
  explanation: string;
}

export type FieldsResult = { ok: true; fields: ExampleFields } | { ok: false; reason: string };

const GENERATION_FIELDS = new Set(["Human Action", "Feature Attributions", "Natural Language Explanation"]);

const FieldsSchema = z.object({
  "Feature Attributions": z.array(z.string()),
  "Natural Language Explanation": z.string(),
});

function parseObject(body: string): Record<string, unknown> | undefined {
  const asRecord = (v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  try {
    return asRecord(JSON.parse(body));
  } catch {
    // fall through to the repair
  }
  try {
    const rec = asRecord(JSON.parse(jsonrepair(body)));
    if (rec && Object.keys(rec).every((k) => GENERATION_FIELDS.has(k))) return rec;
  } catch {
    // not recoverable
  }
  return undefined;
}

/** The three fields of one generation (the `generation_prompt` cell), or why they are missing. */
export function extractGenerationFields(generation: string): FieldsResult {
  const action = extractHumanAction(generation);
  if (!action.ok) return { ok: false, reason: action.detail };
  const text = stripFence(generation.trim());
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  const body = start >= 0 ? text.slice(start, end > start ? end + 1 : undefined).trim() : text.trim();
  const obj = parseObject(body);
  if (!obj) return { ok: false, reason: "the generation's attributions and explanation could not be recovered" };
  const parsed = FieldsSchema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `field "${String(issue.path[0] ?? "?")}": ${issue.message}` };
  }
  return {
    ok: true,
    fields: {
      action: action.action,
      attributions: parsed.data["Feature Attributions"],
      explanation: parsed.data["Natural Language Explanation"],
    },
  };
}

/**
 * Every row's fields, keyed by VIA row (0-based data row), read from the loaded dataset's own
 * file. Throws a one-line UserError when the file changed since it was loaded.
 */
export function readViaFields(ds: ViaDataset): Map<number, FieldsResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(ds.path);
  } catch (err) {
    throw new UserError(`cannot read VIA dataset ${ds.path}: ${(err as Error).message}`);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  if (sha256 !== ds.sha256) {
    throw new UserError(`${ds.path}: the file changed since it was loaded (sha256 ${sha256}); run again`);
  }
  const table = readCsv(ds.path, bytes);
  const col = columnIndex(table, ds.path, ["generation_prompt"], "the VIA layout");
  const out = new Map<number, FieldsResult>();
  for (const { row, fields } of table.rows) {
    const generation = fields[col.generation_prompt];
    out.set(
      row,
      generation === undefined
        ? { ok: false, reason: "missing generation_prompt" }
        : extractGenerationFields(generation),
    );
  }
  return out;
}

/** One row's fields, or a one-line UserError naming the file, the row and what is wrong. */
export function fieldsOf(ds: ViaDataset, all: ReadonlyMap<number, FieldsResult>, row: number): ExampleFields {
  const got = all.get(row);
  if (!got) throw new UserError(`${ds.path}: VIA row ${row} does not exist (the file has ${ds.rows} data rows)`);
  if (!got.ok) throw new UserError(`${ds.path}: VIA row ${row}: ${got.reason}; choose rows with usable fields`);
  return got.fields;
}
