// The predict suite's paper protocol on chat APIs (loopback fakes of an OpenAI-compatible server
// and Ollama): the few-shot conversation goes out as real chat messages (system, the training
// turns, the test row), each answer is parsed as the paper does, and letters (which need the
// assistant prefix `Label: `) are refused in one line.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecords, type RunRecord } from "../../src/records/records.js";
import { PREDICT_SYSTEM_PROMPT } from "../../src/suites/predict/conversation.js";
import { tinyLabelsRun } from "../helpers/labelsRun.js";
import { valuelensAsync } from "../helpers/cli.js";
import { type FakeServer, startFakeOllama, startFakeOpenAI } from "../helpers/fakeServers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-predict-servers-"));
const via = path.join(work, "via");
const servers: FakeServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

beforeAll(async () => {
  const r = await tinyLabelsRun(via);
  expect(r.code, r.stderr).toBe(0);
}, 600_000);

interface Body {
  messages: { role: string; content: string }[];
}

/** The fake predictor: True when the test action's text has an even length (a fixed, checkable rule). */
function answerFor(body: Body): string {
  return `Label: ${body.messages.at(-1)!.content.length % 2 === 0 ? "True" : "False"}`;
}

const args = ["--suite", "predict", "--labels", via, "--modes", "default,explanation", "--train", "2", "--test", "2"];

describe.each([
  [
    "openai-compatible",
    (onRequest: (p: string, b: Body) => void) =>
      startFakeOpenAI({ onRequest, onAnswer: (b: Body) => ({ content: answerFor(b) }) }),
    (url: string) => ({ model: `openai:${url}/v1#fake-model`, env: {} as Record<string, string> }),
  ],
  [
    "ollama",
    (onRequest: (p: string, b: Body) => void) =>
      startFakeOllama({ onRequest, onAnswer: (b: Body) => ({ content: answerFor(b) }) }),
    (url: string) => ({ model: "ollama:fake", env: { OLLAMA_HOST: url } as Record<string, string> }),
  ],
] as const)("the predict suite on %s", (name, start, spec) => {
  it("sends the conversation as chat messages and parses each answer as the paper does", async () => {
    const sent: Body[] = [];
    const server = await start((p, b) => {
      if (p.endsWith("/chat/completions") || p === "/api/chat")
        if (b.messages.at(-1)!.content.startsWith("Predict the Action:")) sent.push(b);
    });
    servers.push(server);
    const { model, env } = spec(server.url);
    const out = path.join(work, name);
    const r = await valuelensAsync(
      [
        "run",
        "--model",
        model,
        ...args,
        "--protocol",
        "paper",
        "--out",
        out,
        "--progress",
        "quiet",
        "--cache-dir",
        path.join(work, `${name}-cache`),
      ],
      {
        env,
      },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // 2 modes x 4 test rows, one request each.
    expect(sent).toHaveLength(8);
    for (const b of sent) {
      expect(b.messages[0]).toEqual({ role: "system", content: PREDICT_SYSTEM_PROMPT });
      // 4 training examples (2 per label): a user and an assistant turn each, then the test row.
      const turns = b.messages.slice(1);
      expect(turns).toHaveLength(9);
      turns.forEach((m, i) => expect(m.role).toBe(i % 2 === 0 ? "user" : "assistant"));
      for (const m of turns.filter((t) => t.role === "user")) expect(m.content).toMatch(/^Predict the Action: '.*'$/s);
      for (const m of turns.filter((t) => t.role === "assistant")) expect(m.content).toMatch(/^Label: (True|False)/);
    }
    const recs = readRecords(path.join(out, "records.jsonl")).records as (RunRecord & { mode: string })[];
    expect(recs).toHaveLength(8);
    for (const rec of recs) {
      expect(rec.parsed).toEqual({ ok: true, chosen: rec.generation!.raw.split(" ")[1] });
      expect(rec.score).toBe(rec.parsed!.ok && rec.parsed!.chosen === "True" ? 1 : 0);
    }
    const m = JSON.parse(readFileSync(path.join(out, "metrics.json"), "utf8"));
    for (const mode of ["default", "explanation"]) expect(m.byMode[mode].n).toBe(4);
  }, 600_000);

  it("letters are refused in one line: a chat API cannot continue the answer prefix", async () => {
    const server = await start(() => {});
    servers.push(server);
    const { model, env } = spec(server.url);
    const r = await valuelensAsync(
      ["run", "--model", model, ...args, "--out", path.join(work, `${name}-letters`), "--progress", "quiet"],
      {
        env,
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain("cannot continue an assistant's answer prefix");
    // Refused before the run directory is made: the same --out can take the paper protocol next.
    expect(existsSync(path.join(work, `${name}-letters`))).toBe(false);
  }, 600_000);
});
