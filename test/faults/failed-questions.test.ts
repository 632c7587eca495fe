// Issue 10, fault 2: a failing question is not a dead server. A request the server rejects the
// same way every time (llama-server's output-parse 500, a 400 "prompt too long") is recorded as
// a failed question, the run goes on and completes, the metrics leave it out (and say so), and
// `--resume --retry-failed` asks only it again. A server that is down, or that refuses the
// credentials or the model, still stops the run.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestRejectedError } from "../../src/backends/http/errors.js";
import { AnswerCache } from "../../src/cache/answerCache.js";
import { loadVia, SAMPLE_VIA_PATH, type ViaDataset } from "../../src/suites/via/dataset.js";
import { dilemmaUnits } from "../../src/suites/dilemmas/metrics.js";
import { answeredRecords, metricsFromRecords, type RunMetrics } from "../../src/suites/via/metrics/fromRecords.js";
import { openBackend } from "../../src/models/open.js";
import { ModelEntrySchema, type ResolvedModel } from "../../src/models/registry.js";
import { createProgress } from "../../src/runner/progress.js";
import { buildRunQuestions, runBenchmark, SETUP_FAILURE_LIMIT, type RunOptions } from "../../src/runner/run.js";
import { readManifest, type RunConfig } from "../../src/records/manifest.js";
import { deterministicPart, readRecords, type RunRecord } from "../../src/records/records.js";
import { DilemmaRecordSchema } from "../../src/suites/dilemmas/record.js";
import { ViaRecordSchema, type ViaRecord } from "../../src/suites/via/record.js";
import { valuelensSpawn } from "../helpers/cli.js";
import { baselineAndMaxUnits } from "../helpers/dilemmaRecords.js";
import {
  sliceConfig,
  startFakeOllama,
  startFakeOpenAI,
  writeModelsYaml,
  type FakeServer,
} from "../helpers/fakeServers.js";
import { writeRunOutputs } from "../../src/runs/outputs.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-failed-q-"));
const servers: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function track(s: Promise<FakeServer>): Promise<FakeServer> {
  const server = await s;
  servers.push(server);
  return server;
}

let dataset: ViaDataset;
beforeAll(async () => {
  dataset = await loadVia(SAMPLE_VIA_PATH);
});

let n = 0;
const dirs = () => ({ out: path.join(work, `run-${++n}`), cacheDir: path.join(work, `cache-${n}`) });
const fast = { retries: 2, retryBackoffMs: 0, timeoutMs: 2000, concurrency: 1 };
const openaiEntry = (url: string) => ({
  backend: "openai-compatible",
  baseUrl: `${url}/v1`,
  model: "fake-model",
  ...fast,
});
const ollamaEntry = (url: string) => ({ backend: "ollama", tag: "fake:latest", host: url, ...fast });

function run(
  entry: Record<string, unknown>,
  d: { out: string; cacheDir: string },
  extra: Partial<RunOptions> & { config?: RunConfig } = {},
) {
  const model: ResolvedModel = { name: "fake", entry: ModelEntrySchema.parse(entry), baseDir: process.cwd() };
  return runBenchmark({
    config: sliceConfig(),
    dataset,
    resume: false,
    progress: "quiet",
    log: () => {},
    whenDone: (r) => writeRunOutputs(r.out, r.manifest, r.records, { bootstrap: 0 }).then(() => {}),
    openBackend: () => openBackend(model, { modelsDir: d.cacheDir, cacheDir: d.cacheDir }),
    ...d,
    ...extra,
  });
}

const recordsOf = (out: string): RunRecord[] => readRecords(path.join(out, "records.jsonl")).records;
const metricsOf = (out: string): RunMetrics => JSON.parse(readFileSync(path.join(out, "metrics.json"), "utf8"));

/** The user message of a question, as the chat APIs send it (the last message's content). */
function userMessage(config: RunConfig, index: number): { id: string; text: string } {
  const q = buildRunQuestions(config, dataset)[index]!;
  return { id: q.id, text: q.segments.join("") };
}
const lastMessage = (body: any): string => body.messages?.at(-1)?.content ?? body.prompt;

