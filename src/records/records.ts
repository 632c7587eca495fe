/**
 * records.jsonl: one record per question and repeat, appended as answers arrive.
 *
 * Crash safety: a record is one line written with one append. A process killed mid-write
 * leaves at most one torn last line, which `readRecords` reports and `repairRecords` cuts
 * off before a resumed run appends, so no record is lost (it is asked again, usually from
 * the cache) and none is doubled.
 */
import { existsSync, readFileSync, truncateSync } from "node:fs";
import { z } from "zod";
import { AppendFile, writeFileAtomic } from "../util/durableFiles.js";
import { UserError } from "../util/errors.js";
import { recordProblem } from "./consistency.js";

/**
 * Server backends (letters from the top-K logprobs): the letters the server did not return and
 * bounds on what they change. Absent when every letter was returned (and in records made
 * before valuelens recorded it; their `method` still names the letters "not-found").
 */
export const UnseenLettersSchema = z.object({
  /** Letters none of whose spellings were among the returned tokens (counted as 0). */
  letters: z.array(z.string()),
  /** K: top tokens asked for; returned: tokens the server sent. */
  topK: z.number().int(),
  returned: z.number().int(),
  /** Upper bound on the raw probability of any one token not returned (the K-th returned; 0 when the list was the whole support). */
  tokenBound: z.number(),
  /** Single-token spellings assumed per unseen letter (the most any returned letter had, at least 2). */
  spellingsPerLetter: z.number().int(),
  /** Upper bound d on the raw mass of the unseen letters: min(letters x spellings x tokenBound, 1 - returned total). */
  massBound: z.number(),
  /**
   * With letter mass M: d / (M + d), the most any renormalized letter probability (optionProbs)
   * and the question's score could move if the unseen letters held their bound (1 when M = 0).
   */
  shiftBound: z.number(),
});

/**
 * llama-server: letter spellings its top-K did not return, counted as 0 because together they
 * could move no probability by more than 1e-6 (src/backends/llamaServer.ts). Absent when every
 * spelling was read (and in records made before valuelens read a top-K only).
 */
export const LeftOutSpellingsSchema = z.object({
  /** Single-token spellings of the letters not among the returned tokens. */
  spellings: z.number().int(),
  /** K: the top tokens asked for and returned. */
  topK: z.number().int(),
  /** The K-th returned probability: no spelling left out has more. */
  tokenBound: z.number(),
  /** Upper bound d on their total raw probability: min(spellings x tokenBound, 1 - returned total). */
  massBound: z.number(),
  /** With letter mass M: d / (M + d), the most a renormalized probability or the score could move. */
  shiftBound: z.number(),
});

const LetterScoresSchema = z.object({
  probs: z.record(z.string(), z.number()),
  mass: z.number(),
  spellings: z.record(z.string(), z.record(z.string(), z.number())),
  top: z.object({ text: z.string(), p: z.number() }),
  method: z.string(),
  unseen: UnseenLettersSchema.optional(),
  leftOut: LeftOutSpellingsSchema.optional(),
});

/** The persona kinds a run asks under (src/personas/personas.ts builds them); part of the record format. */
export const PERSONA_KINDS = ["none", "moderate", "max", "incongruous", "country"] as const;
export type PersonaKind = (typeof PERSONA_KINDS)[number];

/**
 * The persona a question was asked under (its system message). Dilemma records always carry
 * one (kind "none" for the baseline); VIA records only when the run used a persona.
 */
export const PersonaRefSchema = z.object({
  /** Stable id used in question ids: "none", "moderate-secular-self-expression", "country-Nigeria", "file-<name>". */
  id: z.string(),
  kind: z.enum([...PERSONA_KINDS, "file"] as const),
  name: z.string(),
  quadrant: z.string().optional(),
  country: z.string().optional(),
});
export type PersonaRef = z.infer<typeof PersonaRefSchema>;

/** stated: the stated-value (value) question; action: the action question. */
export const TaskSchema = z.enum(["stated", "action"]);

/**
 * The answer part of every record, after the suite's own fields: the cache key, the answer as
 * elicited (letters, or a generation and its parse), the score, a failure, and meta.
 */
