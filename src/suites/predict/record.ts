/**
 * A prediction record: the envelope (src/records/records.ts) around the test row's VIA scenario
 * (country, topic, value of the row; `variant` is always null), then the mode, the VIA row and
 * its label (the predicted model's choice). Records imported from the paper's released
 * predictions (`valuelens import explanations`) do not know the VIA row: their `row` is null,
 * their scenario fields are "", and `index` is the released file's test-row index. The answer is P(True) (letters: `score`,
 * `optionProbs.True`) or the generated answer and its parse (`parsed.chosen` "True"/"False").
 */
import { z } from "zod";
import { suiteRecordSchema } from "../../records/records.js";
import { PredictModeSchema } from "./conversation.js";

export const PREDICT_PROTOCOLS = { letters: "predict-letters", generate: "predict-paper" } as const;

export const PredictRecordSchema = suiteRecordSchema(
  [PREDICT_PROTOCOLS.letters, PREDICT_PROTOCOLS.generate],
  { country: z.string(), topic: z.string(), value: z.string(), variant: z.null() },
  {
    mode: PredictModeSchema,
    /** The test row's VIA row; null for an imported record. */
    row: z.number().int().nullable(),
    label: z.boolean(),
    /** Imported records: the released file's index column (the same test row in every mode's file). */
    index: z.number().int().optional(),
  },
);
export type PredictRecord = z.infer<typeof PredictRecordSchema>;
