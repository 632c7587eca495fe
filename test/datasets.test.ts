import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SAMPLE_VIA_PATH,
  VIA_CSV_SHA256,
  extractHumanAction,
  loadVia,
  viaInfo,
  viaPairs,
  type ViaDataset,
} from "../src/suites/via/dataset.js";
import { UserError } from "../src/util/errors.js";
import { packageRoot } from "../src/util/paths.js";
import { FIDELITY, haveShared, SHARED } from "./helpers/shared.js";

const VIA_CSV = SHARED.viaCsv;
const haveVia = haveShared("datasets.test", "the checks on the released VIA CSV", VIA_CSV);

describe("extractHumanAction", () => {
  it("reads JSON, fenced JSON and answers with a preamble", () => {
    const j =
      '{\n  "Human Action": " I plant trees. ",\n  "Feature Attributions": ["plant"],\n  "Natural Language Explanation": "x"\n}';
    expect(extractHumanAction(j)).toEqual({ ok: true, action: "I plant trees.", method: "json" });
    expect(extractHumanAction("```json\n" + j + "\n```")).toMatchObject({ ok: true, action: "I plant trees." });
    expect(extractHumanAction("Here is the answer:\n\n```\n" + j + "\n```\nHope it helps.")).toMatchObject({
      ok: true,
      action: "I plant trees.",
    });
  });

  it("keeps unescaped apostrophes in Python-style dicts", () => {
    const py =
      "{\n  'Human Action': 'I ignore my family's advice and skip the clinic.',\n  'Feature Attributions': ['ignore', 'family\\'s advice'],\n  'Natural Language Explanation': 'It's careless.'\n}";
    expect(extractHumanAction(py)).toEqual({
      ok: true,
      action: "I ignore my family's advice and skip the clinic.",
      method: "field",
    });
    const escaped =
      "{'Human Action': 'I don\\'t vote.', 'Feature Attributions': [], 'Natural Language Explanation': 'x'}";
    expect(extractHumanAction(escaped)).toMatchObject({ ok: true, action: "I don't vote." });
    const mixed = `{\n  'Human Action': "I put my goals over my family's wishes.",\n  'Feature Attributions': ['x'],\n  'Natural Language Explanation': 'y'\n}`;
    expect(extractHumanAction(mixed)).toMatchObject({ ok: true, action: "I put my goals over my family's wishes." });
  });

  it("reports refusals, garbled answers and empty actions", () => {
    expect(extractHumanAction("I'm sorry, but I can't assist with that request.")).toMatchObject({
      ok: false,
      reason: "refusal",
    });
    expect(extractHumanAction("Unfortunately, I cannot help.")).toMatchObject({ ok: false, reason: "refusal" });
    expect(extractHumanAction("Here is an action: I plant trees.")).toMatchObject({ ok: false, reason: "unparseable" });
    expect(
      extractHumanAction('```json\n{\n  "Human Action": "I check in with friends.[`check in`]", \n \u201creallist ].'),
    ).toMatchObject({
      ok: false,
      reason: "unparseable",
    });
    expect(
      extractHumanAction('{"Human Action": "  ", "Feature Attributions": [], "Natural Language Explanation": ""}'),
    ).toMatchObject({
      ok: false,
      reason: "empty-action",
    });
    expect(extractHumanAction("   ")).toMatchObject({ ok: false, reason: "unparseable" });
  });
});

