/**
 * `valuelens import explanations`: the paper's released predictions (one
 * `<predicted>_explanation_outputs_<mode>.csv` per mode) as an ordinary prediction-suite run
 * directory (manifest.json marked `imported: true`, records.jsonl with every raw answer,
 * metrics.json and report.md), so that `valuelens report DIR` gives the paper's table plus the
 * intervals and paired differences it did not print.
 *
 * Nothing is asked of a model. Records look like those of a `--suite predict --protocol paper`
 * run: one per file row, the answer parsed as the paper's analysis does (its second space-separated field), the
 * label the predicted model's choice. The files do not name the VIA rows of their test rows, so
 * an imported record's `row` is null and its `index` the file's index column; the modes are
 * paired on that index (the released analysis' files list the same test rows in every mode).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PREDICT_MODES, type PredictMode } from "../suites/predict/conversation.js";
import { PREDICT_MAX_TOKENS, type PredictOptions, predictRunConfig } from "../suites/predict/options.js";
import { PREDICT_ORDER } from "../suites/predict/questions.js";
import { PREDICT_PROTOCOLS, type PredictRecord } from "../suites/predict/record.js";
import { parseReleasedExplanations, type ReleasedExplanations } from "../suites/predict/released.js";
import type { PredictRunMetrics } from "../suites/predict/report.js";
import { DEFAULT_TRAIN_PER_LABEL } from "../suites/predict/sampling.js";
import { importCacheKey } from "../suites/via/import/formats.js";
import { UserError } from "../util/errors.js";
import { sha256 } from "../util/hash.js";
import type { ImportFile, Manifest } from "../records/manifest.js";
import { checkImportOut, importedManifest, writeImportedRun } from "./importedRun.js";

/** The paper's predictor and its sampling temperature (PROTOCOL.md); not recorded in the files. */
const PAPER_PREDICTOR = "gpt-4o-mini";
const PAPER_TEMPERATURE = 0.2;

export const EXPLANATIONS_CACHE_KEY_RULE =
  'sha256 of the canonical JSON {"file": <sha256 of the imported file>, "rows": [<0-based data row of that file, header excluded>]}';

export interface ImportExplanationsOptions {
  /** The released files, one per mode. */
  files: string[];
  /** The predictor that wrote the answers (default: the paper's, gpt-4o-mini). */
  modelName?: string;
  out: string;
}

export interface ImportExplanationsResult {
  out: string;
  manifest: Manifest;
  records: PredictRecord[];
  metrics: PredictRunMetrics;
  files: ImportFile[];
  predictedModel: string;
}

/** The import's record id: mode and the file's index (imported records have no VIA row). */
export function importedPredictionId(mode: PredictMode, index: number): string {
  return `predict/${mode}/index${index}/r0`;
}

export async function importExplanations(opts: ImportExplanationsOptions): Promise<ImportExplanationsResult> {
  if (opts.files.length === 0)
    throw new UserError(
      "nothing to import: pass the released <predicted>_explanation_outputs_<mode>.csv files, one per mode",
    );
  const modelName = (opts.modelName ?? PAPER_PREDICTOR).trim();
  if (modelName === "")
    throw new UserError("--model-name must not be empty: name the predictor that wrote the answers");
  const out = path.resolve(opts.out);
  checkImportOut(out);

  const read: { file: ReleasedExplanations; sha256: string }[] = [];
  for (const file of opts.files) {
    const bytes = await readInput(file);
    read.push({ file: parseReleasedExplanations(file, bytes), sha256: sha256(bytes) });
  }
  read.sort((a, b) => PREDICT_MODES.indexOf(a.file.mode) - PREDICT_MODES.indexOf(b.file.mode));
  const pairingNotes = checkTogether(read.map((r) => r.file));
  const predictedModel = read[0]!.file.predictedModel;

  const records: PredictRecord[] = [];
  const files: ImportFile[] = [];
  for (const { file, sha256: digest } of read) {
    const droppedByReason: Record<string, number> = {};
    file.rows.forEach((row, dataRow) => {
      if (row.reason !== undefined) droppedByReason.unparsed = (droppedByReason.unparsed ?? 0) + 1;
      records.push({
        id: importedPredictionId(file.mode, row.index),
        protocol: PREDICT_PROTOCOLS.generate,
        task: "action",
        country: "",
        topic: "",
        value: "",
        variant: null,
        repeat: 0,
        order: [...PREDICT_ORDER],
        mode: file.mode,
        row: null,
        label: row.label,
        index: row.index,
        cacheKey: importCacheKey(digest, [dataRow]),
        generation: { raw: row.answer, finishReason: "stop", generatedTokens: 0 },
        parsed:
          row.predicted === null
            ? { ok: false, reason: row.reason ?? "unparseable" }
            : { ok: true, chosen: row.predicted ? "True" : "False" },
        score: row.predicted === null ? null : row.predicted ? 1 : 0,
        meta: { cacheHit: false, ms: 0, evaluatedTokens: 0, reusedTokens: 0 },
      });
    });
    const dropped = file.rows.filter((r) => r.predicted === null).length;
    files.push({
      role: "explanations",
      path: path.resolve(file.path),
      sha256: digest,
      format: "explanations-csv",
      rows: file.rows.length,
      records: file.rows.length,
      kept: file.rows.length - dropped,
      dropped,
      droppedByReason,
      variants: [],
    });
  }

  const modes = read.map((r) => r.file.mode);
  const trueRows = read[0]!.file.rows.filter((r) => r.label).length;
  const suiteOptions: PredictOptions = {
    labels: null,
    train: DEFAULT_TRAIN_PER_LABEL,
    test: Math.max(trueRows, read[0]!.file.rows.length - trueRows, 1),
    trainPoolEnd: null,
    modes,
    temperature: PAPER_TEMPERATURE,
    maxTokens: PREDICT_MAX_TOKENS,
  };
  const config = predictRunConfig({
    model: modelName,
    protocol: PREDICT_PROTOCOLS.generate,
    repeats: 1,
    seed: 0,
    via: "none",
    options: suiteOptions,
  });
  const manifest = importedManifest({
    files,
    cacheKeyRule: EXPLANATIONS_CACHE_KEY_RULE,
    config,
    dataset: { path: "none", sha256: "none", rows: 0, usableActions: 0 },
    modelName,
    records,
    notes: [...importNotes(read, modelName, opts.modelName === undefined), ...pairingNotes],
  });
  const metrics = (await writeImportedRun(out, manifest, records)) as PredictRunMetrics;
  return { out, manifest, records, metrics, files, predictedModel };
}

