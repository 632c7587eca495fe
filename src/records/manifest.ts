/**
 * manifest.json: what a run is (full config, model and dataset digests, versions, seed,
 * hardware) and where it stands (running, interrupted, complete), written atomically.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { PERSONA_KINDS } from "./records.js";
import { writeFileAtomic } from "../util/durableFiles.js";
import { UserError } from "../util/errors.js";
import { digestOf } from "../util/hash.js";

export const RunConfigSchema = z.object({
  model: z.string(),
  /**
   * The suite and elicitation, as one tag (src/suites/registry.ts suiteOfProtocol): letters /
   * paper: the VIA suite; sixpoint: the dilemma suite; a suite's own tags otherwise. Any string
   * here; the registry refuses a tag no suite knows when the run is read.
   */
  protocol: z.string(),
  tasks: z.array(z.enum(["stated", "action"])),
  repeats: z.number().int().positive(),
  seed: z.number().int(),
  countries: z.array(z.string()).nullable(),
  topics: z.array(z.string()).nullable(),
  values: z.array(z.string()).nullable(),
  limit: z.number().int().positive().nullable(),
  statedVariants: z.array(z.number().int()),
  actionVariants: z.array(z.number().int()),
  statedMaxTokens: z.number().int().positive(),
  actionMaxTokens: z.number().int().positive(),
  /** The dataset: "sample" (shipped with valuelens) or a path to a VIA CSV. */
  via: z.string(),
  /**
   * `--shard I/N`: this run asks only the questions of shard I of N (src/questions/shard.ts).
   * Null or absent for a whole run; then it is left out of the config digest, so whole runs
   * keep the digest they had before shards existed.
   */
  shard: z.object({ index: z.number().int().positive(), count: z.number().int().positive() }).nullable().optional(),
  /** Dilemma suite: the dilemma file ("sample" = the one shipped with valuelens, else an absolute path). */
  dilemmas: z.string().nullable().optional(),
  /**
   * `--persona`: the persona kinds asked (none, moderate, max, incongruous, country) and persona
   * files (with their sha256, so a changed file is a different run). Null or absent = no persona.
   */
  personas: z
    .array(z.union([z.enum(PERSONA_KINDS), z.object({ file: z.string(), sha256: z.string() })]))
    .nullable()
    .optional(),
  /** Dilemma suite: the map quadrants of the moderate/max/incongruous personas (null/absent = all four). */
  quadrants: z.array(z.string()).nullable().optional(),
  /**
   * `--min-letter-mass`: below this mean letter mass the run warns and report.md opens with a
   * warning (absent = 0.5). It changes no answer, so it is never part of the config digest: a
   * resume may set another, and runs made before it existed keep their digest.
   */
  minLetterMass: z.number().min(0).max(1).optional(),
  /**
   * A suite's own settings that decide its questions (its schema is the suite's; the engine
   * only stores, digests and compares them). Null or absent for suites without any (VIA, dilemmas).
   */
  suiteOptions: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type RunConfig = z.infer<typeof RunConfigSchema>;

/**
 * One file of an imported run (`valuelens import official`, `valuelens import explanations`):
 * what was read and what became of it.
 */
export const ImportFileSchema = z.object({
  /** Which option named it: --t1 (Task 1) or --t2 (Task 2); or a released prediction file (explanations). */
  role: z.enum(["t1", "t2", "explanations"]),
  path: z.string(),
  sha256: z.string(),
  /**
   * t1-csv, t2-eval-log, t2-partial-csv or t2-wide-csv (src/suites/via/import/formats.ts);
   * explanations-csv: `<predicted>_explanation_outputs_<mode>.csv` (src/suites/predict/released.ts).
   */
  format: z.enum(["t1-csv", "t2-eval-log", "t2-partial-csv", "t2-wide-csv", "explanations-csv"]),
  /** Data rows (CSV, header excluded) or JSON lines read. */
  rows: z.number().int(),
  records: z.number().int(),
  /** Records with a usable answer (parsed.ok) and those without, by reason. */
  kept: z.number().int(),
  dropped: z.number().int(),
  droppedByReason: z.record(z.string(), z.number()),
  variants: z.array(z.number().int()),
  /** Rows whose content disagrees with the --via dataset (action texts, cells), when --via was given. */
  viaMismatches: z.number().int().optional(),
  warnings: z.array(z.string()).optional(),
});
export type ImportFile = z.infer<typeof ImportFileSchema>;

export const ImportSchema = z.object({
  files: z.array(ImportFileSchema),
  /** How each record's cacheKey was made (imported records have no prompt to key on). */
  cacheKeyRule: z.string(),
});

/**
 * The manifest's backend: what src/backends/backend.ts `BackendInfo` says about the engine and
 * the model (written by the runner in this order), plus `modelSha256`. Imported runs have only
 * engine "imported", the model and its digest. Unknown fields (a later version's) are kept.
 */
export const ManifestBackendSchema = z.looseObject({
  engine: z.string(),
  engineVersion: z.string().optional(),
  model: z.looseObject({
    name: z.string(),
    path: z.string().optional(),
    sha256: z.string(),
    bytes: z.number().optional(),
    architecture: z.string().optional(),
    description: z.string().optional(),
  }),
  modelSha256: z.string(),
  /** Load options that can change outputs (part of the cache key). */
  outputOptions: z.record(z.string(), z.unknown()).optional(),
  /** Load options that do not (reported only). */
  otherOptions: z.record(z.string(), z.unknown()).optional(),
  chatWrapper: z.string().optional(),
  reasoning: z.enum(["none", "empty-thinking-block", "final-channel"]).optional(),
  letterMethod: z.enum(["logprobs", "sampled"]).optional(),
});
export type ManifestBackend = z.infer<typeof ManifestBackendSchema>;

