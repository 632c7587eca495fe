// Loaded runs as one suite's. The run-directory loader checks every record against its suite's
// schema (Suite.recordSchema) but hands back the envelope type (RunRecord); a test that gives
// loaded runs to a suite's own function parses their records with that schema, as the loader did.
import { z } from "zod";
import type { RunRecord } from "../../src/records/records.js";
import type { CompareInput } from "../../src/suites/compare.js";

/** A comparison's input whose runs' records are parsed with the suite's record schema. */
export function suiteCompareInput<R extends RunRecord>(schema: z.ZodType<R>, input: CompareInput): CompareInput<R> {
  return { ...input, runs: input.runs.map((run) => ({ ...run, records: z.array(schema).parse(run.records) })) };
}
