/**
 * The Inglehart-Welzel cultural map as persona material: the attributes that define its two
 * axes (datasets/personas/attributes.json) and the approximate map positions of the 12 VIA
 * countries (datasets/personas/countries.json). Both files are zod-validated on first use.
 *
 * A map position is (x, y) with x = traditional (-1) .. secular-rational (+1) and
 * y = survival (-1) .. self-expression (+1).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { COUNTRIES } from "../protocol/values.js";
import { UserError } from "../util/errors.js";
import { fromPackageRoot } from "../util/paths.js";

export const AXES = ["traditional-secular", "survival-self-expression"] as const;
export type Axis = (typeof AXES)[number];

export const PERSONA_ATTRIBUTES_PATH: string = fromPackageRoot("datasets", "personas", "attributes.json");
export const COUNTRY_POSITIONS_PATH: string = fromPackageRoot("datasets", "personas", "countries.json");

/** A point on the cultural map; both coordinates in [-1, 1]. */
export interface MapPosition {
  /** traditional (-1) .. secular-rational (+1) */
  x: number;
  /** survival (-1) .. self-expression (+1) */
  y: number;
}

const oneLine = z
  .string()
  .trim()
  .min(1)
  .regex(/^[^\r\n]*$/, "must be one line");
const coordinate = z.number().min(-1).max(1);

const AttributeDefSchema = z
  .object({
    attribute: oneLine,
    measures: oneLine,
    axis: z.enum(AXES),
    /** Ordered from the axis's first pole (traditional / survival) to its second (secular-rational / self-expression). */
    levels: z.array(oneLine).min(2),
  })
  .strict();
export type AttributeDef = z.infer<typeof AttributeDefSchema>;

const AttributesFileSchema = z.object({
  description: z.string().optional(),
  axes: z.unknown().optional(),
  attributes: z.array(AttributeDefSchema).min(1),
});

const CountriesFileSchema = z.object({
  description: z.string().optional(),
  approximate: z.literal(true),
  countries: z.array(z.object({ country: z.string(), x: coordinate, y: coordinate }).strict()),
});

function readJson<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserError(`cannot read ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: field "${issue.path.join(".") || "(file)"}": ${issue.message}`);
  }
  return parsed.data;
}

let attributesCache: readonly AttributeDef[] | undefined;
let positionsCache: ReadonlyMap<string, MapPosition> | undefined;

/** The cultural-map attributes in file order (traditional-secular items first). */
export function personaAttributes(): readonly AttributeDef[] {
  if (attributesCache) return attributesCache;
  const file = readJson(PERSONA_ATTRIBUTES_PATH, AttributesFileSchema);
  const seen = new Set<string>();
  for (const a of file.attributes) {
    if (seen.has(a.attribute)) throw new UserError(`${PERSONA_ATTRIBUTES_PATH}: duplicate attribute "${a.attribute}"`);
    seen.add(a.attribute);
  }
  for (const axis of AXES) {
    if (!file.attributes.some((a) => a.axis === axis))
      throw new UserError(`${PERSONA_ATTRIBUTES_PATH}: no attribute on the ${axis} axis`);
  }
  return (attributesCache = file.attributes);
}

/** The approximate map positions of the 12 VIA countries (protocol country names). */
export function countryPositions(): ReadonlyMap<string, MapPosition> {
  if (positionsCache) return positionsCache;
  const file = readJson(COUNTRY_POSITIONS_PATH, CountriesFileSchema);
  const map = new Map<string, MapPosition>();
  for (const c of file.countries) {
    if (!COUNTRIES.includes(c.country))
      throw new UserError(`${COUNTRY_POSITIONS_PATH}: "${c.country}" is not one of the 12 VIA countries`);
    if (c.x === 0 || c.y === 0)
      throw new UserError(`${COUNTRY_POSITIONS_PATH}: ${c.country} sits on an axis (0); give it a quadrant`);
    map.set(c.country, { x: c.x, y: c.y });
  }
  const missing = COUNTRIES.filter((c) => !map.has(c));
  if (missing.length > 0) throw new UserError(`${COUNTRY_POSITIONS_PATH}: no position for ${missing.join(", ")}`);
  return (positionsCache = map);
}

/**
 * The level index for a coordinate `p` in [-1, 1] on a scale of `n` ordered levels:
 * t = (p + 1) / 2 * (n - 1), rounded to the nearest level. Deterministic rounding: t is first
 * snapped to 1e-9 (so 0.1 + 0.2 style noise never flips a level); exact ties (.5) go away from
 * the middle of the scale, toward the pole on the side of `p` (so ±0.5 on a 3-level scale gives
 * a pole, not the middle); the one tie at the exact centre of an even-length scale (p = 0)
 * goes to the lower, first-pole level.
 */
export function levelIndex(p: number, n: number): number {
  if (!Number.isFinite(p)) throw new UserError(`map coordinate must be a number in [-1, 1], got ${p}`);
  const clamped = Math.max(-1, Math.min(1, p));
  const t = Math.round(((clamped + 1) / 2) * (n - 1) * 1e9) / 1e9;
  const lower = Math.floor(t);
  const frac = t - lower;
  if (frac < 0.5) return lower;
  if (frac > 0.5) return lower + 1;
  const centre = (n - 1) / 2;
  return t > centre ? lower + 1 : lower;
}
