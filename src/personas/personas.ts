/**
 * Personas for the cultural-political persona study: a system message that gives the model a
 * person's position on the Inglehart-Welzel cultural map, one line per map attribute.
 *
 * Kinds (`PERSONA_KINDS`):
 * - `none`: the baseline, no persona (no system message); `personaFor` returns null.
 * - `moderate`: the position (±0.5, ±0.5) inside one quadrant.
 * - `max`: the quadrant's corner (±1, ±1).
 * - `incongruous`: attributes the map says do not go together. Rule: start from the quadrant's
 *   corner; on EACH axis, the attributes of that axis, in file order, alternate between the
 *   quadrant's pole (1st, 3rd, 5th, ...) and the opposite pole (2nd, 4th, ...). With the shipped
 *   attributes a traditional-survival incongruous persona is strongly traditional on religiosity
 *   yet strongly secular on respect for authority, and materialist yet strongly accepting of
 *   homosexuality.
 * - `country`: the country's approximate map position (datasets/personas/countries.json).
 * Every kind but `none` is a pure function of its inputs (deterministic).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { resolveCountry } from "../protocol/values.js";
import { UserError } from "../util/errors.js";
import { countryPositions, levelIndex, personaAttributes, type Axis, type MapPosition } from "./map.js";

import { PERSONA_KINDS, type PersonaKind } from "../records/records.js";

export { PERSONA_KINDS, type PersonaKind };

/** The four quadrants of the map: (traditional | secular) x (survival | self-expression). */
export const QUADRANTS = [
  "traditional-survival",
  "traditional-self-expression",
  "secular-survival",
  "secular-self-expression",
] as const;
export type Quadrant = (typeof QUADRANTS)[number];

/** The system message's first line. */
export const PERSONA_HEADER = "You hold the following values and beliefs:";

export interface PersonaAttribute {
  attribute: string;
  /** What the attribute measures. */
  measures: string;
  level: string;
  /** Generated personas only: the attribute's axis, its level's index and the number of levels (0 = first pole). */
  axis?: Axis;
  levelIndex?: number;
  levelCount?: number;
}

export interface Persona {
  name: string;
  /** "position" = an arbitrary map position (`personaAt`); "file" = `personaFromFile`. */
  kind: Exclude<PersonaKind, "none"> | "position" | "file";
  quadrant?: Quadrant;
  country?: string;
  /** The map position the persona was generated from (for incongruous: the quadrant's corner). */
  position?: MapPosition;
  attributes: PersonaAttribute[];
}

export interface PersonaSpec {
  kind: PersonaKind;
  /** For moderate/max/incongruous: the quadrant. If absent, taken from `position`'s signs, else from `country`'s position. */
  quadrant?: Quadrant | string;
  /** For `country` (required), or to pick the quadrant of the other kinds. Names as `resolveCountry` accepts ("NGA", "USA", ...). */
  country?: string;
  /** To pick the quadrant of moderate/max/incongruous (by the signs of x and y). */
  position?: MapPosition;
}

const QUADRANT_SIGNS: Record<Quadrant, MapPosition> = {
  "traditional-survival": { x: -1, y: -1 },
  "traditional-self-expression": { x: -1, y: 1 },
  "secular-survival": { x: 1, y: -1 },
  "secular-self-expression": { x: 1, y: 1 },
};

/** Canonical quadrant for a user-typed one ("secular-rational-self-expression" and spaces/underscores work too). */
export function resolveQuadrant(input: string): Quadrant {
  const n = input
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, "-")
    .replace("secular-rational", "secular");
  if ((QUADRANTS as readonly string[]).includes(n)) return n as Quadrant;
  throw new UserError(`unknown quadrant ${JSON.stringify(input)}: use one of ${QUADRANTS.join(", ")}`);
}

/** The quadrant a position lies in; a coordinate of exactly 0 picks none and is an error. */
export function quadrantOf(position: MapPosition): Quadrant {
  checkPosition(position);
  if (position.x === 0 || position.y === 0)
    throw new UserError(
      `map position ${position.x},${position.y} lies on an axis and picks no quadrant; use non-zero coordinates`,
    );
  const h = position.x < 0 ? "traditional" : "secular";
  const v = position.y < 0 ? "survival" : "self-expression";
  return `${h}-${v}` as Quadrant;
}

function checkPosition(p: MapPosition): void {
  for (const [k, v] of [
    ["x", p.x],
    ["y", p.y],
  ] as const) {
    if (!Number.isFinite(v) || v < -1 || v > 1)
      throw new UserError(`map position ${k} must be a number in [-1, 1], got ${v}`);
  }
}

function attributesAt(levelFor: (axis: Axis, indexOnAxis: number) => number): PersonaAttribute[] {
  const counters: Record<Axis, number> = { "traditional-secular": 0, "survival-self-expression": 0 };
  return personaAttributes().map((a) => {
    const i = counters[a.axis]++;
    const idx = levelIndex(levelFor(a.axis, i), a.levels.length);
    return {
      attribute: a.attribute,
      measures: a.measures,
      level: a.levels[idx]!,
      axis: a.axis,
      levelIndex: idx,
      levelCount: a.levels.length,
    };
  });
}

const coord = (p: MapPosition, axis: Axis): number => (axis === "traditional-secular" ? p.x : p.y);

