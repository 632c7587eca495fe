// A prompt longer than the context is that question's failure, not the end of the run: the
// questions that fit are answered, the others recorded as failed with the reason.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { valuelens } from "../helpers/cli.js";
import { tinyModelPath } from "../helpers/models.js";
import { readRecords } from "../../src/records/records.js";

describe("a prompt that does not fit the context", () => {
  it("fails that question only; the run completes and says how many failed", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-context-"));
    const models = path.join(work, "models.yaml");
    // With the country persona, stated prompts of the sample are about 465 tokens and action
    // prompts about 520; llama.cpp pads the context to a multiple of 256, so 512 holds only the first.
    writeFileSync(
      models,
      `models:\n  short:\n    backend: llama.cpp\n    source: ${await tinyModelPath()}\n    contextSize: 512\n    gpuLayers: 0\n`,
    );
    const out = path.join(work, "run");
    const r = valuelens([
      "run",
      "--model",
      "short",
      "--models",
      models,
      "--countries",
      "Nigeria",
      "--limit",
      "2",
      "--repeats",
      "1",
      "--persona",
      "country",
      "--progress",
      "quiet",
      "--out",
      out,
      "--cache-dir",
      path.join(work, "cache"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const records = readRecords(path.join(out, "records.jsonl")).records;
    const failed = records.filter((x) => x.failed);
    const answered = records.filter((x) => !x.failed);
    expect(failed.length).toBeGreaterThan(0);
    expect(answered.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f.failed!.reason).toMatch(/does not fit the context of 512; raise contextSize/);
      expect(f.score).toBeNull();
    }
    for (const a of answered) expect(a.letters!.mass).toBeGreaterThan(0);
  }, 300_000);
});
