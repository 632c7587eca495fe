// The dilemma suite on the server backends (loopback fakes of Ollama and an OpenAI-compatible
// server): 6-point letters from top logprobs, and the persona sent as a system message.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDilemmas, SAMPLE_DILEMMAS_PATH } from "../src/suites/dilemmas/dataset.js";
import { ModelEntrySchema, type ResolvedModel } from "../src/models/registry.js";
import { openBackend } from "../src/models/open.js";
import { personaFor, renderPersona } from "../src/personas/personas.js";
import { readRecords } from "../src/records/records.js";
import { buildRunQuestions, runBenchmark } from "../src/runner/run.js";
import { testConfig } from "./helpers/config.js";
import { expectedLetters, startFakeOllama, startFakeOpenAI, type FakeServer } from "./helpers/fakeServers.js";
import { writeRunOutputs } from "../src/runs/outputs.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-dilemma-servers-"));
const servers: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const config = testConfig({
  protocol: "sixpoint",
  repeats: 6,
  limit: 1,
  via: "none",
  dilemmas: "sample",
  personas: ["none", "max"],
  quadrants: ["secular-survival"],
});
const fast = { retries: 2, retryBackoffMs: 1, timeoutMs: 2000, concurrency: 2 };

interface Sent {
  messages: { role: string; content: string }[];
}

async function runOn(entry: Record<string, unknown>, name: string) {
  const dataset = loadDilemmas(SAMPLE_DILEMMAS_PATH);
  const model: ResolvedModel = { name: "fake", entry: ModelEntrySchema.parse(entry), baseDir: process.cwd() };
  const out = path.join(work, name);
  const cacheDir = path.join(work, `${name}-cache`);
  await runBenchmark({
    config,
    dataset,
    out,
    resume: false,
    cacheDir,
    progress: "quiet",
    log: () => {},
    whenDone: (r) => writeRunOutputs(r.out, r.manifest, r.records, { bootstrap: 0 }).then(() => {}),
    openBackend: () => openBackend(model, { modelsDir: cacheDir, cacheDir }),
  });
  return {
    records: readRecords(path.join(out, "records.jsonl")).records,
    questions: buildRunQuestions(config, dataset),
  };
}

const system = renderPersona(personaFor({ kind: "max", quadrant: "secular-survival" }));

describe.each([
  [
    "ollama",
    (onRequest: (p: string, b: Sent) => void) => startFakeOllama({ onRequest }),
    (url: string) => ({ backend: "ollama", tag: "fake", host: url, ...fast }),
  ],
  [
    "openai-compatible",
    (onRequest: (p: string, b: Sent) => void) => startFakeOpenAI({ onRequest }),
    (url: string) => ({ backend: "openai-compatible", baseUrl: `${url}/v1`, model: "fake-model", ...fast }),
  ],
] as const)("dilemma suite on %s", (name, start, entryFor) => {
  it("records the server's letter probabilities and sends the persona as the system message", async () => {
    const sent: Sent[] = [];
    // Ollama first probes whether the server returns logprobs; that request is not a question.
    const server = await start(
      (_p, body) => body.messages.at(-1)!.content.startsWith("Answer with one letter, A or B.") || sent.push(body),
    );
    servers.push(server);
    const { records, questions } = await runOn(entryFor(server.url), name);
    expect(records).toHaveLength(2 * 2 * 6);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const q of questions) {
      const r = byId.get(q.id)!;
      const want = expectedLetters(q.segments.join(""), q.letters!);
      q.letters!.forEach((l, i) => expect(r.optionProbs![q.order[i]!]).toBeCloseTo(want.probs[l]!, 12));
    }
    // One request per question: the baseline's with the user message only, the persona's with the system message first.
    expect(sent).toHaveLength(questions.length);
    const withSystem = sent.filter((b) => b.messages[0]!.role === "system");
    expect(withSystem).toHaveLength(questions.filter((q) => q.persona!.id !== "none").length);
    for (const b of withSystem) expect(b.messages[0]!.content).toBe(system);
    for (const b of sent.filter((x) => x.messages[0]!.role !== "system")) expect(b.messages).toHaveLength(1);
  });
});
