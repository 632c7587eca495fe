// A model file rewritten under a running run (issue 22, finding 1): `cp other.gguf model.gguf`
// overwrites the file in place, and llama.cpp reads the weights through mmap, so later answers
// came from the other weights, labelled and cached with the old sha256. valuelens checks the
// file's identity before it keeps an answer (LlamaCppBackend.verifyModel): the run stops in one
// line, and no record or cache entry holds an answer of the other weights.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeTestModel } from "../../src/gguf/index.js";
import { deterministicPart } from "../../src/records/records.js";
import { valuelens, valuelensSpawn } from "../helpers/cli.js";
import { tinyModelPath } from "../helpers/models.js";
import { rewriteInPlace } from "../helpers/scripted.js";
import { finished, killLeftovers, recordsOf, tracked, whenLines } from "./helpers.js";

afterEach(killLeftovers);

describe("the model file changes under a run", () => {
  it("the run stops in one line; every record and cache entry is the original model's", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-model-swap-"));
    const model = path.join(work, "model.gguf");
    copyFileSync(await tinyModelPath(), model);
    // Another model of the same size: other weights (seed 2), so the mmap'd file stays valid.
    const other = path.join(work, "other.gguf");
    await writeTestModel({ shape: "tiny", type: "f16", seed: 2, out: other });
    const models = path.join(work, "models.yaml");
    writeFileSync(models, `models:\n  m:\n    backend: llama.cpp\n    source: ${model}\n    contextSize: 1024\n`);
    const args = ["--model", "m", "--models", models, "--via", "sample", "--repeats", "12", "--progress", "quiet"];
    const out = path.join(work, "run");
    const cache = path.join(work, "cache");

    const run = tracked(valuelensSpawn(["run", ...args, "--out", out, "--cache-dir", cache]));
    const ended = finished(run);
    await whenLines(path.join(out, "records.jsonl"), 5, run);
    // In place, as cp does, without cp's truncation (a mapped file that shrinks: SIGBUS, a crash).
    rewriteInPlace(model, other);
    const r = await ended;
    expect(r.code).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^valuelens: model file .*model\.gguf changed during the run .* restore the file/);
    expect(JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")).status).toBe("failed");

    // The file restored: the run resumes from its records and its cache, and ends with exactly
    // the records of a clean run on the original model (nothing of the other weights kept).
    copyFileSync(await tinyModelPath(), model);
    const resumed = valuelens([
      "run",
      "--out",
      out,
      "--resume",
      "--models",
      models,
      "--cache-dir",
      cache,
      "--progress",
      "quiet",
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const clean = path.join(work, "clean");
    const reference = valuelens(["run", ...args, "--out", clean, "--cache-dir", path.join(work, "cache-clean")]);
    expect(reference.code, reference.stderr).toBe(0);
    expect(recordsOf(out).map(deterministicPart)).toEqual(recordsOf(clean).map(deterministicPart));
    // And a third run that takes everything from the swapped run's cache gives them too.
    const again = path.join(work, "again");
    const fromCache = valuelens(["run", ...args, "--out", again, "--cache-dir", cache]);
    expect(fromCache.code, fromCache.stderr).toBe(0);
    expect(recordsOf(again).map(deterministicPart)).toEqual(recordsOf(clean).map(deterministicPart));
  }, 180_000);
});
