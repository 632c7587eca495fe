/**
 * The chat-template variables that change a prompt, pinned by valuelens so the same question
 * reaches a model as the same tokens on every backend, on every day (a llama-server renders
 * Llama 3.x's `date_string` and GPT-OSS's `strftime_now` from the clock; Qwen3 thinks unless
 * told not to; GPT-OSS's system message carries the reasoning effort).
 *
 * Which of them a template reads is recorded in the manifest and is part of the cache key
 * (through the rendered prompt, and through `BackendInfo.outputOptions.template`).
 */

/** The calendar date every template sees: Llama 3.x's own default ("26 Jul 2024"). */
export const PINNED_DATE = { year: 2024, month: 7, day: 26 } as const;

/** Thinking off: letters are read where the final answer begins, and answers are not preceded by thoughts. */
export const PINNED_ENABLE_THINKING = false;

/** GPT-OSS's reasoning effort (its template's default). The answer is read in the final channel either way. */
export const PINNED_REASONING_EFFORT = "medium";

/** How a persona reaches a model whose template has no system role: prepended to the user message with this separator. */
export const FOLDED_SYSTEM_SEPARATOR = "\n\n";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTHS_LONG = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** C `strftime` on the pinned date at 00:00:00 (the directives chat templates use). */
export function strftimePinned(format: string): string {
  const { year, month, day } = PINNED_DATE;
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const two = (n: number) => String(n).padStart(2, "0");
  const table: Record<string, string> = {
    Y: String(year),
    y: two(year % 100),
    m: two(month),
    d: two(day),
    e: String(day).padStart(2, " "),
    b: MONTHS[month - 1]!,
    h: MONTHS[month - 1]!,
    B: MONTHS_LONG[month - 1]!,
    a: DAYS[weekday]!.slice(0, 3),
    A: DAYS[weekday]!,
    j: String(Math.round((Date.UTC(year, month - 1, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1).padStart(3, "0"),
    H: "00",
    I: "12",
    M: "00",
    S: "00",
    p: "AM",
    F: `${year}-${two(month)}-${two(day)}`,
    D: `${two(month)}/${two(day)}/${two(year % 100)}`,
    T: "00:00:00",
    "%": "%",
  };
  return format.replace(/%(.)/g, (m, c: string) => table[c] ?? m);
}

/** The template variables valuelens sets (the values templates read by name). */
export function pinnedTemplateVariables(): Record<string, string | boolean> {
  return {
    date_string: strftimePinned("%d %b %Y"),
    enable_thinking: PINNED_ENABLE_THINKING,
    reasoning_effort: PINNED_REASONING_EFFORT,
  };
}

/**
 * The pinned variables a template actually reads (by name in its source), with their values:
 * what the manifest shows and the cache key holds. `strftime_now` appears as the date it returns.
 */
export function pinnedVariablesUsed(source: string): Record<string, string | boolean> {
  const used: Record<string, string | boolean> = {};
  for (const [name, value] of Object.entries(pinnedTemplateVariables())) {
    if (new RegExp(`\\b${name}\\b`).test(source)) used[name] = value;
  }
  if (/\bstrftime_now\b/.test(source)) used.strftime_now = strftimePinned("%Y-%m-%d");
  return used;
}
