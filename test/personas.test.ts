import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { selectPersonas } from "../src/cli/personas.js";
import { countryPositions, levelIndex, personaAttributes } from "../src/personas/map.js";
import {
  PERSONA_KINDS,
  QUADRANTS,
  parsePersonaOption,
  personaAt,
  personaFor,
  personaForCountry,
  personaFromFile,
  quadrantOf,
  renderPersona,
  type Persona,
} from "../src/personas/personas.js";
import { COUNTRIES } from "../src/protocol/values.js";
import { UserError } from "../src/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "valuelens-personas-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GENERATED = ["moderate", "max", "incongruous"] as const;

describe("the cultural-map data", () => {
  it("has attributes on both axes with ordered levels, and approximate positions for the 12 countries", () => {
    const attrs = personaAttributes();
    expect(attrs.length).toBeGreaterThanOrEqual(10);
    expect(attrs.filter((a) => a.axis === "traditional-secular").length).toBeGreaterThanOrEqual(4);
    expect(attrs.filter((a) => a.axis === "survival-self-expression").length).toBeGreaterThanOrEqual(4);
    for (const a of attrs) expect(new Set(a.levels).size).toBe(a.levels.length);
    expect([...countryPositions().keys()].sort()).toEqual([...COUNTRIES].sort());
    // rough sanity of the published map's regions
    expect(quadrantOf(countryPositions().get("Germany")!)).toBe("secular-self-expression");
    expect(quadrantOf(countryPositions().get("Pakistan")!)).toBe("traditional-survival");
    expect(quadrantOf(countryPositions().get("United States")!)).toBe("traditional-self-expression");
  });

  it("rounds levels deterministically (ties away from the middle, toward the side of the coordinate)", () => {
    expect(levelIndex(-1, 4)).toBe(0);
    expect(levelIndex(1, 4)).toBe(3);
    expect(levelIndex(0, 5)).toBe(2);
    expect(levelIndex(0.5, 3)).toBe(2);
    expect(levelIndex(-0.5, 3)).toBe(0);
    expect(levelIndex(0, 4)).toBe(1);
    expect(levelIndex(0.1 + 0.2 - 0.3, 5)).toBe(2);
    expect(levelIndex(0.5, 4)).toBe(2);
    expect(levelIndex(-0.5, 4)).toBe(1);
  });
});

describe("personas", () => {
  it("renders the exact system message (moderate, secular-self-expression)", () => {
    const p = personaFor({ kind: "moderate", quadrant: "secular-self-expression" });
    expect(p.position).toEqual({ x: 0.5, y: 0.5 });
    expect(renderPersona(p)).toBe(
      [
        "You hold the following values and beliefs:",
        "- religiosity: importance and practice of religion; belief in God -> not very important",
        "- respect for authority: whether greater respect for authority would be good -> greater respect for authority would be a bad thing",
        "- national pride: how proud one is of one's nationality -> not very proud",
        "- child-rearing values: obedience and religious faith vs independence and determination as qualities to teach children -> mostly independence and determination",
        "- abortion: whether abortion can be justified -> often justifiable",
        "- materialism orientation: materialist vs post-materialist priorities -> mostly post-materialist",
        "- happiness: subjective well-being; how happy one feels -> quite happy",
        "- acceptance of homosexuality: whether homosexuality can be justified -> often justifiable",
        "- political action: willingness to take part in political action such as signing a petition -> has signed a petition",
        "- social trust: interpersonal trust -> most people can be trusted",
        "- tolerance of diversity: attitudes toward outgroups -> high",
      ].join("\n"),
    );
  });

  it("renders every kind: header, one line per attribute, no trailing newline; none is no persona", () => {
    expect(PERSONA_KINDS).toEqual(["none", "moderate", "max", "incongruous", "country"]);
    expect(personaFor({ kind: "none" })).toBeNull();
    const n = personaAttributes().length;
    const all: Persona[] = [
      ...GENERATED.flatMap((kind) => QUADRANTS.map((quadrant) => personaFor({ kind, quadrant }))),
      personaFor({ kind: "country", country: "Nigeria" }),
    ];
    for (const p of all) {
      const text = renderPersona(p);
      const lines = text.split("\n");
      expect(lines[0]).toBe("You hold the following values and beliefs:");
      expect(lines).toHaveLength(n + 1);
      expect(text.endsWith("\n")).toBe(false);
      for (const line of lines.slice(1)) expect(line).toMatch(/^- [^:]+: .+ -> .+$/);
    }
  });

  it("puts max personas at the poles and moderate ones strictly between the pole and the middle side", () => {
    const max = personaFor({ kind: "max", quadrant: "traditional-survival" });
    for (const a of max.attributes) expect(a.levelIndex).toBe(0);
    const maxSec = personaFor({ kind: "max", quadrant: "secular-self-expression" });
    for (const a of maxSec.attributes) expect(a.levelIndex).toBe(a.levelCount! - 1);
    const mod = personaFor({ kind: "moderate", quadrant: "traditional-self-expression" });
    for (const a of mod.attributes) {
      if (a.axis === "traditional-secular") expect(a.levelIndex!).toBeLessThan((a.levelCount! - 1) / 2);
      else expect(a.levelIndex!).toBeGreaterThan((a.levelCount! - 1) / 2);
    }
    expect(renderPersona(mod)).not.toBe(
      renderPersona(personaFor({ kind: "max", quadrant: "traditional-self-expression" })),
    );
  });

  it("is deterministic", () => {
    for (const kind of GENERATED) {
      for (const quadrant of QUADRANTS) expect(personaFor({ kind, quadrant })).toEqual(personaFor({ kind, quadrant }));
    }
    for (const c of COUNTRIES)
      expect(renderPersona(personaFor({ kind: "country", country: c }))).toBe(
        renderPersona(personaFor({ kind: "country", country: c })),
      );
    expect(personaAt({ x: 0.3, y: -0.7 })).toEqual(personaAt({ x: 0.3, y: -0.7 }));
  });

  it("gives each of the 12 countries a persona at its map position", () => {
    const texts = new Set<string>();
    for (const c of COUNTRIES) {
      const p = personaFor({ kind: "country", country: c });
      expect(p.country).toBe(c);
      expect(p.position).toEqual(countryPositions().get(c));
      texts.add(renderPersona(p));
    }
    expect(texts.size).toBeGreaterThan(4);
    expect(personaFor({ kind: "country", country: "NGA" }).country).toBe("Nigeria");
    const ger = personaFor({ kind: "country", country: "Germany" }).attributes.find(
      (a) => a.attribute === "religiosity",
    )!;
    const pak = personaFor({ kind: "country", country: "Pakistan" }).attributes.find(
      (a) => a.attribute === "religiosity",
    )!;
    expect(pak.levelIndex!).toBeLessThan(ger.levelIndex!);
  });

  it("mixes poles on each axis for incongruous personas (religion traditional, authority secular)", () => {
    for (const quadrant of QUADRANTS) {
      const p = personaFor({ kind: "incongruous", quadrant });
      for (const axis of ["traditional-secular", "survival-self-expression"] as const) {
        const on = p.attributes.filter((a) => a.axis === axis);
        const atFirst = on.filter((a) => a.levelIndex === 0).length;
        const atSecond = on.filter((a) => a.levelIndex === a.levelCount! - 1).length;
        expect(atFirst + atSecond).toBe(on.length);
        expect(atFirst).toBeGreaterThan(0);
        expect(atSecond).toBeGreaterThan(0);
        expect(Math.abs(atFirst - atSecond)).toBeLessThanOrEqual(1);
      }
    }
    const trad = personaFor({ kind: "incongruous", quadrant: "traditional-survival" }).attributes;
    expect(trad.find((a) => a.attribute === "religiosity")!.level).toBe("very important");
    expect(trad.find((a) => a.attribute === "respect for authority")!.levelIndex).toBe(3);
  });

  it("picks the quadrant from a position or a country, and errors clearly", () => {
    expect(personaFor({ kind: "max", position: { x: 0.2, y: -0.9 } }).quadrant).toBe("secular-survival");
    expect(personaFor({ kind: "moderate", country: "Egypt" }).name).toBe("moderate traditional-survival");
    expect(() => personaFor({ kind: "max" })).toThrow(UserError);
    expect(() => personaFor({ kind: "max", quadrant: "north" })).toThrow(/unknown quadrant/);
    expect(() => personaFor({ kind: "country", country: "Atlantis" })).toThrow(UserError);
    expect(() => personaAt({ x: 2, y: 0 })).toThrow(/\[-1, 1\]/);
  });
});

