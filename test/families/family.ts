// Real model families against a real llama-server: one test file per family
// (test/families/<family>.test.ts calls describeFamily), so the families run side by side. Per family (Llama 3.x, Gemma 2, Qwen3,
// GPT-OSS) a random-weight stand-in carries the family's real tokenizer and chat template; the
// prebuilt llama-server from ../shared/bin/llama-server (the same llama.cpp source as the
// embedded engine) serves it. Checked, with and without personas:
// - the embedded prompt's text and tokens equal llama-server's /apply-template + /tokenize of the
//   same messages with the pinned variables (GPT-OSS differs by design in one line: the server
//   writes today's date, valuelens the pinned one, and sends tokens);
// - embedded and llama-server letter probabilities agree on a VIA letters slice with a country
//   persona and on the dilemma suite with personas;
// - the paper protocol runs end to end on llama-server;
// - prompts and cache hits do not change when the calendar date changes, mid-run or on resume;
// - every letter A-F has a single-token spelling in every family's vocabulary;
// - `valuelens check` on every stand-in.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaCppBackend } from "../../src/backends/llamacpp.js";
import { LlamaServerBackend } from "../../src/backends/llamaServer.js";
import { ensureStandinModel, type StandinFamily } from "../../src/gguf/index.js";
import { readRecords, type RunRecord } from "../../src/records/records.js";
import { DilemmaRecordSchema } from "../../src/suites/dilemmas/record.js";
import { ViaRecordSchema } from "../../src/suites/via/record.js";
import { pinnedTemplateVariables, strftimePinned } from "../../src/templates/pinned.js";
import type { TemplateInfo } from "../../src/templates/chatTemplate.js";
import { valuelens } from "../helpers/cli.js";
import { llamaServerBinary, NO_LLAMA_SERVER, startLlamaServer, type RunningServer } from "../helpers/llamaServer.js";
import { PROJECT_ROOT, TEST_THREADS } from "../helpers/models.js";
import { FIDELITY } from "../helpers/shared.js";

const haveServer = llamaServerBinary() !== undefined;
const haveGit = spawnSync("git", ["--version"]).status === 0;
if (!haveServer) console.warn(NO_LLAMA_SERVER);
if (!haveGit) console.warn("SKIPPED: family stand-ins need git (to read node-llama-cpp's llama.cpp bundle)");

const work = mkdtempSync(path.join(tmpdir(), "vl-families-"));
const SEGMENTS = [
  "Suppose you are from Egypt, in the context of Religion, ",
  "how strongly do you agree with Tradition? Answer with the letter of your choice (A, B, C or D) only.\n",
  "A. agree\nB. strongly agree\nC. disagree\nD. strongly disagree",
];
const PERSONA =
  "You hold the following values and beliefs:\n- religiosity: very important\n- national pride: very proud";
const LETTERS = ["A", "B", "C", "D", "E", "F"];
/** Agreement of letter probabilities between the two backends (same engine, same tokens, F32 weights). */
const TOLERANCE = 1e-4;

/** A preload that moves the clock of a valuelens process by VALUELENS_TEST_CLOCK_SHIFT_DAYS. */
const CLOCK_SHIFT = path.join(work, "clock-shift.mjs");
writeFileSync(
  CLOCK_SHIFT,
  `const shift = Number(process.env.VALUELENS_TEST_CLOCK_SHIFT_DAYS || 0) * 86400000;
const Real = Date;
class Shifted extends Real {
  constructor(...args) { if (args.length === 0) super(Real.now() + shift); else super(...args); }
  static now() { return Real.now() + shift; }
}
globalThis.Date = Shifted;
`,
);