/** llama-server's reply when its output parser cannot read the model's answer. */
const PARSE_500 = {
  status: 500,
  json: {
    error: {
      code: 500,
      message: "The model produced output that does not match the expected Hermes-2-Pro format",
      type: "server_error",
    },
  },
};

describe("a question the server rejects every time", () => {
  it("OpenAI-compatible, llama-server's output-parse 500: the run completes with one failed record, the metrics exclude it, --resume --retry-failed asks only it", async () => {
    const config = sliceConfig();
    const target = userMessage(config, 3);
    let rejecting = true;
    const asked: string[] = [];
    const s = await track(
      startFakeOpenAI({
        onRequest: (_p, body) => asked.push(lastMessage(body)),
        reject: (_p, body) => (rejecting && lastMessage(body) === target.text ? PARSE_500 : undefined),
      }),
    );
    const d = dirs();
    const first = await run(openaiEntry(s.url), d);
    const total = buildRunQuestions(config, dataset).length;

    expect(first.manifest.status).toBe("complete");
    expect(first.stopped).toBeUndefined();
    expect(first.recorded).toBe(total);
    expect(first.failed).toBe(1);
    // Asked once: the output-parse 500 is not retried.
    expect(asked.filter((t) => t === target.text)).toHaveLength(1);

    const records = recordsOf(d.out);
    expect(records).toHaveLength(total);
    const failed = records.filter((r) => r.failed);
    expect(failed.map((r) => r.id)).toEqual([target.id]);
    const f = failed[0]!;
    expect(f.failed!.status).toBe(500);
    expect(f.failed!.reason).toContain("could not parse the model's answer");
    expect(f.score).toBeNull();
    expect(f.letters).toBeUndefined();
    expect(f.optionProbs).toBeUndefined();
    // Never cached: the cache has no answer under its key.
    expect(AnswerCache.open(d.cacheDir).get(f.cacheKey)).toBeUndefined();

    const manifest = readManifest(d.out)!;
    expect(manifest.questions.failed).toBe(1);
    expect(manifest.sessions[0]!.failed).toBe(1);
    expect(manifest.sessions[0]!.answered).toBe(total - 1);

    // The metrics are those of the answered records alone, with the failure counted.
    const metrics = metricsOf(d.out);
    const task = f.task;
    expect(metrics.failedQuestions).toBe(1);
    expect(metrics.inputs[task].failed).toBe(1);
    expect(metrics.inputs[task].records).toBe(records.filter((r) => r.task === task).length - 1);
    const answered = records.filter((r) => !r.failed);
    expect(metrics.alignmentRate).toEqual(
      JSON.parse(
        JSON.stringify(
          metricsFromRecords(ViaRecordSchema.array().parse(answered), { bootstrap: { samples: 0, seed: config.seed } })
            .alignmentRate,
        ),
      ),
    );
    const report = readFileSync(path.join(d.out, "report.md"), "utf8");
    expect(report).toContain("1 question failed; excluded from every figure");
    expect(report).toMatch(/1 question failed; excluded from the metrics .*1 x .*could not parse the model's answer/);

    // A plain resume keeps the failed record and asks nothing.
    asked.length = 0;
    const kept = await run(openaiEntry(s.url), d, { resume: true });
    expect(asked).toEqual([]);
    expect(kept.failed).toBe(1);
    expect(recordsOf(d.out).find((r) => r.id === target.id)!.failed).toBeDefined();

    // The server accepts it now: --retry-failed asks only it, and replaces the record.
    rejecting = false;
    asked.length = 0;
    const retried = await run(openaiEntry(s.url), d, { resume: true, retryFailed: true });
    expect(asked).toEqual([target.text]);
    expect(retried.manifest.status).toBe("complete");
    expect(retried.failed).toBe(0);
    const after = recordsOf(d.out);
    expect(after).toHaveLength(total);
    expect(new Set(after.map((r) => r.id)).size).toBe(total);
    expect(after.filter((r) => r.failed)).toEqual([]);
    expect(readManifest(d.out)!.questions.failed).toBeUndefined();
    expect(readFileSync(path.join(d.out, "report.md"), "utf8")).not.toContain("failed; excluded");

    // ... and the run now equals one that never failed.
    const ref = dirs();
    await run(openaiEntry(s.url), ref);
    expect(after.map(deterministicPart)).toEqual(recordsOf(ref.out).map(deterministicPart));
  });

  it("Ollama, HTTP 400 (prompt too long): not retried, recorded with the server's message", async () => {
    const config = sliceConfig();
    const target = userMessage(config, 5);
    const s = await track(
      startFakeOllama({
        reject: (_p, body) =>
          lastMessage(body) === target.text
            ? { status: 400, json: { error: "prompt too long; exceeded max context length by 12 tokens" } }
            : undefined,
      }),
    );
    const d = dirs();
    const result = await run(ollamaEntry(s.url), d);
    expect(result.manifest.status).toBe("complete");
    expect(result.failed).toBe(1);
    const failed = recordsOf(d.out).filter((r) => r.failed);
    expect(failed.map((r) => r.id)).toEqual([target.id]);
    expect(failed[0]!.failed!.status).toBe(400);
    expect(failed[0]!.failed!.reason).toMatch(/\/api\/chat: HTTP 400 \(.*prompt too long/);
    // One request per question (the logprobs probe at open is one more): the 400 was not retried.
    expect(s.stats.answers).toBe(buildRunQuestions(config, dataset).length + 1);
  });

  it("paper protocol: a failed action question is left out, not scored 0 as the paper's 'no choice'", async () => {
    const config = sliceConfig();
    const paper: RunConfig = { ...config, protocol: "paper", tasks: ["action"], repeats: 1 };
    const target = userMessage(paper, 2);
    const s = await track(
      startFakeOpenAI({
        reject: (_p, body) =>
          lastMessage(body) === target.text ? { status: 400, json: { error: { message: "bad request" } } } : undefined,
      }),
    );
    const d = dirs();
    const result = await run(openaiEntry(s.url), d, { config: paper });
    expect(result.manifest.status).toBe("complete");
    const records = recordsOf(d.out);
    expect(records.filter((r) => r.failed).map((r) => r.id)).toEqual([target.id]);
    const metrics = metricsOf(d.out);
    const answered = records.filter((r) => !r.failed);
    expect(metrics.inputs.action.failed).toBe(1);
    expect(metrics.inputs.action.records).toBe(answered.length);
    // "no choice" counts only answered records without a parsable choice.
    const noChoice = answered.filter((r) => !(r.parsed?.ok && r.parsed.chosen)).length;
    expect(metrics.inputs.action.droppedByReason["no-choice (scored 0, as the paper)"]).toBe(noChoice);
    expect(metrics.inputs.action.used).toBe(answered.length);
  });

  it("a backend that rejects every question from the start stops the run after SETUP_FAILURE_LIMIT (a setup problem)", async () => {
    let rejecting = true;
    const s = await track(
      startFakeOpenAI({
        reject: () =>
          rejecting ? { status: 400, json: { error: { message: "top_logprobs must be <= 5" } } } : undefined,
      }),
    );
    const d = dirs();
    const err = await run(openaiEntry(s.url), d).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `rejected the first ${SETUP_FAILURE_LIMIT} questions it was asked and answered none \\(last: .*top_logprobs must be <= 5.*\\); this is its setup`,
      ),
    );
    const manifest = readManifest(d.out)!;
    expect(manifest.status).toBe("failed");
    expect(manifest.lastError?.kind).toBe("error");
    expect(manifest.questions.failed).toBe(SETUP_FAILURE_LIMIT);
    expect(recordsOf(d.out).filter((r) => r.failed)).toHaveLength(SETUP_FAILURE_LIMIT);
    // Fixed: --resume --retry-failed asks everything and completes with no failure.
    rejecting = false;
    const fixed = await run(openaiEntry(s.url), d, { resume: true, retryFailed: true });
    expect(fixed.manifest.status).toBe("complete");
    expect(fixed.failed).toBe(0);
  });
});

