/**
 * The personas of a run, from its config (`--persona`, `--quadrants`, `--countries`): each
 * with the reference recorded on its answers and the system message it puts in the prompt.
 *
 * - Dilemma suite: every persona asks every dilemma. `none` is the baseline (no system
 *   message); `moderate`, `max` and `incongruous` give one persona per quadrant of the map
 *   (all four unless `--quadrants`); `country` one per country (all 12 unless `--countries`);
 *   a persona file one persona.
 * - VIA suite: one persona option; a kind gives each country's scenarios the persona of that
 *   country (`country`: the country's own map position; moderate/max/incongruous: that kind
 *   in the country's quadrant); a file gives every country the same persona.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { COUNTRIES } from "../protocol/values.js";
import type { RunConfig } from "../records/manifest.js";
import type { PersonaRef } from "../records/records.js";
import { UserError } from "../util/errors.js";
import {
  parsePersonaOption,
  personaFor,
  personaForCountry,
  personaFromFile,
  QUADRANTS,
  renderPersona,
  resolveQuadrant,
  type Persona,
  type PersonaOption,
} from "./personas.js";

/** A `--persona` entry as the run config stores it: a kind, or a persona file with its sha256. */
export type PersonaEntry = NonNullable<RunConfig["personas"]>[number];

export interface RunPersona {
  ref: PersonaRef;
  /** The system message; undefined for the baseline (no persona). */
  system?: string;
}

export const BASELINE: RunPersona = { ref: { id: "none", kind: "none", name: "none (baseline)" } };

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** `--persona a,b,FILE` -> config entries (files resolved to absolute paths and hashed; duplicates dropped). */
export function personaEntries(values: readonly string[]): PersonaEntry[] {
  const out: PersonaEntry[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    const option = parsePersonaOption(v);
    const entry: PersonaEntry =
      option.kind === "file" ? { file: path.resolve(option.path), sha256: sha256File(option.path) } : option.kind;
    const key = typeof entry === "string" ? entry : entry.file;
    if (!seen.has(key)) out.push(entry);
    seen.add(key);
  }
  return out;
}

/** The persona of a file entry; the file must still hold what the run was started with. */
function fileOption(entry: { file: string; sha256: string }): PersonaOption & { kind: "file" } {
  let sha: string;
  try {
    sha = sha256File(entry.file);
  } catch {
    throw new UserError(
      `persona file ${entry.file} (named by this run's --persona) is missing; restore it to continue or report the run`,
    );
  }
  if (sha !== entry.sha256)
    throw new UserError(
      `persona file ${entry.file} changed since the run started (sha256 ${sha.slice(0, 12)}… vs ${entry.sha256.slice(0, 12)}…); restore it, or start a new run in another --out`,
    );
  return { kind: "file", path: entry.file, persona: personaFromFile(entry.file) };
}

function slug(s: string): string {
  return (
    s
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "persona"
  );
}

/** The recorded reference and system message of one generated or file persona. */
export function runPersona(persona: Persona): RunPersona {
  const kind = persona.kind === "position" ? "file" : persona.kind;
  const id =
    kind === "country"
      ? `country-${persona.country}`
      : kind === "file"
        ? `file-${slug(persona.name)}`
        : `${kind}-${persona.quadrant}`;
  const ref: PersonaRef = {
    id,
    kind,
    name: persona.name,
    ...(persona.quadrant ? { quadrant: persona.quadrant } : {}),
    ...(persona.country ? { country: persona.country } : {}),
  };
  return { ref, system: renderPersona(persona) };
}

/** Dilemma suite: every persona of the run, in config order (the baseline first when asked). */
export function dilemmaPersonas(config: Pick<RunConfig, "personas" | "quadrants" | "countries">): RunPersona[] {
  const entries = config.personas ?? ["none"];
  const quadrants = (config.quadrants ?? [...QUADRANTS]).map(resolveQuadrant);
  const countries = config.countries ?? [...COUNTRIES];
  const out: RunPersona[] = [];
  for (const entry of entries) {
    if (typeof entry !== "string") out.push(runPersona(fileOption(entry).persona));
    else if (entry === "none") out.push(BASELINE);
    else if (entry === "country")
      out.push(...countries.map((country) => runPersona(personaFor({ kind: "country", country }))));
    else out.push(...quadrants.map((quadrant) => runPersona(personaFor({ kind: entry, quadrant }))));
  }
  return out;
}

/** VIA suite: the persona of each country's scenarios (null = no persona). At most one persona entry. */
export function viaPersonaFor(config: Pick<RunConfig, "personas">): (country: string) => RunPersona | null {
  const entries = config.personas ?? [];
  if (entries.length > 1)
    throw new UserError(
      "--persona: the VIA suite takes one persona per run; run each into its own --out and compare them with `valuelens compare`",
    );
  const entry = entries[0];
  if (entry === undefined || entry === "none") return () => null;
  const option: PersonaOption = typeof entry === "string" ? { kind: entry } : fileOption(entry);
  const memo = new Map<string, RunPersona>();
  return (country) => {
    let p = memo.get(country);
    if (!p) {
      p = runPersona(personaForCountry(option, country)!);
      memo.set(country, p);
    }
    return p;
  };
}
