import { Command } from "commander";
import { COUNTRIES } from "../protocol/values.js";
import { UserError } from "../util/errors.js";
import {
  PERSONA_KINDS,
  QUADRANTS,
  personaAt,
  personaFor,
  renderPersona,
  resolveQuadrant,
  type Persona,
  type PersonaKind,
} from "../personas/personas.js";
import type { MapPosition } from "../personas/map.js";

interface ShowFlags {
  kind?: string;
  country?: string;
  position?: string;
  quadrant?: string;
  json?: boolean;
}

function parseKind(s: string): PersonaKind {
  const k = s.trim().toLowerCase();
  if ((PERSONA_KINDS as readonly string[]).includes(k)) return k as PersonaKind;
  throw new UserError(`unknown persona kind ${JSON.stringify(s)}: use one of ${PERSONA_KINDS.join(", ")}`);
}

function parsePosition(s: string): MapPosition {
  const parts = s.split(",").map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || nums.some((n) => !Number.isFinite(n) || n < -1 || n > 1)) {
    throw new UserError(
      `--position ${JSON.stringify(s)}: expected x,y with both in [-1, 1] (x = traditional..secular-rational, y = survival..self-expression)`,
    );
  }
  return { x: nums[0]!, y: nums[1]! };
}

/** The personas `show` selects, in a fixed order. */
export function selectPersonas(flags: ShowFlags): Persona[] {
  const kind = flags.kind === undefined ? undefined : parseKind(flags.kind);
  const position = flags.position === undefined ? undefined : parsePosition(flags.position);
  const quadrant = flags.quadrant === undefined ? undefined : resolveQuadrant(flags.quadrant);
  if (kind === "none") return [];
  const generated: Exclude<PersonaKind, "none" | "country">[] = ["moderate", "max", "incongruous"];
  if (flags.country !== undefined) {
    if (position !== undefined || quadrant !== undefined)
      throw new UserError("--country picks the position; leave out --position and --quadrant");
    return [personaFor({ kind: kind ?? "country", country: flags.country })];
  }
  if (kind === "country") return COUNTRIES.map((c) => personaFor({ kind: "country", country: c }));
  if (position !== undefined) {
    if (quadrant !== undefined) throw new UserError("--position picks the quadrant; leave out --quadrant");
    return kind === undefined ? [personaAt(position)] : [personaFor({ kind, position })];
  }
  const kinds = kind === undefined ? generated : [kind];
  const quadrants = quadrant === undefined ? QUADRANTS : [quadrant];
  const out: Persona[] = [];
  for (const k of kinds) for (const q of quadrants) out.push(personaFor({ kind: k, quadrant: q }));
  if (kind === undefined && quadrant === undefined)
    for (const c of COUNTRIES) out.push(personaFor({ kind: "country", country: c }));
  return out;
}

export function personasCommand(): Command {
  const cmd = new Command("personas").description("cultural-map personas (Inglehart-Welzel) for the persona study");
  cmd
    .command("show")
    .description(
      "print personas as system messages: all of them, or those a kind, quadrant, country or map position selects",
    )
    .option("--kind <kind>", `${PERSONA_KINDS.join(" | ")}`)
    .option("--country <country>", "a VIA country: its persona (or, with --kind, that kind in the country's quadrant)")
    .option(
      "--position <x,y>",
      "a map position, x = traditional(-1)..secular-rational(+1), y = survival(-1)..self-expression(+1)",
    )
    .option("--quadrant <quadrant>", QUADRANTS.join(" | "))
    .option("--json", "print JSON (an array of personas, each with its rendered text)")
    .action((flags: ShowFlags) => {
      const personas = selectPersonas(flags);
      if (flags.json) {
        process.stdout.write(JSON.stringify(personas.map((p) => ({ ...p, text: renderPersona(p) }))) + "\n");
        return;
      }
      if (personas.length === 0) {
        process.stdout.write("none: no persona (the baseline sends no system message)\n");
        return;
      }
      const blocks = personas.map((p) => {
        const where = p.position ? ` (x=${p.position.x}, y=${p.position.y})` : "";
        return `# ${p.name}${where}\n${renderPersona(p)}\n`;
      });
      process.stdout.write(blocks.join("\n"));
    });
  return cmd;
}
