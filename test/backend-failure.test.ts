// A server that goes away mid-run (BackendUnavailableError after its retries): the run stops
// cleanly with exactly the answered records, and --resume completes it without asking any
// answered question again. Driven with a deterministic fake backend, no model needed.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BackendUnavailableError,
  newCounters,
  type Backend,
  type BackendInfo,
  type GenerateOptions,
  type Generation,
  type LetterScores,
  type PreparedPrompt,
  type PromptMode,
} from "../src/backends/backend.js";
import { loadVia, SAMPLE_VIA_PATH, type ViaDataset } from "../src/suites/via/dataset.js";
import {
  buildRunQuestions,
  EXIT_UNAVAILABLE,
  runBenchmark,
  RunUnavailableError,
  unavailableMessage,
} from "../src/runner/run.js";
import { readManifest, type RunConfig } from "../src/records/manifest.js";
import { deterministicPart, readRecords, type RunRecord } from "../src/records/records.js";
import { sha256 } from "../src/util/hash.js";
import { valuelensSpawn } from "./helpers/cli.js";
import { startFakeOpenAI, writeModelsYaml } from "./helpers/fakeServers.js";
import { testConfig } from "./helpers/config.js";

const ENDPOINT = "http://gpu-box:8000/v1";
const SEP = "\u0001";

/**
 * A deterministic fake server: letter probabilities from a hash of the prompt. Once `failFrom`
 * calls have been made it is "down": that call and every later one throws
 * BackendUnavailableError, as a server backend does after its retries.
 */
class FakeBackend implements Backend {
  readonly reusesPrefixes = false;
  readonly info: BackendInfo = {
    engine: "fake",
    engineVersion: "1.0",
    model: { name: "fake", sha256: "f".repeat(64) },
    outputOptions: { temperature: 0 },
    otherOptions: {},
    chatWrapper: "none",
    reasoning: "none",
    hardware: {},
  };
  readonly counters = newCounters();
  /** Calls made, successful ones (by prompt text), and whether close() ran. */
  calls = 0;
  answered: string[] = [];
  closed = false;

  constructor(
    readonly laneCount = 1,
    readonly failFrom = Infinity,
    readonly error: () => Error = () =>
      new BackendUnavailableError(`${ENDPOINT}: connection refused after 3 retries`, ENDPOINT),
  ) {}

  prepare(segments: string[], opts: { system?: string; mode: PromptMode }): PreparedPrompt {
    const text = segments.join(SEP);
    let end = 0;
    const segmentEnds = segments.map((s) => (end += s.length));
    return {
      text,
      tokens: [...text].map((c) => c.charCodeAt(0)),
      segmentEnds,
      userMessage: segments.join(""),
      mode: opts.mode,
    };
  }

  private async call(prompt: PreparedPrompt): Promise<void> {
    this.calls += 1;
    const n = this.calls;
    // Yield so that several lanes really interleave.
    await new Promise((r) => setTimeout(r, (n * 7) % 3));
    if (n >= this.failFrom) throw this.error();
    this.counters.evaluations += 1;
    this.counters.evaluatedTokens += prompt.tokens.length;
    this.answered.push(prompt.text);
  }

  async scoreLetters(prompt: PreparedPrompt, letters: string[]): Promise<LetterScores> {
    await this.call(prompt);
    const h = sha256(prompt.text);
    const raw = letters.map((_, i) => 1 + parseInt(h.slice(i * 4, i * 4 + 4), 16));
    const total = raw.reduce((a, b) => a + b, 0);
    const mass = 0.5 + parseInt(h.slice(60, 64), 16) / 0x20000;
    const probs: Record<string, number> = {};
    const perLetter = letters.map((letter, i) => {
      probs[letter] = raw[i]! / total;
      const p = (raw[i]! / total) * mass;
      return { letter, p, spellings: { [letter]: p } };
    });
    return {
      probs,
      mass,
      perLetter,
      topToken: { text: letters[0]!, p: 0.1 },
      method: "fake",
      evaluatedTokens: prompt.tokens.length,
      reusedTokens: 0,
    };
  }