export const ManifestSchema = z.object({
  tool: z.object({ name: z.literal("valuelens"), version: z.string() }),
  status: z.enum(["running", "interrupted", "failed", "complete"]),
  imported: z.boolean().default(false),
  /** Imported runs: the files read and what became of each row. */
  import: ImportSchema.optional(),
  config: RunConfigSchema,
  /** sha256 of the config that decides which questions and answers the run holds. */
  configDigest: z.string(),
  /** VIA: rows and usable actions; dilemmas: rows = dilemmas in the file, usableActions = dilemmas x 6 actions. */
  dataset: z.object({ path: z.string(), sha256: z.string(), rows: z.number(), usableActions: z.number() }),
  backend: ManifestBackendSchema,
  /**
   * failed: questions recorded as failed (no answer; left out of the metrics; `run --resume
   * --retry-failed` asks them again). Absent when none is (and in runs made before).
   */
  questions: z.object({
    total: z.number(),
    byTask: z.record(z.string(), z.number()),
    failed: z.number().int().optional(),
  }),
  /** Notes on how answers were obtained (reasoning handling, repeats in the paper protocol, ...). */
  notes: z.array(z.string()),
  versions: z.record(z.string(), z.string()),
  hardware: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /**
   * Why the last session stopped early: a backend that stayed unavailable after its retries
   * ("backend-unavailable"; the run is "interrupted" and resumable) or another error ("error";
   * the run is "failed"). Absent when the last session ran to its end.
   */
  lastError: z
    .object({
      kind: z.enum(["backend-unavailable", "error"]),
      message: z.string(),
      endpoint: z.string().nullable(),
      at: z.string(),
    })
    .optional(),
  /**
   * What valuelens wrote into records.jsonl when it last wrote this manifest: the length and
   * sha256 of the file's first `bytes` bytes (records/recordsDigest.ts). A reader refuses a file
   * whose first `bytes` bytes are no longer those (an edited, replaced or removed record);
   * records appended after (a session killed before its manifest) are checked by --resume.
   * Absent in runs made before, and in imports.
   */
  records: z.object({ bytes: z.number().int().nonnegative(), sha256: z.string() }).optional(),
  /** `valuelens merge`: the run directories (shards) this run was joined from. */
  merged: z
    .object({
      from: z.array(z.string()),
      shards: z.array(
        z.object({
          dir: z.string(),
          shard: z.object({ index: z.number().int(), count: z.number().int() }).nullable(),
          status: z.string(),
          records: z.number().int(),
        }),
      ),
      /** Identical records found in more than one directory (kept once). */
      duplicates: z.number().int(),
      /** Questions of the full run that no directory holds. */
      missing: z.number().int(),
    })
    .optional(),
  /** One entry per invocation (first run and every resume). */
  sessions: z.array(
    z.object({
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      evaluations: z.number(),
      evaluatedTokens: z.number(),
      reusedTokens: z.number(),
      generatedTokens: z.number(),
      cacheHits: z.number(),
      answered: z.number(),
      /** Questions that failed in this session (recorded as failed; absent in older manifests). */
      failed: z.number().int().optional(),
    }),
  ),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export function manifestPath(dir: string): string {
  return path.join(dir, "manifest.json");
}

export function readManifest(dir: string): Manifest | undefined {
  const file = manifestPath(dir);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    throw new UserError(`${file} is not valid JSON; restore it or start a new run in another --out directory`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(
      `${file}: field ${issue?.path.join(".") || "(root)"}: ${issue?.message}; restore it or start a new run`,
    );
  }
  return parsed.data;
}

/** Atomically and durably (temp file, fsync, rename, directory fsync). */
export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(manifestPath(dir), JSON.stringify(manifest, null, 2) + "\n");
}

/** Config fields that change no question and no answer (report settings): never in the config digest, never a difference. */
export const REPORT_ONLY_FIELDS = ["minLetterMass"] as const satisfies readonly (keyof RunConfig)[];

/** The config fields that differ between two configs, for a one-line error (report-only fields never do). */
export function configDifferences(a: RunConfig, b: RunConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunConfig>;
  for (const k of REPORT_ONLY_FIELDS) keys.delete(k);
  // An absent optional field (an older manifest) equals null.
  return [...keys].filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null));
}

/** Config fields added after the first release: left out of the digest when null or absent. */
const LATER_FIELDS = ["shard", "dilemmas", "personas", "quadrants", "suiteOptions"] as const;

/**
 * sha256 of the config. The fields added later (shard, dilemmas, personas, quadrants, suiteOptions) are left
 * out when null or absent, so a run keeps the digest it had before they existed (existing run
 * directories stay resumable); report-only fields (minLetterMass) are always left out.
 */
export function configDigest(config: RunConfig): string {
  const rest: Record<string, unknown> = { ...config };
  for (const k of LATER_FIELDS) if (rest[k] === null || rest[k] === undefined) delete rest[k];
  for (const k of REPORT_ONLY_FIELDS) delete rest[k];
  return digestOf(rest);
}