/** The persona at an arbitrary map position: each attribute at the level of its axis's coordinate. */
export function personaAt(position: MapPosition, name?: string): Persona {
  checkPosition(position);
  return {
    name: name ?? `position ${position.x},${position.y}`,
    kind: "position",
    position: { ...position },
    attributes: attributesAt((axis) => coord(position, axis)),
  };
}

function quadrantFor(spec: PersonaSpec): Quadrant {
  if (spec.quadrant !== undefined) return resolveQuadrant(spec.quadrant);
  if (spec.position !== undefined) return quadrantOf(spec.position);
  if (spec.country !== undefined) return quadrantOf(countryPosition(spec.country));
  throw new UserError(`a ${spec.kind} persona needs a quadrant (${QUADRANTS.join(", ")}), a map position or a country`);
}

/** A country's approximate map position (throws a one-line error for an unknown country). */
export function countryPosition(country: string): MapPosition {
  const c = resolveCountry(country);
  const p = countryPositions().get(c);
  if (!p) throw new UserError(`no map position for ${c}`);
  return p;
}

/** The persona of a kind: null for `none`; deterministic for every other kind. */
export function personaFor(spec: PersonaSpec & { kind: "none" }): null;
export function personaFor(spec: PersonaSpec & { kind: Exclude<PersonaKind, "none"> }): Persona;
export function personaFor(spec: PersonaSpec): Persona | null;
export function personaFor(spec: PersonaSpec): Persona | null {
  switch (spec.kind) {
    case "none":
      return null;
    case "country": {
      if (spec.country === undefined)
        throw new UserError("a country persona needs a country (one of the 12 VIA countries)");
      const country = resolveCountry(spec.country);
      const position = countryPosition(country);
      return {
        ...personaAt(position),
        name: `country ${country}`,
        kind: "country",
        country,
        quadrant: quadrantOf(position),
      };
    }
    case "moderate":
    case "max": {
      const quadrant = quadrantFor(spec);
      const s = QUADRANT_SIGNS[quadrant];
      const r = spec.kind === "moderate" ? 0.5 : 1;
      const position = { x: s.x * r, y: s.y * r };
      return { ...personaAt(position), name: `${spec.kind} ${quadrant}`, kind: spec.kind, quadrant };
    }
    case "incongruous": {
      const quadrant = quadrantFor(spec);
      const corner = QUADRANT_SIGNS[quadrant];
      return {
        name: `incongruous ${quadrant}`,
        kind: "incongruous",
        quadrant,
        position: { ...corner },
        attributes: attributesAt((axis, i) => (i % 2 === 0 ? coord(corner, axis) : -coord(corner, axis))),
      };
    }
    default: {
      const never: never = spec.kind;
      throw new UserError(`unknown persona kind ${JSON.stringify(never)}: use one of ${PERSONA_KINDS.join(", ")}`);
    }
  }
}

/** The persona as the system message: the header, then `- <attribute>: <measures> -> <level>` per line; no trailing newline. */
export function renderPersona(persona: Persona): string {
  return [PERSONA_HEADER, ...persona.attributes.map((a) => `- ${a.attribute}: ${a.measures} -> ${a.level}`)].join("\n");
}

const fileLine = z
  .string()
  .trim()
  .min(1)
  .regex(/^[^\r\n]*$/, "must be one line");
/** A persona file: {name, attributes: [{attribute, measures, level}]}; other fields (e.g. from `personas show --json`) are ignored. */
export const PersonaFileSchema = z.object({
  name: fileLine,
  attributes: z.array(z.object({ attribute: fileLine, measures: fileLine, level: fileLine })).min(1),
});

/** Reads a JSON persona file; problems are one-line errors naming the file and the field. */
export function personaFromFile(path: string): Persona {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UserError(
        `persona file not found: ${path}; pass none, moderate, max, incongruous, country or a JSON persona file`,
      );
    throw new UserError(`${path}: not a readable JSON persona file (${(err as Error).message.split("\n")[0]})`);
  }
  const parsed = PersonaFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field =
      issue.path
        .map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
        .join(".")
        .replace(/\.\[/g, "[") || "(file)";
    throw new UserError(
      `${path}: field "${field}": ${issue.message}; expected {"name": ..., "attributes": [{"attribute", "measures", "level"}, ...]}`,
    );
  }
  return { name: parsed.data.name, kind: "file", attributes: parsed.data.attributes.map((a) => ({ ...a })) };
}

/** A `--persona` option value: a kind, or a JSON persona file. */
export type PersonaOption = { kind: PersonaKind } | { kind: "file"; path: string; persona: Persona };

/** Parses `--persona none|moderate|max|incongruous|country|FILE` (a kind name wins over a file of that name). */
export function parsePersonaOption(value: string): PersonaOption {
  const v = value.trim();
  if ((PERSONA_KINDS as readonly string[]).includes(v.toLowerCase())) return { kind: v.toLowerCase() as PersonaKind };
  if (!/[./\\]/.test(v))
    throw new UserError(
      `unknown persona ${JSON.stringify(value)}: use ${PERSONA_KINDS.join(", ")} or a path to a JSON persona file`,
    );
  return { kind: "file", path: v, persona: personaFromFile(v) };
}

/**
 * The persona for one VIA country's scenarios: none -> null; country -> the country's persona;
 * moderate/max/incongruous -> that kind in the country's quadrant; a file -> the same persona for every country.
 */
export function personaForCountry(option: PersonaOption, country: string): Persona | null {
  if (option.kind === "file") return option.persona;
  return personaFor({ kind: option.kind, country });
}