/**
 * The files of one import are one experiment: one file per mode and the same predicted model
 * (refused otherwise). The modes are paired on the index column; files whose test rows differ
 * (another count, or another label at the same index) are imported, but the rows that differ
 * are left unpaired and a note says so (returned).
 */
function checkTogether(files: readonly ReleasedExplanations[]): string[] {
  const seen = new Map<PredictMode, string>();
  for (const f of files) {
    const other = seen.get(f.mode);
    if (other !== undefined)
      throw new UserError(`${f.path} and ${other} are both mode ${f.mode}; pass one file per mode`);
    seen.set(f.mode, f.path);
    if (f.rows.length === 0) throw new UserError(`${f.path}: no data rows; expected at least one prediction`);
  }
  const first = files[0]!;
  const notes: string[] = [];
  for (const f of files.slice(1)) {
    if (f.predictedModel !== first.predictedModel)
      throw new UserError(
        `${f.path} predicts ${f.predictedModel}, ${first.path} predicts ${first.predictedModel}; import one experiment (one predicted model) per run directory`,
      );
    const labels = new Map(first.rows.map((r) => [r.index, r.label]));
    const differ = f.rows.filter((r) => labels.get(r.index) !== r.label);
    if (differ.length > 0 || f.rows.length !== first.rows.length) {
      const where = differ[0];
      notes.push(
        `${path.basename(f.path)} does not list the test rows of ${path.basename(first.path)} (${f.rows.length} rows against ${first.rows.length}; ${differ.length} index${differ.length === 1 ? "" : "es"} missing there or labeled otherwise${where ? `, first at line ${where.line}` : ""}): those rows are left unpaired in the differences between modes.`,
      );
    }
  }
  return notes;
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`${file}: file not found; check the path`);
    if (code === "EISDIR") throw new UserError(`${file} is a directory; pass the released CSV files themselves`);
    throw new UserError(`${file}: cannot read it (${(err as Error).message})`);
  }
}

function importNotes(
  read: readonly { file: ReleasedExplanations }[],
  modelName: string,
  defaultModel: boolean,
): string[] {
  const first = read[0]!.file;
  const trueRows = first.rows.filter((r) => r.label).length;
  const unparsed = read.reduce((n, r) => n + r.file.rows.filter((x) => x.predicted === null).length, 0);
  return [
    `Imported from the paper's released predictions (${read.map((r) => path.basename(r.file.path)).join(", ")}): no model was run here. The predictor (${modelName}${defaultModel ? ", the paper's; --model-name names another" : ""}) predicted ${first.predictedModel}'s action choices; each record keeps its raw answer, parsed as the paper's analysis does (the second space-separated field of "Label: True ..."), and the released label.`,
    `The files do not name the VIA rows of their ${first.rows.length} test rows (${trueRows} labeled True, ${first.rows.length - trueRows} False): records carry the file's index column instead (row null, country/topic/value ""), and the modes are paired on it. The sampling settings in config.suiteOptions are the paper's (${DEFAULT_TRAIN_PER_LABEL} training examples per label, temperature ${PAPER_TEMPERATURE}), not read from the files.`,
    unparsed > 0
      ? `${unparsed} answer${unparsed === 1 ? "" : "s"} could not be parsed (kept with parsed.ok=false and a reason; left out of the metrics, and counted).`
      : "Every answer parsed.",
    `cacheKey of an imported record: ${EXPLANATIONS_CACHE_KEY_RULE}.`,
  ];
}

/** The per-file lines printed after an import. */
export function formatExplanationsSummary(result: ImportExplanationsResult): string {
  const lines = result.files.map(
    (f) =>
      `${path.basename(f.path)}: ${f.rows} test rows, ${f.kept} parsed${f.dropped > 0 ? `, ${f.dropped} unparsed` : ""}`,
  );
  return lines.join("\n") + "\n";
}
