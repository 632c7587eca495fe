/**
 * A VIA record: the envelope (src/records/records.ts) around the scenario (country, topic), the
 * value asked about (null for the paper's stated prompt, which rates all 56 at once), the paper
 * prompt variant (null for letters), the VIA rows of the two actions (action task) and the
 * persona when the run used one.
 */
import { z } from "zod";
import { PersonaRefSchema, suiteRecordSchema } from "../../records/records.js";

export const ViaRecordSchema = suiteRecordSchema(
  ["letters", "paper"],
  {
    country: z.string(),
    topic: z.string(),
    value: z.string().nullable(),
    variant: z.number().int().nullable(),
  },
  {
    viaRows: z.object({ positive: z.number().int(), negative: z.number().int() }).optional(),
    persona: PersonaRefSchema.optional(),
  },
);
export type ViaRecord = z.infer<typeof ViaRecordSchema>;

/** A record about one value with a score: what the letters metrics average. */
export type ScoredValueRecord = ViaRecord & { value: string; score: number };

export function isScoredValueRecord(r: ViaRecord): r is ScoredValueRecord {
  return r.value !== null && r.score !== null;
}