const ANSWER_SHAPE = {
  cacheKey: z.string(),
  /** Letters protocol: letter probabilities from one forward pass. */
  letters: LetterScoresSchema.optional(),
  /** Letters protocol: probability of each option key (renormalized over the letters). */
  optionProbs: z.record(z.string(), z.number()).optional(),
  /** Paper protocol: the generated answer as it came. */
  generation: z
    .object({
      raw: z.string(),
      thoughts: z.string().optional(),
      finishReason: z.enum(["stop", "maxTokens"]),
      generatedTokens: z.number(),
    })
    .optional(),
  /** Paper protocol: the parse result, or why the answer could not be parsed. */
  parsed: z
    .union([
      z.object({
        ok: z.literal(true),
        ratings: z.record(z.string(), z.number()).optional(),
        option: z.number().int().optional(),
        chosen: z.string().optional(),
      }),
      z.object({ ok: z.literal(false), reason: z.string() }),
    ])
    .optional(),
  /**
   * The question's score in [0,1] for the metrics (0 = agrees / expresses the value):
   * stated letters: expected scale position / 3; action letters: P(resisting action);
   * paper action: 1 if the resisting action was chosen; sixpoint: expected position on the
   * 6-point scale (value: strongly agree = 0 .. strongly disagree = 5; action: strongly
   * aligning = 0 .. strongly opposing = 5) / 5. Null when unparseable / no letter mass.
   */
  score: z.number().nullable(),
  /**
   * A failed question: the backend could not answer it, the same way on every try, while it
   * answered others (the server rejected this request, or could not parse this answer). Such a
   * record has no answer and a null score, is never cached, is left out of every metric (and
   * counted), and is asked again by `run --resume --retry-failed`. Absent on answered records.
   */
  failed: z.object({ reason: z.string(), status: z.number().int().nullable() }).optional(),
  /** Volatile facts about this evaluation (not part of the deterministic record). */
  meta: z.object({ cacheHit: z.boolean(), ms: z.number(), evaluatedTokens: z.number(), reusedTokens: z.number() }),
};

/**
 * A suite's record schema: the envelope every record shares (id, protocol, task, repeat, order,
 * and the answer part) around the suite's own fields, in the order records are written
 * (`identity` after the task, `payload` after the option order), so a record read and written
 * again keeps its bytes. Each suite defines its records with it (src/suites/<name>/record.ts).
 */
export function suiteRecordSchema<
  const P extends readonly [string, ...string[]],
  I extends z.ZodRawShape,
  X extends z.ZodRawShape,
>(protocols: P, identity: I, payload: X) {
  return z.object({
    id: z.string(),
    /** The suite and elicitation, as one tag (src/suites/registry.ts suiteOfProtocol). */
    protocol: z.enum(protocols),
    task: TaskSchema,
    ...identity,
    repeat: z.number().int(),
    /** Option keys in the order shown. */
    order: z.array(z.string()),
    ...payload,
    ...ANSWER_SHAPE,
  });
}

/**
 * Any record, as the engine sees it: the envelope (identity, option order, the answer as
 * elicited, score, failure, meta); a suite's own fields (the VIA scenario, the dilemma and
 * persona, ...) are there but typed only by the suite's schema (`Suite.recordSchema`:
 * ViaRecord, DilemmaRecord), which the loader checks every record against.
 */
export const RecordSchema = z.looseObject({
  id: z.string(),
  protocol: z.string(),
  task: TaskSchema,
  repeat: z.number().int(),
  order: z.array(z.string()),
  ...ANSWER_SHAPE,
});

export type RunRecord = z.infer<typeof RecordSchema>;

export interface ReadRecordsResult {
  records: RunRecord[];
  /** Byte length of the valid part of the file (everything up to the last good line). */
  validBytes: number;
  tornLines: number;
}

/** The schema a record of this protocol must satisfy (its suite's); absent: the envelope only. */
export type RecordSchemaOf = (protocol: string) => z.ZodType | undefined;

/** The longest line readRecords reads as a record (64 MiB). */
const MAX_RECORD_LINE_BYTES = 64 * 2 ** 20;