describe("what stops the run (the server, not a question)", () => {
  it.each([
    [401, { error: { message: "invalid api key" } }],
    [403, { error: { message: "forbidden" } }],
    [404, { error: { message: "The model `fake-model` does not exist." } }],
  ])("HTTP %i on an answer: the run fails at once, nothing recorded as failed", async (status, json) => {
    const s = await track(startFakeOpenAI({ reject: () => ({ status, json }) }));
    const d = dirs();
    const err = await run(openaiEntry(s.url), d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejectedError);
    expect((err as RequestRejectedError).perQuestion).toBe(false);
    expect(readManifest(d.out)!.status).toBe("failed");
    expect(recordsOf(d.out)).toEqual([]);
    expect(s.stats.answers).toBe(1);
  });

  it("a server that answers 500 on every try goes on stopping the run as unavailable (resumable), recording nothing as failed", async () => {
    const s = await track(startFakeOpenAI({ failFrom: 4, failWith: "500" }));
    const d = dirs();
    const result = await run(openaiEntry(s.url), d);
    expect(result.stopped).toBeDefined();
    expect(result.manifest.status).toBe("interrupted");
    expect(readManifest(d.out)!.lastError?.kind).toBe("backend-unavailable");
    const records = recordsOf(d.out);
    expect(records).toHaveLength(3);
    expect(records.filter((r) => r.failed)).toEqual([]);
  });
});

