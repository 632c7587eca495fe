/**
 * A dilemma record: the envelope (src/records/records.ts) around the dilemma, its value and
 * topic, and the persona it was asked under (always one; kind "none" is the baseline).
 *
 * `country` is the country persona's country, and "" under other personas; `variant` is always
 * null. Both are kept for the files made before suites had their own records (same bytes, same
 * cache keys), and are not read by anything of this suite but the country persona.
 */
import { z } from "zod";
import { PersonaRefSchema, suiteRecordSchema } from "../../records/records.js";

export const DilemmaRecordSchema = suiteRecordSchema(
  ["sixpoint"],
  { country: z.string(), topic: z.string(), value: z.string(), variant: z.null() },
  { dilemma: z.string(), persona: PersonaRefSchema },
);
export type DilemmaRecord = z.infer<typeof DilemmaRecordSchema>;
