/**
 * `valuelens import official`: the paper's released model outputs as an ordinary run directory
 * (manifest.json marked `imported: true`, records.jsonl with the raw answers or released choices,
 * metrics.json and report.md), so that `valuelens report DIR` gives the paper's metrics.
 *
 * Nothing is asked of a model. Records look like those of a `--protocol paper` run: the same ids
 * (a repeated question gets a `/dupN` suffix and every copy enters the averages, as in the
 * released analysis), parsed with the same parsers, scored the same way. Their `cacheKey`
 * names the file and row(s) they came from (CACHE_KEY_RULE).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { loadVia, viaInfo } from "../suites/via/dataset.js";
import type { RunMetrics } from "../suites/via/metrics/fromRecords.js";
import { actionVariantReversed } from "../suites/via/paper.js";
import type { ImportFile, Manifest, RunConfig } from "../records/manifest.js";
import type { RunRecord } from "../records/records.js";
import { UserError } from "../util/errors.js";
import { sha256 } from "../util/hash.js";
import { checkImportOut, importedManifest, writeImportedRun } from "./importedRun.js";
import {
  CACHE_KEY_RULE,
  FORMAT_LABELS,
  type OfficialFormat,
  formatTask,
  indexVia,
  readEvalLog,
  readOfficialFile,
  readPartial,
  readT1,
  readWide,
  type BuiltRecord,
  type FileReadResult,
  type ReadContext,
  type ViaIndex,
} from "../suites/via/import/formats.js";

export interface ImportOfficialOptions {
  /** Task-1 answers (`*_t1.csv`). */
  t1?: string;
  /** Task-2 answers: an eval log (`*_t2_eval_log*.jsonl`), a VIA-layout CSV or the wide layout. */
  t2?: string;
  /** The VIA CSV: needed for an eval log (its rows are VIA row numbers); cross-checks the CSV layouts. */
  via?: string;
  /** The model the outputs came from (the manifest's config.model and backend.model.name). */
  modelName: string;
  out: string;
}

export interface ImportOfficialResult {
  out: string;
  manifest: Manifest;
  records: RunRecord[];
  metrics: RunMetrics;
  files: ImportFile[];
}

/** At most this many warnings per file go into the manifest and the summary. */
const MAX_WARNINGS = 20;

export async function importOfficial(opts: ImportOfficialOptions): Promise<ImportOfficialResult> {
  const inputs = (["t1", "t2"] as const).flatMap((role) =>
    opts[role] !== undefined ? [{ role, file: opts[role] }] : [],
  );
  if (inputs.length === 0)
    throw new UserError("nothing to import: pass --t1 FILE (Task-1 answers) and/or --t2 FILE (Task-2 answers)");
  const modelName = opts.modelName.trim();
  if (modelName === "") throw new UserError("--model-name must not be empty: name the model the outputs came from");

  const out = path.resolve(opts.out);
  checkImportOut(out);

  const via: ViaIndex | undefined =
    opts.via !== undefined ? indexVia(await loadVia(path.resolve(opts.via))) : undefined;

  const ids = new Map<string, number>();
  const built: BuiltRecord[] = [];
  const files: ImportFile[] = [];
  const variants = { stated: new Set<number>(), action: new Set<number>() };
  for (const { role, file } of inputs) {
    const bytes = await readInput(role, file);
    const digest = sha256(bytes);
    const source = readOfficialFile(file, bytes);
    const task = formatTask(source.format);
    if ((role === "t1") !== (task === "stated")) {
      throw new UserError(
        `--${role} ${file} is a ${FORMAT_LABELS[source.format]} (Task ${task === "stated" ? 1 : 2}); pass it with --${task === "stated" ? "t1" : "t2"}`,
      );
    }
    const ctx: ReadContext = { file, sha256: digest, via, ids };
    let got: FileReadResult;
    if (source.format === "t2-eval-log") got = readEvalLog(ctx, source.lines);
    else if (source.format === "t1-csv") got = readT1(ctx, source.table);
    else if (source.format === "t2-partial-csv") got = readPartial(ctx, source.table);
    else got = readWide(ctx, source.table);
    if (got.built.length === 0) throw new UserError(`${file}: no data rows; expected at least one answer`);
    built.push(...got.built);
    for (const v of got.variants) variants[task].add(v);
    files.push(fileSummary(role, path.resolve(file), digest, source.format, got));
  }

  const records = built.map((b) => b.record);
  const tasks = (["stated", "action"] as const).filter((t) => records.some((r) => r.task === t));
  const statedVariants = [...variants.stated].sort((a, b) => a - b);
  const actionVariants = [...variants.action].sort((a, b) => a - b);
  const config: RunConfig = {
    model: modelName,
    protocol: "paper",
    tasks,
    repeats: 1,
    seed: 0,
    countries: null,
    topics: null,
    values: null,
    limit: null,
    statedVariants,
    actionVariants,
    // Not known for released outputs: valuelens' own defaults (see the notes).
    statedMaxTokens: 1024,
    actionMaxTokens: 256,
    via: via ? via.dataset.path : "none",
  };
  const manifest = importedManifest({
    files,
    cacheKeyRule: CACHE_KEY_RULE,
    config,
    dataset: via ? datasetBlock(via) : { path: "none", sha256: "none", rows: 0, usableActions: 0 },
    modelName,
    records,
    notes: importNotes(files, records, actionVariants),
  });
  const metrics = (await writeImportedRun(out, manifest, records)) as RunMetrics; // imported runs are VIA-suite runs
  return { out, manifest, records, metrics, files };
}

