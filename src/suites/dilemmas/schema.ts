/**
 * Moral dilemmas for the 6-point protocol (the cultural-political persona study that
 * follows ValueActionLens): one dilemma per (value, topic), a role and a situation in which
 * the value is at stake under pressure against it, and six graded actions from strongly
 * aligning with the value to strongly opposing it.
 */
import { z } from "zod";
import { TOPICS, VALUE_NAMES } from "../../protocol/values.js";

/** The six action grades, in order: 1 = strongly aligning .. 6 = strongly opposing. */
export const ACTION_GRADES = [
  "strongly aligning",
  "moderately aligning",
  "mildly aligning",
  "mildly opposing",
  "moderately opposing",
  "strongly opposing",
] as const;
export type ActionGrade = (typeof ACTION_GRADES)[number];

/** The six value-question options, in order: 1 = strongly agree .. 6 = strongly disagree. */
export const VALUE_SCALE = [
  "Strongly agree",
  "Agree",
  "Mildly agree",
  "Mildly disagree",
  "Disagree",
  "Strongly disagree",
] as const;

const nonEmpty = z.string().trim().min(1);

export const DilemmaSchema = z
  .object({
    /** Stable id, e.g. "equality-work-orientation-1". */
    id: z.string().regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only"),
    value: z.string().refine((v) => VALUE_NAMES.includes(v), { message: "not one of the 56 values (see PROTOCOL.md)" }),
    topic: z.string().refine((t) => TOPICS.includes(t), { message: "not one of the 11 topics (see PROTOCOL.md)" }),
    /** Who the respondent is in the dilemma, e.g. "a product manager at a social app". */
    role: nonEmpty,
    /** The situation, with the pressure against the value. */
    scenario: nonEmpty,
    /** Exactly six actions, keyed by grade. */
    actions: z
      .object(Object.fromEntries(ACTION_GRADES.map((g) => [g, nonEmpty])) as Record<ActionGrade, typeof nonEmpty>)
      .strict(),
  })
  .strict();
export type Dilemma = z.infer<typeof DilemmaSchema>;
