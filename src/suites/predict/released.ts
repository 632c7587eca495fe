/**
 * The paper's released predictions (`<predicted>_explanation_outputs_<mode>.csv`): one file per
 * mode, columns `(index), label, result`, where `label` is the predicted model's choice and
 * `result` the predictor's raw answer. The prediction is the answer's second space-separated
 * field, as the paper's analysis takes it (`result.split(' ')[1]`: `Label: True ...` -> `True`);
 * an answer whose second field is not exactly `True` or `False` is kept, unparsed, with a reason.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { columnIndex, field, readCsv } from "../../util/csv.js";
import { UserError } from "../../util/errors.js";
import { PREDICT_MODES, type PredictMode } from "./conversation.js";
import type { ScoredRow } from "./metrics.js";

export type LabelAnswer = { ok: true; predicted: boolean } | { ok: false; reason: string };

/** Python's `str.split()` separators: the code points for which `str.isspace()` is true. */
const PY_WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Python's `s.split()`: the runs of non-whitespace. */
export function pythonSplit(s: string): string[] {
  const words: string[] = [];
  let word = "";
  for (const ch of s) {
    if (PY_WHITESPACE.has(ch.codePointAt(0)!)) {
      if (word !== "") words.push(word);
      word = "";
    } else word += ch;
  }
  if (word !== "") words.push(word);
  return words;
}

/**
 * The prediction of one answer, as the paper's analysis reads it (`result.split(' ')[1]`): the
 * second field when the answer is split on single spaces (not on any whitespace: `Label:\tTrue`
 * and ` Label: True` do not parse there, and do not here). Exactly `True` or `False`; anything
 * else is unparseable, with a reason.
 */
export function parseLabelAnswer(answer: string): LabelAnswer {
  const fields = answer.split(" ");
  if (fields.length < 2) {
    return {
      ok: false,
      reason: `the answer has no space; expected "Label: True|False" (the paper reads the second space-separated field)`,
    };
  }
  const word = fields[1]!;
  if (word === "True") return { ok: true, predicted: true };
  if (word === "False") return { ok: true, predicted: false };
  const loose = pythonSplit(answer)[1];
  const hint =
    loose === "True" || loose === "False"
      ? ` (split on any whitespace it would read ${loose}; the paper splits on single spaces)`
      : "";
  return {
    ok: false,
    reason: `the second space-separated field ${JSON.stringify(word.slice(0, 40))} is neither True nor False${hint}`,
  };
}

export interface ReleasedPrediction {
  /** The file's index column (the test row's position). */
  index: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  /** The predicted model's choice. */
  label: boolean;
  /** The raw answer. */
  answer: string;
  /** The parsed prediction; null when unparseable. */
  predicted: boolean | null;
  /** Why the answer could not be parsed. */
  reason?: string;
}

export interface ReleasedExplanations {
  path: string;
  /** The predicted model, from the file name (`chatgpt`). */
  predictedModel: string;
  mode: PredictMode;
  rows: ReleasedPrediction[];
}

const NAME_RE = new RegExp(`^(.+)_explanation_outputs_(${PREDICT_MODES.join("|")})\\.csv$`);

/** `<predicted>_explanation_outputs_<mode>.csv` -> predicted model and mode, or a one-line UserError. */
export function parseReleasedName(file: string): { predictedModel: string; mode: PredictMode } {
  const base = path.basename(file);
  const m = NAME_RE.exec(base);
  if (!m) {
    throw new UserError(
      `${file}: not a released prediction file; expected a name <predicted>_explanation_outputs_<mode>.csv with mode one of ${PREDICT_MODES.join(", ")}`,
    );
  }
  return { predictedModel: m[1]!, mode: m[2] as PredictMode };
}

/** The label as pandas reads a boolean column (and `row['label'] == True` compares it): True/False in any case, or 1/0. */
const LABEL_VALUES: Readonly<Record<string, boolean>> = {
  true: true,
  "1": true,
  false: false,
  "0": false,
};
const IndexSchema = z.string().regex(/^\d+$/);

/** Parse one released file's bytes (the name gives the model and the mode). */
export function parseReleasedExplanations(file: string, bytes: Buffer): ReleasedExplanations {
  const { predictedModel, mode } = parseReleasedName(file);
  const table = readCsv(file, bytes);
  const col = columnIndex(table, file, ["", "label", "result"], 'the columns ",label,result"');
  const rows: ReleasedPrediction[] = [];
  const seen = new Map<number, number>();
  for (const r of table.rows) {
    const indexText = field(file, table, r, col[""]).trim();
    if (!IndexSchema.safeParse(indexText).success) {
      throw new UserError(
        `${file}: line ${r.line}, field "(index)": ${JSON.stringify(indexText)} is not a row index; fix or remove the row`,
      );
    }
    const index = Number(indexText);
    const first = seen.get(index);
    if (first !== undefined) {
      throw new UserError(
        `${file}: line ${r.line}, field "(index)": index ${index} repeats line ${first}; keep one of the rows`,
      );
    }
    seen.set(index, r.line);
    const labelText = field(file, table, r, col.label).trim();
    const label = LABEL_VALUES[labelText.toLowerCase()];
    if (label === undefined) {
      throw new UserError(
        `${file}: line ${r.line}, field "label": ${JSON.stringify(labelText)} is not True or False; fix or remove the row`,
      );
    }
    const answer = field(file, table, r, col.result);
    const parsed = parseLabelAnswer(answer);
    rows.push({
      index,
      line: r.line,
      label,
      answer,
      predicted: parsed.ok ? parsed.predicted : null,
      ...(parsed.ok ? {} : { reason: parsed.reason }),
    });
  }
  return { path: file, predictedModel, mode, rows };
}

/** Read and parse one released file. */
export async function loadReleasedExplanations(file: string): Promise<ReleasedExplanations> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === "ENOENT"
        ? `${file}: no such file; pass the released <predicted>_explanation_outputs_<mode>.csv files`
        : `cannot read ${file}: ${(err as Error).message}`,
    );
  }
  return parseReleasedExplanations(file, bytes);
}

/** The rows as the metrics take them (keyed by the file's index). */
export function releasedScoredRows(file: ReleasedExplanations): ScoredRow[] {
  return file.rows.map((r) => ({ key: r.index, label: r.label, predicted: r.predicted }));
}