/** `valuelens ...args` in a child process (async: the fake servers live in this process). */
function valuelens(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = valuelensSpawn(args);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("failed questions elsewhere", () => {
  it("the progress line counts failed questions", () => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (c) => (text += String(c)));
    const p = createProgress("lines", stream as unknown as NodeJS.WriteStream);
    p.start({ action: 3 }, {});
    p.tick({ task: "action", cacheHit: false, evaluatedTokens: 5 });
    p.tick({ task: "action", cacheHit: false, evaluatedTokens: 0, failed: true });
    p.stop();
    expect(text).toMatch(/^progress: 2\/3 \(66\.6%\), .*, failed 1 \| action 2\/3 \(.*cache 0, failed 1, ETA/m);
  });

  it("dilemma metrics drop a failed record under its own reason, not as 'no letter mass'", () => {
    const records = baselineAndMaxUnits();
    const victim = records[0]!;
    const { letters: _l, optionProbs: _o, ...rest } = victim;
    const failed = DilemmaRecordSchema.parse({
      ...rest,
      score: null,
      failed: { reason: "http://x/v1/chat/completions: HTTP 400 (too long)", status: 400 },
    });
    const { inputs } = dilemmaUnits([failed, ...records.slice(1)]);
    expect(inputs.records.droppedByReason["failed question (no answer)"]).toBe(1);
    expect(inputs.records.droppedByReason["no letter mass"]).toBe(0);
    // answeredRecords is VIA's but reads only `failed` (and `task`), whatever the suite: hence the cast.
    expect(answeredRecords([failed, ...records.slice(1)] as unknown as ViaRecord[]).answered).toHaveLength(
      records.length - 1,
    );
  });

  it("CLI: a completed run with a failed question exits 0 and says how to retry it; --retry-failed needs --resume", async () => {
    const config = sliceConfig();
    const target = userMessage({ ...config, repeats: 1 }, 0);
    let rejecting = true;
    const s = await track(
      startFakeOpenAI({
        reject: (_p, body) => (rejecting && lastMessage(body) === target.text ? PARSE_500 : undefined),
      }),
    );
    const models = path.join(work, "models-cli.yaml");
    writeModelsYaml(models, "srv", openaiEntry(s.url));
    const out = path.join(work, "run-cli");
    const args = [
      "run",
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
      path.join(work, "cache-cli"),
      "--out",
      out,
    ];
    const r = await valuelens(args);
    expect(r.code, r.stderr).toBe(0);
    const total = readManifest(out)!.questions.total;
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^valuelens: 1 of ${total} questions failed \\(.*\\) and are excluded from the metrics; ask them again with: valuelens run --out \\S+ --resume .*--retry-failed$`,
      ),
    );

    const noResume = await valuelens([...args, "--retry-failed"]);
    expect(noResume.code).toBe(1);
    expect(noResume.stderr).toContain(
      "--retry-failed asks the failed questions of an existing run again: add --resume",
    );

    rejecting = false;
    const before = s.stats.answers;
    const retried = await valuelens([...args, "--resume", "--retry-failed"]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toBe("");
    expect(s.stats.answers - before).toBe(1);
    expect(readManifest(out)!.questions.failed).toBeUndefined();
  }, 120_000);
});
