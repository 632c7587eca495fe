import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SAMPLE_DILEMMAS_PATH, loadDilemmas } from "../src/suites/dilemmas/dataset.js";
import { ACTION_GRADES } from "../src/suites/dilemmas/schema.js";
import { TOPICS, VALUE_NAMES } from "../src/protocol/values.js";
import { UserError } from "../src/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "valuelens-dilemmas-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = loadDilemmas(SAMPLE_DILEMMAS_PATH);
const good = sample.dilemmas[0]!;

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).not.toContain("\n");
    return err as UserError;
  }
  throw new Error("expected a UserError");
}

describe("the sample dilemmas", () => {
  it("loads 12 dilemmas with valid values and topics, several of each", () => {
    expect(sample.format).toBe("jsonl");
    expect(sample.dilemmas).toHaveLength(12);
    for (const d of sample.dilemmas) {
      expect(VALUE_NAMES).toContain(d.value);
      expect(TOPICS).toContain(d.topic);
    }
    expect(new Set(sample.dilemmas.map((d) => d.value)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(sample.dilemmas.map((d) => d.topic)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(sample.dilemmas.map((d) => d.id)).size).toBe(12);
  });

  it("gives every dilemma six distinct graded actions", () => {
    for (const d of sample.dilemmas) {
      expect(Object.keys(d.actions)).toEqual([...ACTION_GRADES]);
      expect(new Set(ACTION_GRADES.map((g) => d.actions[g].trim())).size).toBe(6);
    }
  });
});

describe("loadDilemmas", () => {
  it("reads a JSON array as well as JSONL, skipping blank JSONL lines", () => {
    const p = write("ok.json", JSON.stringify(sample.dilemmas.slice(0, 3), null, 2));
    const loaded = loadDilemmas(p);
    expect(loaded.format).toBe("json");
    expect(loaded.dilemmas).toEqual(sample.dilemmas.slice(0, 3));
    const q = write("ok.jsonl", "\n" + JSON.stringify(good) + "\n\n" + JSON.stringify({ ...good, id: "b" }) + "\n");
    expect(loadDilemmas(q).dilemmas.map((d) => d.id)).toEqual([good.id, "b"]);
  });

  it("names the file, the JSONL line and the field", () => {
    const bad = { ...good, id: "x2", value: "Equallity" };
    const p = write("bad-value.jsonl", JSON.stringify(good) + "\n\n" + JSON.stringify(bad) + "\n");
    const msg = errorOf(() => loadDilemmas(p)).message;
    expect(msg).toContain(p);
    expect(msg).toContain("line 3");
    expect(msg).toContain('field "value"');
    expect(msg).toContain("56 values");
  });

  it("names a missing action grade and an unknown field", () => {
    const { ["mildly opposing"]: _dropped, ...five } = good.actions;
    const p = write("bad-actions.jsonl", JSON.stringify({ ...good, actions: five }) + "\n");
    expect(errorOf(() => loadDilemmas(p)).message).toMatch(/line 1, field "actions\.mildly opposing"/);
    const q = write("extra.jsonl", JSON.stringify({ ...good, sceanrio: "typo" }) + "\n");
    expect(errorOf(() => loadDilemmas(q)).message).toMatch(/line 1, field "sceanrio": unknown field/);
  });

  it("names the item index in a JSON array", () => {
    const p = write("bad-topic.json", JSON.stringify([good, { ...good, id: "y", topic: "Sports" }]));
    const msg = errorOf(() => loadDilemmas(p)).message;
    expect(msg).toContain(`${p}: item 1, field "topic"`);
  });

  it("rejects duplicate ids, invalid JSON lines, empty and missing files", () => {
    const dup = write("dup.jsonl", JSON.stringify(good) + "\n" + JSON.stringify(good) + "\n");
    expect(errorOf(() => loadDilemmas(dup)).message).toMatch(/line 2, field "id": duplicate id .* \(first at line 1\)/);
    const broken = write("broken.jsonl", JSON.stringify(good) + "\n{not json\n");
    expect(errorOf(() => loadDilemmas(broken)).message).toMatch(/broken\.jsonl: line 2: not valid JSON/);
    const empty = write("empty.jsonl", "\n\n");
    expect(errorOf(() => loadDilemmas(empty)).message).toMatch(/no dilemmas/);
    expect(errorOf(() => loadDilemmas(join(dir, "nope.jsonl"))).message).toMatch(/not found: .*nope\.jsonl/);
    const obj = write("obj.json", "[" + "1" + "]");
    expect(errorOf(() => loadDilemmas(obj)).message).toContain("item 0");
  });
});