  async generate(prompt: PreparedPrompt, _opts: GenerateOptions): Promise<Generation> {
    await this.call(prompt);
    return {
      text: `Option ${1 + (parseInt(sha256(prompt.text).slice(0, 2), 16) % 2)}`,
      generatedTokens: 2,
      finishReason: "stop",
      evaluatedTokens: prompt.tokens.length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const config: RunConfig = testConfig({ model: "fake", seed: 5, countries: ["Nigeria", "Germany"], shard: null });

let dataset: ViaDataset | undefined;
async function sample(): Promise<ViaDataset> {
  return (dataset ??= await loadVia(SAMPLE_VIA_PATH));
}

async function run(fake: FakeBackend, dir: string, cacheDir: string, resume = false) {
  return runBenchmark({
    config,
    dataset: await sample(),
    out: dir,
    resume,
    cacheDir,
    progress: "quiet",
    log: () => {},
    openBackend: async () => fake,
  });
}

function recordsOf(dir: string): RunRecord[] {
  return readRecords(path.join(dir, "records.jsonl")).records;
}

/** The prompt text the fake sees for each question id. */
async function promptIds(): Promise<Map<string, string>> {
  const fake = new FakeBackend();
  const map = new Map<string, string>();
  for (const q of buildRunQuestions(config, await sample()))
    map.set(fake.prepare(q.segments, { mode: "letters" }).text, q.id);
  return map;
}

describe("a backend that becomes unavailable mid-run", () => {
  it.each([1, 3])(
    "stops cleanly (%i lanes), records exactly the answered questions, and --resume completes without asking any twice",
    async (lanes) => {
      const work = mkdtempSync(path.join(tmpdir(), `vl-unavail-${lanes}-`));
      const ids = await promptIds();
      const total = ids.size;

      // The reference: one uninterrupted run.
      const reference = path.join(work, "reference");
      const healthy = new FakeBackend(lanes);
      const ref = await run(healthy, reference, path.join(work, "cache-ref"));
      expect(ref.manifest.status).toBe("complete");
      expect(healthy.calls).toBe(total);

      // The server goes down on call 20.
      const dir = path.join(work, "run");
      const cacheDir = path.join(work, "cache");
      const failing = new FakeBackend(lanes, 20);
      const stopped = await run(failing, dir, cacheDir);
      expect(stopped.interrupted).toBe(true);
      expect(stopped.stopped).toEqual({ endpoint: ENDPOINT, reason: "connection refused after 3 retries" });
      expect(stopped.total).toBe(total);
      expect(failing.closed).toBe(true);
      // No lane takes a new question once the server is gone: at most the calls already in flight follow.
      expect(failing.calls).toBeLessThanOrEqual(20 + lanes - 1);

      const partial = recordsOf(dir);
      const answeredIds = failing.answered.map((text) => ids.get(text)!);
      expect(partial.map((r) => r.id).sort()).toEqual([...answeredIds].sort());
      expect(partial.length).toBe(stopped.recorded);
      expect(partial.length).toBeGreaterThanOrEqual(19 - (lanes - 1));
      expect(partial.length).toBeLessThan(total);
      // The records written are intact: each equals the reference's record of the same id.
      const refById = new Map(recordsOf(reference).map((r) => [r.id, deterministicPart(r)]));
      for (const r of partial) expect(deterministicPart(r)).toEqual(refById.get(r.id));

      const manifest = readManifest(dir)!;
      expect(manifest.status).toBe("interrupted");
      expect(manifest.lastError).toMatchObject({
        kind: "backend-unavailable",
        endpoint: ENDPOINT,
        message: "connection refused after 3 retries",
      });
      expect(manifest.finishedAt).toBeNull();

      // A plain re-run is refused; --resume with the server back asks only the missing questions.
      await expect(run(new FakeBackend(lanes), dir, cacheDir)).rejects.toThrow(/--resume/);
      const back = new FakeBackend(lanes);
      const resumed = await run(back, dir, cacheDir, true);
      expect(resumed.interrupted).toBe(false);
      expect(resumed.stopped).toBeUndefined();
      expect(back.calls).toBe(total - partial.length);
      const askedAgain = back.answered.map((text) => ids.get(text)!);
      expect(askedAgain.filter((id) => answeredIds.includes(id))).toEqual([]);
      expect(new Set([...answeredIds, ...askedAgain]).size).toBe(total);

      const final = readManifest(dir)!;
      expect(final.status).toBe("complete");
      expect(final.lastError).toBeUndefined();
      expect(final.sessions).toHaveLength(2);
      expect(recordsOf(dir).map(deterministicPart)).toEqual(recordsOf(reference).map(deterministicPart));
    },
  );

  it("a server that is down from the first call leaves an empty, resumable run", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-unavail-first-"));
    const dir = path.join(work, "run");
    const result = await run(new FakeBackend(2, 1), dir, path.join(work, "cache"));
    expect(result.interrupted).toBe(true);
    expect(result.recorded).toBe(0);
    expect(recordsOf(dir)).toEqual([]);
    expect(readManifest(dir)!.status).toBe("interrupted");
    const resumed = await run(new FakeBackend(2), dir, path.join(work, "cache"), true);
    expect(resumed.manifest.status).toBe("complete");
  });

  it("a server that is down when the run opens it: a user error with exit status 75 and the counts", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-unavail-open-"));
    const err = await runBenchmark({
      config,
      dataset: await sample(),
      out: path.join(work, "run"),
      resume: false,
      cacheDir: path.join(work, "cache"),
      progress: "quiet",
      log: () => {},
      openBackend: async () => {
        throw new BackendUnavailableError("no answer after 5 retries", ENDPOINT);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunUnavailableError);
    const e = err as RunUnavailableError;
    expect(e.exitCode).toBe(EXIT_UNAVAILABLE);
    expect(e.message).toBe(
      `${ENDPOINT} is unavailable (no answer after 5 retries); 0 of ${e.total} questions are recorded`,
    );
  });

  it("another error fails the run (status failed, the error in lastError) and keeps the records", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-fail-"));
    const dir = path.join(work, "run");
    const fake = new FakeBackend(1, 5, () => new Error("tokenizer exploded"));
    await expect(run(fake, dir, path.join(work, "cache"))).rejects.toThrow("tokenizer exploded");
    const manifest = readManifest(dir)!;
    expect(manifest.status).toBe("failed");
    expect(manifest.lastError).toMatchObject({ kind: "error", message: "tokenizer exploded", endpoint: null });
    expect(recordsOf(dir)).toHaveLength(4);
  });

  it("the one-line message names the endpoint, the reason and the counts", () => {
    expect(unavailableMessage("http://a:11434", "connection refused", 12, 40)).toBe(
      "http://a:11434 is unavailable (connection refused); 12 of 40 questions are recorded",
    );
    expect(unavailableMessage(null, "timeout", 0, 3)).toBe(
      "the backend is unavailable (timeout); 0 of 3 questions are recorded",
    );
  });

  it("CLI: a server that goes away mid-run exits 75 with one line (endpoint, counts, the resume command); the resume completes", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-unavail-cli-"));
    const models = path.join(work, "models.yaml");
    const out = path.join(work, "run");
    const args = [
      "--model",
      "srv",
      "--models",
      models,
      "--via",
      "sample",
      "--countries",
      "Nigeria",
      "--repeats",
      "1",
      "--progress",
      "quiet",
      "--bootstrap",
      "0",
      "--cache-dir",
      path.join(work, "cache"),
    ];
    const spawnRun = (extra: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = valuelensSpawn(["run", ...args, ...extra]);
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });

    const down = await startFakeOpenAI({ failFrom: 6, failWith: "500" });
    writeModelsYaml(models, "srv", {
      backend: "openai-compatible",
      baseUrl: `${down.url}/v1`,
      model: "fake-model",
      concurrency: 1,
      retries: 1,
      retryBackoffMs: 0,
    });
    const stopped = await spawnRun(["--out", out]);
    await down.close();
    const lines = stopped.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines, stopped.stderr).toHaveLength(1);
    expect(stopped.code).toBe(EXIT_UNAVAILABLE);
    const total = readManifest(out)!.questions.total;
    expect(lines[0]).toMatch(
      new RegExp(
        `^valuelens: ${down.url.replace(/[.:/]/g, "\\$&")}/v1 is unavailable \\(.+\\); 5 of ${total} questions are recorded; resume with: valuelens run --out \\S+ --resume --models \\S+ --cache-dir \\S+$`,
      ),
    );
    expect(recordsOf(out)).toHaveLength(5);
    expect(readManifest(out)!.status).toBe("interrupted");

    const up = await startFakeOpenAI();
    writeModelsYaml(models, "srv", {
      backend: "openai-compatible",
      baseUrl: `${down.url}/v1`,
      model: "fake-model",
      endpoints: [`${up.url}/v1`],
      concurrency: 1,
      retries: 1,
      retryBackoffMs: 0,
    });
    const resumed = await spawnRun(["--out", out, "--resume"]);
    await up.close();
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(up.stats.answers).toBe(total - 5);
    expect(readManifest(out)!.status).toBe("complete");
    expect(recordsOf(out)).toHaveLength(total);
  }, 60_000);
});