describe("persona files and the --persona option", () => {
  it("reads a persona file and renders it", () => {
    const p = join(dir, "p.json");
    writeFileSync(
      p,
      JSON.stringify({
        name: "mine",
        attributes: [
          { attribute: "social trust", measures: "interpersonal trust", level: "most people can be trusted" },
        ],
      }),
    );
    const persona = personaFromFile(p);
    expect(renderPersona(persona)).toBe(
      "You hold the following values and beliefs:\n- social trust: interpersonal trust -> most people can be trusted",
    );
    const opt = parsePersonaOption(p);
    expect(personaForCountry(opt, "India")).toEqual(persona);
  });

  it("errors name the file and the field", () => {
    const p = join(dir, "bad.json");
    writeFileSync(p, JSON.stringify({ name: "x", attributes: [{ attribute: "a", measures: "b" }] }));
    expect(() => personaFromFile(p)).toThrow(/bad\.json: field "attributes\[0\]\.level"/);
    expect(() => personaFromFile(join(dir, "missing.json"))).toThrow(/not found/);
    expect(() => parsePersonaOption("maximal")).toThrow(/unknown persona/);
  });

  it("maps --persona kinds to per-country personas", () => {
    expect(personaForCountry(parsePersonaOption("none"), "Germany")).toBeNull();
    expect(personaForCountry(parsePersonaOption("country"), "Germany")!.name).toBe("country Germany");
    expect(personaForCountry(parsePersonaOption("max"), "Uganda")!.name).toBe("max traditional-survival");
  });

  it("selects personas for `personas show`", () => {
    expect(selectPersonas({})).toHaveLength(12 + 12);
    expect(selectPersonas({ kind: "none" })).toEqual([]);
    expect(selectPersonas({ kind: "country" })).toHaveLength(12);
    expect(selectPersonas({ kind: "max" })).toHaveLength(4);
    expect(selectPersonas({ country: "UK" }).map((p) => p.name)).toEqual(["country United Kingdom"]);
    expect(selectPersonas({ position: "0.5,-0.5" })[0]!.kind).toBe("position");
    expect(selectPersonas({ kind: "incongruous", position: "-0.1,0.4" })[0]!.name).toBe(
      "incongruous traditional-self-expression",
    );
    expect(() => selectPersonas({ position: "1,2" })).toThrow(UserError);
    expect(() => selectPersonas({ kind: "huge" })).toThrow(/unknown persona kind/);
  });
});