function datasetBlock(via: ViaIndex): Manifest["dataset"] {
  const { rows, usableActions } = viaInfo(via.dataset);
  return { path: via.dataset.path, sha256: via.dataset.sha256, rows, usableActions };
}

async function readInput(role: "t1" | "t2", file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UserError(`--${role} ${file}: file not found; check the path`);
    if (code === "EISDIR") throw new UserError(`--${role} ${file} is a directory; pass the released file itself`);
    throw new UserError(`--${role} ${file}: cannot read it (${(err as Error).message})`);
  }
}

function fileSummary(
  role: "t1" | "t2",
  file: string,
  digest: string,
  format: ImportFile["format"],
  got: FileReadResult,
): ImportFile {
  const droppedByReason: Record<string, number> = {};
  let dropped = 0;
  for (const b of got.built) {
    if (b.dropReason === undefined) continue;
    dropped++;
    droppedByReason[b.dropReason] = (droppedByReason[b.dropReason] ?? 0) + 1;
  }
  const warnings =
    got.warnings.length > MAX_WARNINGS
      ? [...got.warnings.slice(0, MAX_WARNINGS), `... and ${got.warnings.length - MAX_WARNINGS} more`]
      : got.warnings;
  return {
    role,
    path: file,
    sha256: digest,
    format,
    rows: got.rows,
    records: got.built.length,
    kept: got.built.length - dropped,
    dropped,
    droppedByReason,
    variants: got.variants,
    ...(got.viaMismatches !== undefined ? { viaMismatches: got.viaMismatches } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

function importNotes(
  files: readonly ImportFile[],
  records: readonly RunRecord[],
  actionVariants: readonly number[],
): string[] {
  const notes = [
    `Imported from the paper's released outputs (${files.map((f) => path.basename(f.path)).join(", ")}): no model was run here. records.jsonl keeps each raw answer where the file has one (Task-1 responses, wide-layout Task-2 answers), else the released choice (model_choice per VIA row), parsed and scored by valuelens as a --protocol paper run would be.`,
    "generation.finishReason and generatedTokens are placeholders (stop, 0) and config.statedMaxTokens/actionMaxTokens are valuelens defaults: the released files do not record them.",
    `cacheKey of an imported record: ${CACHE_KEY_RULE}.`,
  ];
  const dups = records.filter((r) => /\/dup\d+$/.test(r.id)).length;
  if (dups > 0) {
    notes.push(
      `${dups} records repeat a question already in the file (ids ending /dupN): all are kept; Task-1 copies all enter the averages (the released analysis averages every row of a scenario), Task-2 copies: the last one counts.`,
    );
  }
  for (const f of files.filter((f) => f.format === "t2-partial-csv")) {
    notes.push(
      `${path.basename(f.path)}: its \`Unnamed: 0\` column is the VIA CSV's own index column, which restarts in blocks, not the VIA row position; rows were matched to the VIA by (country, topic, value, polarity)${f.viaMismatches === undefined ? " only when --via is given (without it, records carry no viaRows)" : ""}.`,
    );
  }
  if (records.some((r) => r.task === "action")) {
    const first = actionVariants.filter((v) => !actionVariantReversed(v));
    const second = actionVariants.filter((v) => actionVariantReversed(v));
    if (first.length > 0) {
      notes.push(
        `Task 2 variant${first.length > 1 ? "s" : ""} ${first.join(",")}: every answer saw the resisting (negative) action first, as Option 1 (the paper's code), so a model's position bias is confounded with its values.`,
      );
    }
    if (second.length > 0)
      notes.push(
        `Task 2 variant${second.length > 1 ? "s" : ""} ${second.join(",")}: the expressing (positive) action was shown first, as Option 1.`,
      );
    notes.push(
      "Task 2 pairs with both or neither rows chosen, or without a partner row, are kept with parsed.ok=false and count as no choice, which scores 0 (the released analysis' quirk; with both rows chosen it would take the last one). Values never asked in a variant also score 0 there.",
    );
  }
  return notes;
}

/** The per-file lines printed after an import. */
export function formatImportSummary(result: ImportOfficialResult): string {
  const lines: string[] = [];
  for (const f of result.files) {
    const reasons = Object.entries(f.droppedByReason)
      .map(([r, n]) => `${r}: ${n}`)
      .join("; ");
    lines.push(
      `${path.basename(f.path)} (${FORMAT_LABELS[f.format as OfficialFormat]}, variants ${f.variants.join(",")}): ` +
        `${f.rows} rows read, ${f.records} records, ${f.kept} kept, ${f.dropped} dropped${reasons ? ` (${reasons})` : ""}`,
    );
    if (f.viaMismatches !== undefined)
      lines.push(
        `  checked against the VIA CSV: ${f.viaMismatches} row${f.viaMismatches === 1 ? "" : "s"} disagree${f.viaMismatches === 1 ? "s" : ""}`,
      );
    for (const w of f.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  return lines.join("\n") + "\n";
}
