/**
 * What the generation step asks for: the JSON schemas the decoder is constrained by (a
 * node-llama-cpp JSON-schema grammar; the same object suits Ollama's `format`), and the
 * checks every generated item passes before it is written (zod, plus refusal and
 * empty-text detection: the grammar guarantees the shape, never the content).
 */
import { z } from "zod";
import { ACTION_GRADES, DilemmaSchema, type Dilemma } from "../suites/dilemmas/schema.js";

/** Default cap on the characters of each generated string (enforced by the grammar). */
export const DEFAULT_MAX_CHARS = 600;

function str(maxChars: number): { type: "string"; minLength: number; maxLength: number } {
  return { type: "string", minLength: 1, maxLength: maxChars };
}

/** The schema of a generated dilemma: id, value and topic are ours, not the model's. */
export function dilemmaJsonSchema(maxChars = DEFAULT_MAX_CHARS): object {
  return {
    type: "object",
    properties: {
      role: str(maxChars),
      scenario: str(maxChars),
      actions: {
        type: "object",
        properties: Object.fromEntries(ACTION_GRADES.map((g) => [g, str(maxChars)])),
        required: [...ACTION_GRADES],
        additionalProperties: false,
      },
    },
    required: ["role", "scenario", "actions"],
    additionalProperties: false,
  };
}

/** The fields of one VIA generation, in the released order. */
export const VIA_FIELDS = ["Human Action", "Feature Attributions", "Natural Language Explanation"] as const;

/** The schema of a VIA generation: the action, 1-5 feature attributions and an explanation. */
export function viaJsonSchema(maxChars = DEFAULT_MAX_CHARS): object {
  return {
    type: "object",
    properties: {
      "Human Action": str(maxChars),
      "Feature Attributions": { type: "array", items: str(Math.min(maxChars, 120)), minItems: 1, maxItems: 5 },
      "Natural Language Explanation": str(maxChars),
    },
    required: [...VIA_FIELDS],
    additionalProperties: false,
  };
}

const text = z.string().trim().min(1, "empty or whitespace-only text");

export const ViaGenerationSchema = z
  .object({
    "Human Action": text,
    "Feature Attributions": z.array(text).min(1),
    "Natural Language Explanation": text,
  })
  .strict();
export type ViaGeneration = z.infer<typeof ViaGenerationSchema>;

/** Openings of a refusal ("I'm sorry", "I can't", "As an AI ..."). */
const REFUSAL =
  /^\W*(?:i['\u2019]?m sorry|sorry|i apologi[sz]e|apologies|unfortunately|as an ai\b|i (?:cannot|can['\u2019]?t|won['\u2019]?t|am unable|['\u2019]?m unable|must decline|am not able|will not))/i;

export function isRefusal(s: string): boolean {
  return REFUSAL.test(s);
}

export type ItemProblem = "truncated" | "invalid-json" | "invalid" | "refusal";

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: ItemProblem; detail: string };

function snippet(s: string, n = 60): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n)}...` : one;
}

/** Parse a generation's JSON object; a cut-off answer is "truncated". */
export function parseJsonAnswer(raw: string, finishReason: "stop" | "maxTokens"): Checked<unknown> {
  const body = raw.trim();
  try {
    const obj: unknown = JSON.parse(body);
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      return { ok: false, reason: "invalid-json", detail: `not a JSON object: ${snippet(body)}` };
    }
    return { ok: true, value: obj };
  } catch {
    if (finishReason === "maxTokens")
      return { ok: false, reason: "truncated", detail: "the answer hit --max-tokens before the JSON closed" };
    if (isRefusal(body)) return { ok: false, reason: "refusal", detail: `refusal: ${snippet(body)}` };
    return { ok: false, reason: "invalid-json", detail: `not JSON: ${snippet(body)}` };
  }
}

function refusalIn(strings: string[]): string | undefined {
  return strings.find((s) => isRefusal(s));
}

function zodDetail(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  return `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`;
}

/** A dilemma for (value, topic) from the model's object; the id is `<value>-<topic>` slugged. */
export function checkDilemma(obj: unknown, value: string, topic: string): Checked<Dilemma> {
  const o = (obj ?? {}) as Record<string, unknown>;
  const candidate = {
    id: dilemmaId(value, topic),
    value,
    topic,
    role: o.role,
    scenario: o.scenario,
    actions: o.actions,
  };
  const extra = Object.keys(o).filter((k) => !["role", "scenario", "actions"].includes(k));
  if (extra.length > 0) return { ok: false, reason: "invalid", detail: `unexpected field "${extra[0]}"` };
  const parsed = DilemmaSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, reason: "invalid", detail: zodDetail(parsed.error) };
  const d = parsed.data;
  const refusal = refusalIn([d.role, d.scenario, ...Object.values(d.actions)]);
  if (refusal !== undefined) return { ok: false, reason: "refusal", detail: `refusal: ${snippet(refusal)}` };
  return { ok: true, value: d };
}

export function checkViaGeneration(obj: unknown): Checked<ViaGeneration> {
  const parsed = ViaGenerationSchema.safeParse(obj);
  if (!parsed.success) return { ok: false, reason: "invalid", detail: zodDetail(parsed.error) };
  const g = parsed.data;
  const refusal = refusalIn([g["Human Action"], g["Natural Language Explanation"], ...g["Feature Attributions"]]);
  if (refusal !== undefined) return { ok: false, reason: "refusal", detail: `refusal: ${snippet(refusal)}` };
  return { ok: true, value: g };
}

export function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

export function dilemmaId(value: string, topic: string): string {
  return `${slug(value)}-${slug(topic)}`;
}
