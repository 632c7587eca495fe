/**
 * Loading moral-dilemma datasets (the 6-point protocol of the persona study): a JSON array of
 * dilemmas or JSONL (one dilemma per line; blank lines are skipped). Every item is validated
 * with `DilemmaSchema`; problems are one-line `UserError`s naming the file, the line (JSONL)
 * or the item index (JSON array, 0-based) and the field.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { checkText } from "../../util/text.js";
import type { z } from "zod";
import { UserError } from "../../util/errors.js";
import { fromPackageRoot } from "../../util/paths.js";
import { DilemmaSchema, type Dilemma } from "./schema.js";

/** Our own sample of 12 dilemmas, for the demo and the tests. */
export const SAMPLE_DILEMMAS_PATH: string = fromPackageRoot("datasets", "dilemmas-sample.jsonl");

/** A loaded dilemma dataset: the file, its format and the validated dilemmas in file order. */
export interface LoadedDilemmas {
  path: string;
  format: "json" | "jsonl";
  /** sha256 of the file's bytes, hex (recorded in a run's manifest). */
  sha256: string;
  dilemmas: Dilemma[];
}

function fieldOf(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
    .join(".")
    .replace(/\.\[/g, "[");
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.join(", ");
    return path ? `${path}.${keys}` : keys;
  }
  return path || "(item)";
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys")
    return "unknown field (allowed: id, value, topic, role, scenario, actions with the six grades)";
  return issue.message.replace(/\s+/g, " ");
}

/** Validates one raw item; throws a one-line UserError at `where` ("line 3" / "item 2"). */
function validate(file: string, where: string, raw: unknown): Dilemma {
  const parsed = DilemmaSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return fail(file, where, fieldOf(issue), issueText(issue));
}

function fail(file: string, where: string, field: string | undefined, problem: string): never {
  const at = field === undefined ? where : `${where}, field "${field}"`;
  throw new UserError(`${file}: ${at}: ${problem}`);
}

/** Reads a dilemma dataset (JSON array or JSONL), validating every item; duplicate ids are an error. */
export function loadDilemmas(path: string): LoadedDilemmas {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UserError(
        `dilemma dataset not found: ${path}; pass a JSON or JSONL file of dilemmas (see datasets/dilemmas-sample.jsonl)`,
      );
    throw new UserError(`cannot read dilemma dataset ${path}: ${(err as Error).message}`);
  }
  checkText(path, bytes);
  let text = bytes.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const items: { where: string; raw: unknown }[] = [];
  let format: "json" | "jsonl";
  if (text.trimStart().startsWith("[")) {
    format = "json";
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new UserError(
        `${path}: not valid JSON (${(err as Error).message.split("\n")[0]}); expected an array of dilemmas or JSONL`,
      );
    }
    if (!Array.isArray(data)) throw new UserError(`${path}: expected a JSON array of dilemmas`);
    data.forEach((raw: unknown, i) => items.push({ where: `item ${i}`, raw }));
  } else {
    format = "jsonl";
    const lines = text.split(/\r?\n/);
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (err) {
        throw new UserError(
          `${path}: line ${i + 1}: not valid JSON (${(err as Error).message.split("\n")[0]}); one dilemma object per line`,
        );
      }
      items.push({ where: `line ${i + 1}`, raw });
    });
  }
  if (items.length === 0) throw new UserError(`${path}: no dilemmas in the file`);
  const firstAt = new Map<string, string>();
  const dilemmas: Dilemma[] = [];
  for (const { where, raw } of items) {
    const d = validate(path, where, raw);
    const prev = firstAt.get(d.id);
    if (prev !== undefined)
      fail(path, where, "id", `duplicate id ${JSON.stringify(d.id)} (first at ${prev}); ids must be unique`);
    firstAt.set(d.id, where);
    dilemmas.push(d);
  }
  return { path, format, sha256: createHash("sha256").update(bytes).digest("hex"), dilemmas };
}