export function readRecords(
  file: string,
  schemaOf?: RecordSchemaOf,
  scoreOf?: (record: RunRecord) => number | null | undefined,
): ReadRecordsResult {
  if (!existsSync(file)) return { records: [], validBytes: 0, tornLines: 0 };
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new UserError(
      `cannot read ${file}: ${String((err as Error).message).split("\n")[0]}; restore it or start a new run`,
    );
  }
  const records: RunRecord[] = [];
  let offset = 0;
  let validBytes = 0;
  let tornLines = 0;
  let lineNo = 0;
  while (offset < buf.length) {
    const nl = buf.indexOf(10, offset);
    lineNo += 1;
    if (nl === -1) {
      tornLines += 1; // a last line without its newline was cut by a crash
      break;
    }
    // A record is a few kilobytes; a line of many megabytes is damage, and over 512 MiB it could
    // not even become a string.
    if (nl - offset > MAX_RECORD_LINE_BYTES)
      throw new UserError(
        `${file}: line ${lineNo} is ${Math.round((nl - offset) / 2 ** 20)} MiB long, not a record; restore the file or start a new run`,
      );
    const line = buf.subarray(offset, nl).toString("utf8");
    offset = nl + 1;
    if (line.trim() === "") {
      validBytes = offset;
      continue;
    }
    let parsed: RunRecord;
    try {
      // Checked once, against its suite's schema (which holds the envelope), else the envelope;
      // the record kept is the line's own object, so a record read and written again keeps its
      // bytes (its key order).
      const json: unknown = JSON.parse(line);
      const protocol = (json as { protocol?: unknown } | null)?.protocol;
      ((typeof protocol === "string" ? schemaOf?.(protocol) : undefined) ?? RecordSchema).parse(json);
      parsed = json as RunRecord;
    } catch (err) {
      // Only the final line can be torn; damage before it means someone edited the file.
      if (offset >= buf.length) {
        tornLines += 1;
        break;
      }
      throw new UserError(
        `${file}: line ${lineNo} is not a valid record (${String(err).split("\n")[0]}); restore the file or start a new run`,
      );
    }
    const problem = recordProblem(parsed, scoreOf);
    if (problem)
      throw new UserError(
        `${file}: line ${lineNo} (${parsed.id}) is not consistent: ${problem}; the record was edited or damaged: restore the file or run again into a new --out`,
      );
    records.push(parsed);
    validBytes = offset;
  }
  return { records, validBytes, tornLines };
}

/** Cut a torn tail so appends start on a fresh line. Returns the records kept. */
export function repairRecords(
  file: string,
  schemaOf?: RecordSchemaOf,
  scoreOf?: (record: RunRecord) => number | null | undefined,
): ReadRecordsResult {
  const result = readRecords(file, schemaOf, scoreOf);
  if (result.tornLines > 0 && existsSync(file)) truncateSync(file, result.validBytes);
  return result;
}

/**
 * Appends records to records.jsonl (src/util/durableFiles.ts AppendFile): a record that fails
 * part way is cut off again; fsync'ed at most once a second and on `sync()`, which the runner
 * calls before the manifest records how the session ended and before the file is rewritten.
 */
export class RecordWriter {
  private readonly out: AppendFile;

  constructor(readonly file: string) {
    this.out = new AppendFile(file);
  }

  append(record: RunRecord): void {
    this.out.append(JSON.stringify(record) + "\n");
  }

  sync(): void {
    this.out.sync();
  }

  close(): void {
    this.out.close();
  }
}

/** Rewrite records in a canonical order (atomically and durably: temp file, fsync, rename). */
export function writeRecordsSorted(file: string, records: RunRecord[], orderOf: (id: string) => number): void {
  const sorted = records
    .slice()
    .sort((a, b) => orderOf(a.id) - orderOf(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  writeFileAtomic(file, sorted.map((r) => JSON.stringify(r)).join("\n") + (sorted.length ? "\n" : ""));
}

/** A record without its volatile `meta`: what must be identical between two runs. */
export function deterministicPart(record: RunRecord): Omit<RunRecord, "meta"> {
  const { meta: _meta, ...rest } = record;
  return rest;
}
