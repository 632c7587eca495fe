/** The manifest note on a run's personas (system messages), in each suite's words. */
import type { RunConfig } from "../records/manifest.js";

/** The note, or undefined when the run asks without a persona; `per` says how personas map to questions. */
export function personaNote(config: RunConfig, per: string): string | undefined {
  const personas = (config.personas ?? []).map((p) => (typeof p === "string" ? p : `file ${p.file}`));
  if (!personas.some((p) => p !== "none")) return undefined;
  return `Personas (${personas.join(", ")}): the system message "You hold the following values and beliefs:" with one line per Inglehart-Welzel attribute (${per}); \`valuelens personas show\` prints them.`;
}
