/**
 * The labels of the prediction experiment: which VIA actions the predicted model chose, read
 * from a finished VIA run directory (a `valuelens run` of the VIA suite, or a Task-2 file
 * imported with `valuelens import official`).
 *
 * Every action record names the VIA rows of its two actions (`viaRows`). A row's choice
 * probability is the mean, over the records that show it, of the probability that the model
 * chose it: letters: the option probability of its action (P(positive) for the positive row,
 * P(negative) for the negative one), averaged over repeats, whose option orders are balanced;
 * paper protocol: 1 when the parsed answer chose it, else 0 (averaged over prompt variants).
 * A row is labeled `True` when that mean is above 0.5 and `False` when below; a row at exactly
 * 0.5 is a tie, excluded and counted. Records without a choice (failed, no letter mass,
 * unparsed) are excluded and counted by reason; so are rows left with none.
 *
 * The run is read with the records layer only (not src/runs/), so this suite's folder stays
 * below the registry.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { readManifest, type Manifest } from "../../records/manifest.js";
import { readRecords } from "../../records/records.js";
import { UserError } from "../../util/errors.js";
import { digestOf } from "../../util/hash.js";
import { ViaRecordSchema, type ViaRecord } from "../via/record.js";

export interface PredictLabels {
  /** The run directory, resolved. */
  dir: string;
  manifest: Manifest;
  /** How the run answered: "letters" (order-balanced probabilities) or "paper" (parsed choices). */
  method: "letters" | "paper";
  /** VIA row -> whether the model chose the row's action. */
  labels: Map<number, boolean>;
  /** Rows whose mean choice probability is exactly 0.5 (excluded). */
  ties: number[];
  /** Action records without a choice, by reason (excluded). */
  excludedRecords: Record<string, number>;
  /** sha256 of the labels (sorted rows and their labels): what the config stores. */
  digest: string;
}

/** The digest of a set of labels: the same labels give the same digest in any process. */
export function labelsDigest(labels: ReadonlyMap<number, boolean>): string {
  return digestOf([...labels.entries()].sort((a, b) => a[0] - b[0]));
}

function requireRun(dir: string): Manifest {
  const abs = path.resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new UserError(`--labels ${dir}: no such run directory; pass the --out directory of a finished VIA run`);
  const manifest = readManifest(abs);
  if (!manifest)
    throw new UserError(
      `--labels ${dir} is not a run directory (no manifest.json); pass the --out directory of a finished VIA run`,
    );
  return manifest;
}

/** The labels of the VIA run in `dir` (a one-line UserError when it is not one). */
export function labelsFromRun(dir: string): PredictLabels {
  const abs = path.resolve(dir);
  const manifest = requireRun(abs);
  const protocol = manifest.config.protocol;
  if (protocol !== "letters" && protocol !== "paper")
    throw new UserError(
      `--labels ${dir} is a run of protocol "${protocol}", not a VIA run; pass the --out directory of a VIA run (--protocol letters or paper)`,
    );
  if (manifest.config.personas)
    throw new UserError(
      `--labels ${dir} was asked under personas; the prediction experiment takes the model's own choices: use a VIA run without --persona`,
    );
  if (manifest.status !== "complete")
    throw new UserError(
      `--labels ${dir} is ${manifest.status}, not a finished run; finish it first (valuelens run --out ${dir} --resume)`,
    );
  const { records, tornLines } = readRecords(path.join(abs, "records.jsonl"), () => ViaRecordSchema);
  if (tornLines > 0) throw new UserError(`--labels ${dir}: records.jsonl ends in a torn line; resume the run first`);
  const sums = new Map<number, { sum: number; n: number }>();
  const excludedRecords: Record<string, number> = {};
  const exclude = (reason: string) => (excludedRecords[reason] = (excludedRecords[reason] ?? 0) + 1);
  const add = (row: number, p: number) => {
    const s = sums.get(row) ?? { sum: 0, n: 0 };
    s.sum += p;
    s.n += 1;
    sums.set(row, s);
  };
  for (const raw of records) {
    const r = raw as ViaRecord;
    if (r.task !== "action" || !r.viaRows) continue;
    if (r.failed) {
      exclude("failed question");
      continue;
    }
    let pPositive: number;
    if (protocol === "letters") {
      const probs = r.optionProbs;
      if (!probs || !(r.letters && r.letters.mass > 0)) {
        exclude("no letter mass");
        continue;
      }
      pPositive = probs.positive ?? 0;
      add(r.viaRows.positive, pPositive);
      add(r.viaRows.negative, probs.negative ?? 0);
      continue;
    }
    if (!r.parsed?.ok || (r.parsed.chosen !== "positive" && r.parsed.chosen !== "negative")) {
      exclude("unparsed answer");
      continue;
    }
    pPositive = r.parsed.chosen === "positive" ? 1 : 0;
    add(r.viaRows.positive, pPositive);
    add(r.viaRows.negative, 1 - pPositive);
  }
  const labels = new Map<number, boolean>();
  const ties: number[] = [];
  for (const row of [...sums.keys()].sort((a, b) => a - b)) {
    const { sum, n } = sums.get(row)!;
    const mean = sum / n;
    if (mean === 0.5) ties.push(row);
    else labels.set(row, mean > 0.5);
  }
  if (labels.size === 0)
    throw new UserError(`--labels ${dir}: the run holds no action choice (no Task-2 records with an answer)`);
  return {
    dir: abs,
    manifest,
    method: protocol,
    labels,
    ties,
    excludedRecords,
    digest: labelsDigest(labels),
  };
}