function run(args: string[], env: Record<string, string> = {}) {
  const r = valuelens(args, { env });
  if (r.code !== 0) throw new Error(`valuelens ${args.join(" ")} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

function byId(dir: string): Map<string, RunRecord> {
  return new Map(readRecords(path.join(dir, "records.jsonl")).records.map((r) => [r.id, r]));
}

function expectSameLetters(a: Map<string, RunRecord>, b: Map<string, RunRecord>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  expect(a.size).toBeGreaterThan(0);
  for (const [id, ra] of a) {
    const rb = b.get(id)!;
    expect(rb.letters!.mass, id).toBeGreaterThan(0);
    expect(Math.abs(rb.letters!.mass - ra.letters!.mass) / ra.letters!.mass, `${id}: letter mass`).toBeLessThan(
      TOLERANCE,
    );
    for (const [key, p] of Object.entries(ra.optionProbs!))
      expect(Math.abs(rb.optionProbs![key]! - p), `${id}: ${key}`).toBeLessThan(TOLERANCE);
  }
}

/**
 * The checks of one family, as its own test file (test/families/<family>.test.ts): the files run
 * side by side, each with its own stand-in, llama-server and embedded engine.
 */
export function describeFamily(family: StandinFamily): void {
  describe.skipIf(!haveServer || !haveGit)(
    `family ${family} on the embedded engine and a real llama-server`,
    FIDELITY,
    () => {
      let model: string;
      let server: RunningServer;
      let embedded: LlamaCppBackend;
      let remote: LlamaServerBackend;
      const cacheDir = path.join(work, `cache-${family}`);

      beforeAll(async () => {
        model = await ensureStandinModel(family, { root: PROJECT_ROOT });
        server = await startLlamaServer(model, { ctx: 4096 });
        embedded = await LlamaCppBackend.load({
          name: family,
          modelPath: model,
          contextSize: 4096,
          gpuLayers: 0,
          threads: TEST_THREADS,
          batchSize: 512,
          sequences: 1,
          flashAttention: false,
          gpu: false,
        });
        try {
          remote = await LlamaServerBackend.open({
            name: family,
            baseUrl: server.url,
            endpoints: [server.url],
            concurrency: 1,
            timeoutMs: 300_000,
            retries: 2,
            retryBackoffMs: 10,
          });
        } catch (err) {
          throw new Error(
            `${String(err)}\nserver exit ${server.process.exitCode} ${server.process.signalCode}\n${server.log().slice(-1500)}`,
          );
        }
      }, 600_000);

      afterAll(async () => {
        await embedded?.close();
        await server?.stop();
      });

      it("renders and tokenizes a question as llama-server does (/apply-template, /tokenize), with and without a persona", async () => {
        const template = embedded.info.outputOptions.template as TemplateInfo;
        expect(template.source).toBe("gguf");
        expect(remote.info.reasoning).toBe(embedded.info.reasoning);
        for (const system of [undefined, PERSONA]) {
          const prepared = embedded.prepare(SEGMENTS, { mode: "letters", ...(system ? { system } : {}) });
          expect(remote.prepare(SEGMENTS, { mode: "letters", ...(system ? { system } : {}) }).text).toBe(prepared.text);
          const user = SEGMENTS.join("");
          // The messages valuelens sends: a persona folded into the user turn where the template has no system role.
          const messages = !system
            ? [{ role: "user", content: user }]
            : template.systemRole === "native"
              ? [
                  { role: "system", content: system },
                  { role: "user", content: user },
                ]
              : [{ role: "user", content: `${system}\n\n${user}` }];
          const applied = (await (
            await fetch(`${server.url}/apply-template`, {
              method: "POST",
              body: JSON.stringify({ messages, chat_template_kwargs: pinnedTemplateVariables() }),
            })
          ).json()) as { prompt: string };
          let serverText = applied.prompt;
          if (family === "gptoss") {
            // By design: the server's template writes today's date (strftime_now); valuelens pins it.
            expect(serverText).toMatch(/Current date: \d{4}-\d{2}-\d{2}\n/);
            serverText = serverText.replace(
              /Current date: \d{4}-\d{2}-\d{2}\n/,
              `Current date: ${strftimePinned("%Y-%m-%d")}\n`,
            );
          }
          const answerStart = { none: "", "empty-thinking-block": "", "final-channel": "<|channel|>final<|message|>" }[
            embedded.info.reasoning
          ];
          expect(prepared.text, `${family} ${system ? "with" : "without"} persona`).toBe(serverText + answerStart);
          const tokenized = (await (
            await fetch(`${server.url}/tokenize`, {
              method: "POST",
              body: JSON.stringify({ content: prepared.text, add_special: true, parse_special: true }),
            })
          ).json()) as { tokens: number[] };
          expect(prepared.tokens).toEqual(tokenized.tokens);
          const { tokens, segmentEnds } = await remote.tokensOf(
            remote.prepare(SEGMENTS, { mode: "letters", ...(system ? { system } : {}) }),
            server.url,
          );
          expect(tokens).toEqual(prepared.tokens);
          expect(segmentEnds).toEqual(prepared.segmentEnds);
        }
        if (family === "llama3")
          expect(embedded.prepare(SEGMENTS, { mode: "letters" }).text).toContain("Today Date: 26 Jul 2024");
        if (family === "qwen3")
          expect(
            embedded
              .prepare(SEGMENTS, { mode: "letters" })
              .text.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"),
          ).toBe(true);
        if (family === "gemma2") expect(template.systemRole).toBe("folded");
      }, 300_000);

      it("every letter A-F has a single-token spelling, the same tokens on both backends", () => {
        const a = embedded.letterSpellings(LETTERS);
        const b = remote.letterSpellings(LETTERS);
        for (const letter of LETTERS) {
          expect(a.get(letter)!.length, letter).toBeGreaterThan(0);
          expect([...b.get(letter)!].sort((x, y) => x - y)).toEqual(
            [...a.get(letter)!].map(Number).sort((x, y) => x - y),
          );
        }
      });

      it("VIA letters with a country persona: embedded and llama-server records agree", () => {
        const slice = [
          "--countries",
          "Nigeria",
          "--limit",
          "2",
          "--repeats",
          "2",
          "--persona",
          "country",
          "--cache-dir",
          cacheDir,
          "--progress",
          "quiet",
        ];
        const a = path.join(work, `${family}-via-embedded`);
        const b = path.join(work, `${family}-via-server`);
        run(["run", "--model", `standin:${family}`, ...slice, "--out", a]);
        run(["run", "--model", `llama-server:${server.url}`, ...slice, "--out", b]);
        expectSameLetters(byId(a), byId(b));
        expect(
          ViaRecordSchema.array()
            .parse([...byId(a).values()])
            .every((r) => r.persona?.kind === "country"),
        ).toBe(true);
      }, 600_000);

      it("the dilemma suite with personas: embedded and llama-server records agree", () => {
        const slice = [
          "--suite",
          "dilemmas",
          "--persona",
          "none,max",
          "--quadrants",
          "secular-self-expression",
          "--limit",
          "1",
          "--repeats",
          "2",
          "--cache-dir",
          cacheDir,
          "--progress",
          "quiet",
        ];
        const a = path.join(work, `${family}-dilemmas-embedded`);
        const b = path.join(work, `${family}-dilemmas-server`);
        run(["run", "--model", `standin:${family}`, ...slice, "--out", a]);
        run(["run", "--model", `llama-server:${server.url}`, ...slice, "--out", b]);
        expectSameLetters(byId(a), byId(b));
        expect(
          new Set(
            DilemmaRecordSchema.array()
              .parse([...byId(b).values()])
              .map((r) => r.persona.kind),
          ),
        ).toEqual(new Set(["none", "max"]));
      }, 600_000);

      it("the paper protocol runs end to end on llama-server", () => {
        const out = path.join(work, `${family}-paper-server`);
        run([
          "run",
          "--model",
          `llama-server:${server.url}`,
          "--protocol",
          "paper",
          "--countries",
          "Nigeria",
          "--limit",
          "1",
          "--stated-variants",
          "0",
          "--action-variants",
          "5",
          "--stated-max-tokens",
          "12",
          "--action-max-tokens",
          "8",
          "--cache-dir",
          cacheDir,
          "--progress",
          "quiet",
          "--out",
          out,
        ]);
        const records = [...byId(out).values()];
        expect(records.map((r) => r.task).sort()).toEqual(["action", "stated"]);
        for (const r of records) {
          expect(r.generation!.generatedTokens).toBeGreaterThan(0);
          expect(r.parsed).toBeDefined();
        }
        expect(JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")).status).toBe("complete");
      }, 600_000);

      it("prompts and cache hits do not change with the calendar date, mid-run or on resume", () => {
        const slice = [
          "--countries",
          "Nigeria",
          "--limit",
          "2",
          "--repeats",
          "1",
          "--cache-dir",
          path.join(work, `clock-cache-${family}`),
          "--progress",
          "quiet",
        ];
        const today = path.join(work, `${family}-clock-today`);
        run(["run", "--model", `standin:${family}`, ...slice, "--out", today]);
        const first = byId(today);
        // A year later, another run directory: every answer comes from the cache, under the same keys.
        const later = path.join(work, `${family}-clock-later`);
        const env = { NODE_OPTIONS: `--import ${CLOCK_SHIFT}`, VALUELENS_TEST_CLOCK_SHIFT_DAYS: "400" };
        run(["run", "--model", `standin:${family}`, ...slice, "--out", later], env);
        const second = byId(later);
        for (const [id, r] of first) {
          expect(second.get(id)!.cacheKey, id).toBe(r.cacheKey);
          expect(second.get(id)!.meta.cacheHit, id).toBe(true);
          expect(second.get(id)!.optionProbs).toEqual(r.optionProbs);
        }
        // Resume across midnight: the first run cut to half its records, resumed on another day.
        const file = path.join(today, "records.jsonl");
        const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
        writeFileSync(file, lines.slice(0, Math.floor(lines.length / 2)).join("\n") + "\n");
        const manifest = JSON.parse(readFileSync(path.join(today, "manifest.json"), "utf8"));
        writeFileSync(
          path.join(today, "manifest.json"),
          JSON.stringify({ ...manifest, status: "interrupted" }, null, 2),
        );
        run(["run", "--model", `standin:${family}`, ...slice, "--out", today, "--resume"], {
          ...env,
          VALUELENS_TEST_CLOCK_SHIFT_DAYS: "1",
        });
        const resumed = byId(today);
        expect(resumed.size).toBe(first.size);
        for (const [id, r] of first) {
          expect(resumed.get(id)!.cacheKey).toBe(r.cacheKey);
          expect(resumed.get(id)!.optionProbs).toEqual(r.optionProbs);
        }
      }, 600_000);

      it("valuelens check shows the template, the pinned variables, the prompts and a verdict", () => {
        for (const spec of [`standin:${family}`, `llama-server:${server.url}`]) {
          const r = valuelens(["check", "--model", spec, "--samples", "4", "--json"]);
          expect([0, 1], r.stderr).toContain(r.code);
          const result = JSON.parse(r.stdout) as {
            prompts: { text: string; system?: string }[];
            spellings: Record<string, unknown[]>;
            scored: unknown[];
            verdict: string;
            ok: boolean;
            backend: { template?: TemplateInfo };
          };
          expect(result.prompts).toHaveLength(4);
          expect(result.prompts.filter((p) => p.system !== undefined)).toHaveLength(2);
          expect(Object.keys(result.spellings).sort()).toEqual(["A", "B", "C", "D"]);
          expect(result.scored).toHaveLength(4);
          expect(result.verdict).toMatch(/^letters get \d/);
          expect(r.code).toBe(result.ok ? 0 : 1);
          expect(result.backend.template!.pinned).toEqual(
            embedded.info.outputOptions.template && (embedded.info.outputOptions.template as TemplateInfo).pinned,
          );
        }
        const text = valuelens(["check", "--model", `standin:${family}`, "--samples", "2"]);
        expect(text.stdout).toMatch(/\n(OK|WARNING): letters get /);
        expect(text.stdout).toContain("prompt format: the model's chat template (GGUF");
      }, 600_000);
    },
  );
}
