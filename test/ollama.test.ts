// The Ollama backend against a loopback fake: letter logprobs, the sampling fallback, faults
// that never become data, several endpoints, and a server that never recovers.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../src/backends/backend.js";
import { prepareServerPrompt } from "../src/backends/http/prompt.js";
import { sampleSeed } from "../src/backends/http/letters.js";
import { normalizeOllamaHost, OllamaBackend, versionOlder } from "../src/backends/ollama.js";
import { readManifest } from "../src/records/manifest.js";
import { deterministicPart } from "../src/records/records.js";
import {
  closedPortUrl,
  expectedLetters,
  FAKE_DIGEST,
  fakeSampledAnswer,
  runSlice,
  sliceQuestions,
  startFakeOllama,
  writeModelsYaml,
  type FakeServer,
} from "./helpers/fakeServers.js";
import { valuelensSpawn, type CliResult } from "./helpers/cli.js";

/** The CLI in a child process, awaited without blocking this process (the fake servers live here). */
function valuelens(args: string[]): Promise<CliResult> {
  const child = valuelensSpawn(args);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill(), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

const work = mkdtempSync(path.join(tmpdir(), "vl-ollama-"));
const servers: FakeServer[] = [];
async function fake(opts: Parameters<typeof startFakeOllama>[0] = {}) {
  const s = await startFakeOllama(opts);
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const fast = { retries: 4, retryBackoffMs: 1, timeoutMs: 400, concurrency: 2 };
const entry = (host: string, extra: Record<string, unknown> = {}) => ({
  backend: "ollama",
  tag: "fake",
  host,
  ...fast,
  ...extra,
});
let n = 0;
const dirs = () => ({ out: path.join(work, `run-${++n}`), cache: path.join(work, `cache-${n}`) });

describe("Ollama backend", () => {
  it("records the letter probabilities the server answered (top-20 logprobs)", async () => {
    const s = await fake();
    const d = dirs();
    const records = await runSlice(entry(s.url), d.out, d.cache);
    const questions = await sliceQuestions();
    expect(records.length).toBe(questions.length);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const q of questions) {
      const r = byId.get(q.id)!;
      const want = expectedLetters(q.segments.join(""), q.letters!);
      for (const l of q.letters!) expect(r.letters!.probs[l]).toBeCloseTo(want.probs[l]!, 12);
      expect(r.letters!.mass).toBeCloseTo(want.mass, 12);
      expect(r.letters!.method).toMatch(/^top-logprobs:20(;not-found:[A-F](,[A-F])*)?$/);
      q.letters!.forEach((l, i) => expect(r.optionProbs![q.order[i]!]).toBeCloseTo(want.probs[l]!, 12));
    }
    const manifest = readManifest(d.out)!;
    expect(manifest.status).toBe("complete");
    expect(manifest.backend.modelSha256).toBe(FAKE_DIGEST);
    expect(manifest.backend.engineVersion).toBe("ollama 0.13.0");
    expect(manifest.backend.outputOptions).toMatchObject({ letterMethod: "logprobs", topLogprobs: 20 });
  });

  it("ends with exactly the same records when faults are injected on a fixed schedule", async () => {
    const clean = await fake();
    const faulty = await fake({
      faults: {
        2: "refuse",
        3: "reset",
        5: "slow",
        7: "500",
        8: "429",
        10: "truncated",
        12: "badshape",
        13: "500",
        14: "500",
      },
      slowMs: 1500,
    });
    const a = dirs();
    const b = dirs();
    const want = await runSlice(entry(clean.url), a.out, a.cache);
    const got = await runSlice(entry(faulty.url), b.out, b.cache);
    expect(faulty.stats.faults).toBe(9);
    expect(got.map(deterministicPart)).toEqual(want.map(deterministicPart));
  });

  it("falls back to seeded sampling on a server older than 0.12.11", async () => {
    const s = await fake({ version: "0.12.3" });
    const d = dirs();
    const records = await runSlice(entry(s.url, { samples: 8, sampleTemperature: 0.7 }), d.out, d.cache);
    const questions = await sliceQuestions();
    const byId = new Map(records.map((r) => [r.id, r]));
    // The letter of each SAMPLED_ANSWERS entry, written out: "The answer is A" begins with no letter.
    const letterOf = (answer: string) => ({ A: "A", B: "B", "C)": "C", " D.": "D", "**A**": "A", "A.": "A" })[answer];
    for (const q of questions) {
      const text = prepareServerPrompt(q.segments, { mode: "letters" }).text;
      const counts: Record<string, number> = {};
      for (let k = 0; k < 8; k++) {
        const l = letterOf(fakeSampledAnswer(sampleSeed(text, k)));
        if (l && q.letters!.includes(l)) counts[l] = (counts[l] ?? 0) + 1;
      }
      const hits = Object.values(counts).reduce((x, y) => x + y, 0);
      const r = byId.get(q.id)!;
      expect(r.letters!.method).toBe("sampled:8@0.7");
      expect(r.letters!.mass).toBeCloseTo(hits / 8, 12);
      for (const l of q.letters!) expect(r.letters!.probs[l]).toBeCloseTo(hits ? (counts[l] ?? 0) / hits : 0, 12);
    }
    const manifest = readManifest(d.out)!;
    expect(manifest.backend.outputOptions).toMatchObject({
      letterMethod: "sampled",
      samples: 8,
      sampleTemperature: 0.7,
    });
    // The manifest and the report say plainly that the distributions were sampled.
    expect(manifest.backend.letterMethod).toBe("sampled");
    expect(manifest.notes.join(" ")).toContain("SAMPLED");
    expect(readFileSync(path.join(d.out, "report.md"), "utf8")).toContain("SAMPLED");
  });

  it("samples too when the model's replies carry no logprobs (probed at start)", async () => {
    const s = await fake({ logprobs: false });
    const b = await OllamaBackend.open({
      name: "x",
      tag: "fake",
      endpoints: [s.url],
      concurrency: 1,
      timeoutMs: 500,
      retries: 0,
      samples: 4,
      sampleTemperature: 1,
    });
    expect(b.info.letterMethod).toBe("sampled");
    const scores = await b.scoreLetters(b.prepare(["Pick A or B."], { mode: "letters" }), ["A", "B"]);
    expect(scores.method).toBe("sampled:4@1");
  });

  it("spreads questions over several endpoints and retries a dead one's requests elsewhere", async () => {
    const a = await fake();
    const b = await fake();
    const dead = await fake({ failFrom: 2, failWith: "refuse" });
    const d = dirs();
    const d2 = dirs();
    const want = await runSlice(entry(a.url), d.out, d.cache);
    const got = await runSlice(entry(a.url, { endpoints: [a.url, b.url, dead.url] }), d2.out, d2.cache);
    expect(got.map(deterministicPart)).toEqual(want.map(deterministicPart));
    expect(b.stats.answers).toBeGreaterThan(5);
    expect(dead.stats.faults).toBeGreaterThan(0);
  });

  it("refuses endpoints that hold different model files", async () => {
    const a = await fake();
    const b = await fake({ digest: "b".repeat(64) });
    await expect(
      OllamaBackend.open({
        name: "x",
        tag: "fake",
        endpoints: [a.url, b.url],
        concurrency: 1,
        timeoutMs: 500,
        retries: 0,
        samples: 4,
        sampleTemperature: 1,
      }),
    ).rejects.toThrow(/differs between/);
  });

  it("throws BackendUnavailableError naming the endpoint when the server never recovers", async () => {
    const s = await fake({ failFrom: 2, failWith: "500" });
    const b = await OllamaBackend.open({
      name: "x",
      tag: "fake",
      endpoints: [s.url],
      concurrency: 1,
      timeoutMs: 500,
      retries: 2,
      retryBackoffMs: 1,
      samples: 4,
      sampleTemperature: 1,
    });
    const err = await b
      .scoreLetters(b.prepare(["Pick A or B."], { mode: "letters" }), ["A", "B"])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).endpoint).toBe(s.url);
    expect((err as Error).message).toMatch(/no valid answer after 3 tries; last error: .*HTTP 500/);
    const refused = await closedPortUrl();
    const open = OllamaBackend.open({
      name: "x",
      tag: "fake",
      endpoints: [refused],
      concurrency: 1,
      timeoutMs: 500,
      retries: 1,
      retryBackoffMs: 1,
      samples: 4,
      sampleTemperature: 1,
    });
    await expect(open).rejects.toThrow(/connection refused/);
    await expect(open).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it("names a tag that is not pulled", async () => {
    const s = await fake();
    await expect(
      OllamaBackend.open({
        name: "x",
        tag: "other:7b",
        endpoints: [s.url],
        concurrency: 1,
        timeoutMs: 500,
        retries: 0,
        samples: 4,
        sampleTemperature: 1,
      }),
    ).rejects.toThrow(/ollama pull other:7b/);
  });

  it("generates greedily for the paper protocol", async () => {
    const s = await fake();
    const b = await OllamaBackend.open({
      name: "x",
      tag: "fake",
      endpoints: [s.url],
      concurrency: 1,
      timeoutMs: 500,
      retries: 0,
      samples: 4,
      sampleTemperature: 1,
    });
    const g = await b.generate(b.prepare(["Which option?"], { mode: "generate" }), { maxTokens: 16, temperature: 0 });
    expect(g.text).toMatch(/^Option [12]$/);
    expect(g.finishReason).toBe("stop");
  });

  it("versions and hosts", () => {
    expect(versionOlder("0.12.10", "0.12.11")).toBe(true);
    expect(versionOlder("0.12.11", "0.12.11")).toBe(false);
    expect(versionOlder("0.13.0-rc1", "0.12.11")).toBe(false);
    expect(versionOlder("0.0.0", "0.12.11")).toBe(false);
    expect(normalizeOllamaHost("127.0.0.1")).toBe("http://127.0.0.1:11434");
    expect(normalizeOllamaHost("0.0.0.0:9999")).toBe("http://127.0.0.1:9999");
    expect(normalizeOllamaHost("http://localhost:11434/")).toBe("http://localhost:11434");
  });
});

describe("valuelens run --model <ollama entry> (CLI)", () => {
  it("runs the slice end to end", async () => {
    const s = await fake();
    const models = path.join(work, "models.yaml");
    writeModelsYaml(models, "fake-ollama", entry(s.url));
    const out = path.join(work, "cli-run");
    const r = await valuelens([
      "run",
      "--model",
      "fake-ollama",
      "--models",
      models,
      "--via",
      "sample",
      "--countries",
      "Nigeria",
      "--repeats",
      "2",
      "--progress",
      "quiet",
      "--out",
      out,
      "--cache-dir",
      path.join(work, "cli-cache"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readManifest(out)!.status).toBe("complete");
  });

  // Needs the runner's handling of BackendUnavailableError (src/runner/run.ts, another change).
  it("stops with a non-zero exit and a one-line message when the server never recovers, records intact", async () => {
    const s = await fake({ failFrom: 6, failWith: "500" });
    const models = path.join(work, "models-dying.yaml");
    writeModelsYaml(models, "dying", entry(s.url, { retries: 1, concurrency: 1 }));
    const out = path.join(work, "cli-dying");
    const r = await valuelens([
      "run",
      "--model",
      "dying",
      "--models",
      models,
      "--via",
      "sample",
      "--countries",
      "Nigeria",
      "--repeats",
      "2",
      "--progress",
      "quiet",
      "--out",
      out,
      "--cache-dir",
      path.join(work, "cli-cache-2"),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.trim().split("\n").filter(Boolean);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(s.url);
    expect(lines[0]).toMatch(/unavailable|no valid answer/);
    const manifest = readManifest(out)!;
    expect(manifest.status).not.toBe("complete");
    // the probe is answer request 1; questions 1-4 were answered and recorded
    const { readRecords } = await import("../src/records/records.js");
    expect(readRecords(path.join(out, "records.jsonl")).records.length).toBe(4);
  });
});