describe("the bundled sample (datasets/via-sample.csv)", () => {
  let ds: ViaDataset;
  beforeAll(async () => {
    ds = await loadVia(SAMPLE_VIA_PATH);
  });

  it("is found from the package root and loads", () => {
    expect(SAMPLE_VIA_PATH).toBe(resolve(packageRoot(), "datasets/via-sample.csv"));
    expect(viaInfo(ds)).toEqual({
      rows: 48,
      usableActions: 47,
      excluded: { refusal: 1, unparseable: 0, "empty-action": 0 },
      completePairs: 23,
    });
    expect(ds.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("recovers clean action texts from every format it uses", () => {
    for (const a of ds.actions) {
      expect(a.action).toMatch(/^I [^{}[\]`]+\.$/);
      expect(a.action).not.toMatch(/Human Action|Feature Attributions/);
    }
    const apostrophe = ds.actions.find((a) => a.row === 17)!;
    // A single-quoted Python-style dict with unescaped apostrophes inside the action.
    expect(apostrophe.action).toBe(
      "I vote against expanding public health coverage because I don't think people who can't afford insurance should get the same treatment I pay for.",
    );
    expect(ds.excluded).toEqual([
      expect.objectContaining({
        row: 41,
        country: "Germany",
        topic: "Environment",
        value: "Equality",
        polarity: "negative",
        reason: "refusal",
      }),
    ]);
  });

  it("pairs actions by (country, topic, value)", () => {
    const pairs = viaPairs(ds);
    expect(pairs).toHaveLength(23);
    for (const p of pairs) {
      expect(p.positive.polarity).toBe("positive");
      expect(p.negative.polarity).toBe("negative");
      expect([p.positive.country, p.positive.topic, p.positive.value]).toEqual([p.country, p.topic, p.value]);
      expect([p.negative.country, p.negative.topic, p.negative.value]).toEqual([p.country, p.topic, p.value]);
    }
    expect(pairs.some((p) => p.country === "Germany" && p.topic === "Environment" && p.value === "Equality")).toBe(
      false,
    );
    expect(new Set(pairs.map((p) => p.country))).toEqual(new Set(["Nigeria", "United States", "Germany"]));
  });
});

describe("malformed input", () => {
  const dir = mkdtempSync(join(tmpdir(), "valuelens-via-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const HEADER = ",Unnamed: 0,country,topic,value,polarity,generation_prompt\n";
  const GOOD0 =
    '0,0,Nigeria,Politics,Equality,positive,"{\n  ""Human Action"": ""I vote."",\n  ""Feature Attributions"": [],\n  ""Natural Language Explanation"": ""x""\n}"\n';
  const GOOD1 =
    "1,1,Nigeria,Politics,Equality,negative,\"{'Human Action': 'I don't vote.', 'Feature Attributions': [], 'Natural Language Explanation': 'y'}\"\n";

  async function loadError(name: string, content: string): Promise<Error> {
    const path = join(dir, name);
    writeFileSync(path, content);
    try {
      await loadVia(path);
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      const msg = (err as Error).message;
      expect(msg).not.toContain("\n");
      expect(msg).toContain(path);
      return err as Error;
    }
    throw new Error(`loading ${name} did not fail`);
  }

  it("loads a small valid file and counts lines across multi-line fields", async () => {
    const path = join(dir, "ok.csv");
    writeFileSync(path, HEADER + GOOD0 + GOOD1);
    const ds = await loadVia(path);
    expect(ds.actions.map((a) => a.action)).toEqual(["I vote.", "I don't vote."]);
    expect(viaPairs(ds)).toHaveLength(1);
  });

  it("names file, line and field for an unknown polarity", async () => {
    // GOOD0 spans lines 2-6, so the bad row is on line 7.
    const err = await loadError("polarity.csv", HEADER + GOOD0 + "1,1,Nigeria,Politics,Equality,neutral,x\n");
    expect(err.message).toMatch(
      /line 7, field "polarity": "neutral" is not valid \(expected "positive" or "negative"\); fix or remove the row/,
    );
  });

  it("names the field for unknown countries, topics and values, with close matches", async () => {
    expect((await loadError("country.csv", HEADER + "0,0,Nigerai,Politics,Equality,positive,x\n")).message).toMatch(
      /line 2, field "country": "Nigerai".*"Nigeria"/,
    );
    expect((await loadError("topic.csv", HEADER + "0,0,Nigeria,Politcs,Equality,positive,x\n")).message).toMatch(
      /line 2, field "topic": "Politcs".*"Politics"/,
    );
    expect(
      (await loadError("value.csv", HEADER + GOOD0 + GOOD1 + "2,2,Nigeria,Politics,Welth,positive,x\n")).message,
    ).toMatch(/line 8, field "value": "Welth".*"Wealth"/);
  });

  it("names the missing field of a short row and a missing header column", async () => {
    expect((await loadError("short.csv", HEADER + "0,0,Nigeria,Politics,Equality\n")).message).toMatch(
      /line 2, field "polarity": missing/,
    );
    expect(
      (
        await loadError(
          "header.csv",
          ",Unnamed: 0,country,topic,value,generation_prompt\n0,0,Nigeria,Politics,Equality,x\n",
        )
      ).message,
    ).toMatch(/line 1: the header lacks the column "polarity"/);
  });

  it("rejects duplicate rows and broken CSV quoting", async () => {
    expect((await loadError("dup.csv", HEADER + GOOD0 + GOOD0.replace(/^0,0/, "1,1"))).message).toMatch(
      /line 7.*duplicate positive row.*first at line 2/,
    );
    expect(
      (await loadError("quote.csv", HEADER + '0,0,Nigeria,Politics,Equality,positive,"unterminated\n')).message,
    ).toMatch(/not valid CSV/);
  });

  it("says clearly when the file is missing", async () => {
    const path = join(dir, "nope.csv");
    await expect(loadVia(path)).rejects.toThrow(
      new RegExp(`^VIA dataset not found: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}; pass --via PATH`),
    );
  });
});

describe.skipIf(!haveVia)("the released VIA CSV (../shared/datasets/via)", FIDELITY, () => {
  let ds: ViaDataset;
  beforeAll(async () => {
    ds = await loadVia(VIA_CSV);
  });

  it("has the released checksum and recovers every non-refusal action but one garbled row", () => {
    expect(ds.sha256).toBe(VIA_CSV_SHA256);
    expect(viaInfo(ds)).toEqual({
      rows: 14784,
      usableActions: 14722,
      excluded: { refusal: 61, unparseable: 1, "empty-action": 0 },
      completePairs: 7330,
    });
  });

  it("excludes the refusals (all negative, one per cell) and the garbled row 7768", () => {
    const refusals = ds.excluded.filter((e) => e.reason === "refusal");
    expect(refusals.every((e) => e.polarity === "negative")).toBe(true);
    expect(new Set(refusals.map((e) => `${e.country}/${e.topic}/${e.value}`)).size).toBe(61);
    const garbled = ds.excluded.filter((e) => e.reason === "unparseable");
    expect(garbled.map((e) => [e.row, e.country, e.topic, e.value, e.polarity])).toEqual([
      [7768, "United Kingdom", "Social Networks", "Sense of Belonging", "positive"],
    ]);
    // 7,392 cells - 61 refusal cells - 1 garbled cell = 7,330 complete pairs.
    expect(viaPairs(ds)).toHaveLength(12 * 11 * 56 - 61 - 1);
  });

  it("recovers actions with unescaped apostrophes exactly", () => {
    const byRow = new Map(ds.actions.map((a) => [a.row, a.action]));
    expect(byRow.get(1467)).toBe(
      "I emphasize careful reflection and responsibility over bold decision-making when discussing Germany's past and its identity.",
    );
    expect(byRow.get(13889)).toBe(
      "I avoid participating in family discussions about changing gender roles and show little interest in understanding others\u2019 perspectives on this topic.",
    );
    for (const a of ds.actions) expect(a.action.length).toBeGreaterThan(10);
  });

  it("keeps row = 0-based data row position (not the CSV's index columns)", () => {
    const lines = readFileSync(VIA_CSV, "utf8");
    expect(lines.startsWith(",Unnamed: 0,country,topic,value,polarity,generation_prompt")).toBe(true);
    const a = ds.actions.find((x) => x.row === 5337)!;
    expect([a.country, a.topic, a.value, a.polarity]).toEqual(["Pakistan", "National Identity", "Healthy", "negative"]);
  });
});
