import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  assistantTurn,
  buildConversation,
  PREDICT_MODES,
  PREDICT_SYSTEM_PROMPT,
  userTurn,
} from "../../src/suites/predict/conversation.js";
import { extractGenerationFields, fieldsOf, readViaFields } from "../../src/suites/predict/viaFields.js";
import { loadViaSync, SAMPLE_VIA_PATH } from "../../src/suites/via/dataset.js";
import { FIDELITY, haveShared, SHARED, sharedPath } from "../helpers/shared.js";

const FIELDS = {
  action: "I help my neighbour's kids.",
  attributions: ["help", "neighbour's kids"],
  explanation: "It shows 'Helpful'.",
};

describe("assistant turns per mode", () => {
  it("default: the label only", () => {
    expect(assistantTurn("default", true, FIELDS)).toBe("Label: True");
    expect(assistantTurn("default", false, FIELDS)).toBe("Label: False");
  });
  it("attribution: two spaces before the newline, the list as Python prints it", () => {
    expect(assistantTurn("attribution", false, FIELDS)).toBe(
      "Label: False  \n Action Attribution: ['help', \"neighbour's kids\"]",
    );
  });
  it("explanation: one space, then the reason", () => {
    expect(assistantTurn("explanation", true, FIELDS)).toBe("Label: True \n Reason: It shows 'Helpful'.");
  });
  it("attribution_explanation: label, attributions, reason", () => {
    expect(assistantTurn("attribution_explanation", true, FIELDS)).toBe(
      "Label: True \n Action Attribution: ['help', \"neighbour's kids\"] \n Reason: It shows 'Helpful'.",
    );
  });
  it("the action is quoted without escaping", () => {
    expect(userTurn(FIELDS.action)).toBe("Predict the Action: 'I help my neighbour's kids.'");
  });
  it("the conversation: system, pairs of turns, the query last", () => {
    const msgs = buildConversation("default", [{ fields: FIELDS, label: true }], "Q");
    expect(msgs.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(msgs[0]!.content).toBe(PREDICT_SYSTEM_PROMPT);
    expect(msgs[3]!.content).toBe("Predict the Action: 'Q'");
  });
});

describe("extractGenerationFields", () => {
  it("reads strict JSON in a fence", () => {
    const got = extractGenerationFields(
      '```json\n{"Human Action": " A ", "Feature Attributions": ["x", "y"], "Natural Language Explanation": "E"}\n```',
    );
    expect(got).toEqual({ ok: true, fields: { action: "A", attributions: ["x", "y"], explanation: "E" } });
  });
  it("reads a Python-style single-quoted dict", () => {
    const got = extractGenerationFields(
      "{'Human Action': 'A', 'Feature Attributions': ['x'], 'Natural Language Explanation': 'being \"good\"'}",
    );
    expect(got).toEqual({ ok: true, fields: { action: "A", attributions: ["x"], explanation: 'being "good"' } });
  });
  it("keeps a reason for a refusal and for a wrong field type", () => {
    const refusal = extractGenerationFields("I'm sorry, but I can't assist with that.");
    expect(refusal.ok).toBe(false);
    const wrong = extractGenerationFields(
      '{"Human Action": "A", "Feature Attributions": "x", "Natural Language Explanation": "E"}',
    );
    expect(wrong).toMatchObject({ ok: false, reason: expect.stringContaining('"Feature Attributions"') });
  });
});

describe("readViaFields on the bundled sample", () => {
  it("reads every row's fields; fieldsOf names the file and the row", () => {
    const ds = loadViaSync(SAMPLE_VIA_PATH);
    const all = readViaFields(ds);
    expect(all.size).toBe(ds.rows);
    const first = fieldsOf(ds, all, 0);
    expect(first.action).toBe(ds.actions.find((a) => a.row === 0)!.action);
    expect(first.attributions.length).toBeGreaterThan(0);
    expect(() => fieldsOf(ds, all, ds.rows)).toThrow(`${SAMPLE_VIA_PATH}: VIA row ${ds.rows} does not exist`);
  });

  it("refuses a file that changed since it was loaded", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "predict-fields-"));
    try {
      const copy = path.join(dir, "via.csv");
      copyFileSync(SAMPLE_VIA_PATH, copy);
      const ds = loadViaSync(copy);
      writeFileSync(copy, `${readFileSync(copy, "utf8")}\n`);
      expect(() => readViaFields(ds)).toThrow("the file changed since it was loaded");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const VECTORS = sharedPath("protocol", "prediction-vectors.json");
const haveVectors = haveShared(
  "predict/conversation.test",
  "the few-shot conversations against prediction-vectors.json",
  VECTORS,
  SHARED.viaCsv,
);

const VectorsSchema = z.object({
  vectors: z.array(
    z.object({
      mode: z.enum(PREDICT_MODES),
      trainViaRows: z.array(z.number().int()),
      trainLabels: z.array(z.boolean()),
      queryViaRow: z.number().int(),
      messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })),
    }),
  ),
});

describe.skipIf(!haveVectors)("the conversations of prediction-vectors.json, byte for byte", FIDELITY, () => {
  const { vectors } = haveVectors ? VectorsSchema.parse(JSON.parse(readFileSync(VECTORS, "utf8"))) : { vectors: [] };
  const ds = haveVectors ? loadViaSync(SHARED.viaCsv) : undefined;
  const fields = ds ? readViaFields(ds) : new Map();

  it("has the four modes", () => {
    expect(vectors.map((v) => v.mode).sort()).toEqual([...PREDICT_MODES].sort());
  });

  it.each(PREDICT_MODES)("%s", (mode) => {
    const v = vectors.find((x) => x.mode === mode)!;
    const examples = v.trainViaRows.map((row, i) => ({ fields: fieldsOf(ds!, fields, row), label: v.trainLabels[i]! }));
    const query = fieldsOf(ds!, fields, v.queryViaRow).action;
    const got = buildConversation(mode, examples, query);
    expect(got).toHaveLength(v.messages.length);
    for (let i = 0; i < got.length; i++) {
      expect(got[i]!.role).toBe(v.messages[i]!.role);
      expect(Buffer.from(got[i]!.content, "utf8").equals(Buffer.from(v.messages[i]!.content, "utf8"))).toBe(true);
      expect(got[i]!.content).toBe(v.messages[i]!.content);
    }
  });

  it("the action is the VIA loader's", () => {
    const byRow = new Map(ds!.actions.map((a) => [a.row, a.action]));
    let checked = 0;
    for (const [row, f] of fields) {
      if (!f.ok) continue;
      expect(f.fields.action).toBe(byRow.get(row));
      checked++;
    }
    expect(checked).toBeGreaterThan(14_000);
  });
});
