// `valuelens prompts` prints exactly what a run sends: the paper's prompts byte for byte against
// the golden vectors in ../shared, and the letters protocol's balanced option orders.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadVia, SAMPLE_VIA_PATH, viaPairs, type ViaPair } from "../src/suites/via/dataset.js";
import { valuelens } from "./helpers/cli.js";
import { FIDELITY, haveShared, SHARED } from "./helpers/shared.js";

const VECTORS = SHARED.promptVectors;
const VIA_CSV = SHARED.viaCsv;
const haveVectors = haveShared("prompts-cli.test", "the golden-prompt checks of `valuelens prompts`", VECTORS);
const haveVia =
  haveVectors && haveShared("prompts-cli.test", "the Task-2 golden-prompt checks of `valuelens prompts`", VIA_CSV);

interface Task1Vector {
  country: string;
  topic: string;
  promptIndex: number;
  prompt: string;
}
interface Task2Vector extends Task1Vector {
  value: string;
  reverseOrder: boolean;
}
interface PromptLine {
  id: string;
  prompt: string;
  order: string[];
  letters?: string[];
}

function vectors(): { task1: Task1Vector[]; task2: Task2Vector[] } {
  return JSON.parse(readFileSync(VECTORS, "utf8"));
}

function promptLines(args: string[]): PromptLine[] {
  const r = valuelens(["prompts", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as PromptLine);
}

/** The distinct (country, topic[, value]) scenarios of a vector list, in file order. */
function scenarios<T extends Task1Vector>(list: T[], key: (v: T) => string): T[][] {
  const by = new Map<string, T[]>();
  for (const v of list) by.set(key(v), [...(by.get(key(v)) ?? []), v]);
  return [...by.values()];
}

describe.skipIf(!haveVectors)("valuelens prompts --protocol paper (golden vectors)", FIDELITY, () => {
  it("Task 1, United States / Politics, variants 0-7: 8 lines, byte for byte", () => {
    const golden = vectors().task1.filter((v) => v.country === "United States" && v.topic === "Politics");
    expect(golden).toHaveLength(8);
    const lines = promptLines([
      "--protocol",
      "paper",
      "--task",
      "stated",
      "--country",
      "United States",
      "--topic",
      "Politics",
      "--variant",
      "0-7",
    ]);
    expect(lines).toHaveLength(8);
    for (const g of golden) {
      expect(lines[g.promptIndex]!.id).toBe(`paper/stated/United States/Politics/variant${g.promptIndex}/r0`);
      expect(lines[g.promptIndex]!.prompt).toBe(g.prompt);
      expect(lines[g.promptIndex]!.order).toEqual([]);
    }
  });

  it("Task 1, every golden scenario (the stated prompt does not depend on the dataset)", () => {
    for (const group of scenarios(vectors().task1, (v) => `${v.country}/${v.topic}`)) {
      const { country, topic } = group[0]!;
      const lines = promptLines([
        "--protocol",
        "paper",
        "--task",
        "stated",
        "--country",
        country,
        "--topic",
        topic,
        "--variant",
        "0-7",
      ]);
      expect(lines.map((l) => l.prompt)).toEqual(
        [...group].sort((a, b) => a.promptIndex - b.promptIndex).map((g) => g.prompt),
      );
    }
  });

  it.skipIf(!haveVia)("Task 2 on the released VIA CSV, every golden (country, topic, value), variants 0-7", () => {
    const groups = scenarios(vectors().task2, (v) => `${v.country}/${v.topic}/${v.value}`);
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      const { country, topic, value } = group[0]!;
      const lines = promptLines([
        "--protocol",
        "paper",
        "--task",
        "action",
        "--country",
        country,
        "--topic",
        topic,
        "--value",
        value,
        "--variant",
        "0-7",
        "--via",
        VIA_CSV,
      ]);
      expect(lines).toHaveLength(8);
      for (const g of group) {
        const line = lines[g.promptIndex]!;
        expect(line.id).toBe(`paper/action/${country}/${topic}/${value}/v${g.promptIndex}/r0`);
        expect(line.prompt).toBe(g.prompt);
        // The paper's option1 is the negative action; reversed variants show the positive one first.
        expect(line.order).toEqual(g.reverseOrder ? ["positive", "negative"] : ["negative", "positive"]);
      }
    }
  });
});

describe("valuelens prompts --protocol letters", () => {
  let pair: ViaPair;
  beforeAll(async () => {
    const found = viaPairs(await loadVia(SAMPLE_VIA_PATH)).find(
      (p) => p.country === "Nigeria" && p.topic === "Health and Health Care" && p.value === "Equality",
    );
    expect(found, "the sample dataset has Nigeria / Health and Health Care / Equality").toBeDefined();
    pair = found!;
  });

  it("Task 2 with --repeats 2: two lines with the two orders, letters A and B, both actions in the prompt", () => {
    const lines = promptLines([
      "--protocol",
      "letters",
      "--task",
      "action",
      "--country",
      "Nigeria",
      "--topic",
      "Health and Health Care",
      "--value",
      "Equality",
      "--repeats",
      "2",
    ]);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.id)).toEqual([
      "letters/action/Nigeria/Health and Health Care/Equality/r0",
      "letters/action/Nigeria/Health and Health Care/Equality/r1",
    ]);
    expect(lines[0]!.order).not.toEqual(lines[1]!.order);
    for (const line of lines) {
      expect(line.letters).toEqual(["A", "B"]);
      expect([...line.order].sort()).toEqual(["negative", "positive"]);
      expect(line.prompt).toContain(pair.positive.action);
      expect(line.prompt).toContain(pair.negative.action);
      // Option A is the action of order[0], B of order[1].
      const text = { positive: pair.positive.action, negative: pair.negative.action } as Record<string, string>;
      expect(line.prompt.indexOf(text[line.order[0]!]!)).toBeLessThan(line.prompt.indexOf(text[line.order[1]!]!));
      expect(line.prompt).toContain(`A. ${text[line.order[0]!]}`);
      expect(line.prompt).toContain(`B. ${text[line.order[1]!]}`);
    }
  });

  it("a scenario the dataset lacks is a one-line error that says how to get it", () => {
    const r = valuelens([
      "prompts",
      "--protocol",
      "letters",
      "--task",
      "action",
      "--country",
      "Egypt",
      "--topic",
      "Politics",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--via");
  });
});
