/**
 * The generate elicitation: the model writes its answer (greedily), and the suite parses it
 * (`Suite.parseAnswer`). The raw text is kept, and an answer that cannot be parsed is recorded
 * with the reason, never dropped.
 */
import type { RunRecord } from "../records/records.js";
import type { ParsedAnswer } from "../suites/suite.js";

/** A generated answer as cached. */
export interface CachedGeneration {
  kind: "generation";
  text: string;
  thoughts?: string;
  finishReason: "stop" | "maxTokens";
  generatedTokens: number;
}

/** Generation is greedy: the paper's answers are decoded at temperature 0 here. */
export const GREEDY = { temperature: 0 } as const;

/** The record's `generation` field: the answer as it came. */
export function generationField(value: CachedGeneration): NonNullable<RunRecord["generation"]> {
  return {
    raw: value.text,
    ...(value.thoughts ? { thoughts: value.thoughts } : {}),
    finishReason: value.finishReason,
    generatedTokens: value.generatedTokens,
  };
}

/** A parse failure of an answer cut by the generation cap says so. */
export function withCapNote(parsed: ParsedAnswer, finishReason: CachedGeneration["finishReason"]): ParsedAnswer {
  if (parsed.ok || finishReason !== "maxTokens") return parsed;
  return { ok: false, reason: `${parsed.reason} (the answer hit the generation cap)` };
}
