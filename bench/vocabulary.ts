/**
 * make bench (second part): does the host's work per question grow with the vocabulary?
 *
 * Marginal CPU per question (process user + system time of a run with 4 repeats minus a run with
 * 1 repeat of the same slice, over the difference in questions, each run with a cold cache and
 * the model already loaded) on the Llama 3 stand-in (128,256-token vocabulary, real tokenizer
 * and chat template) and on the tiny model (a few hundred tokens). Their ratio is what the
 * vocabulary costs the host per question; goal <= 2 (it was 8.3 with node-llama-cpp's
 * full-vocabulary softmax). Both letter paths are measured in the same process: valuelens'
 * native read (nativeLetters.ts) and the softmax fallback (VALUELENS_LETTERS=softmax).
 * Two figures: the main thread's CPU (the host's share: what a GPU waits for; the goal applies
 * to it) and the whole process's (llama.cpp's compute included: on a CPU the stand-in's output
 * layer, 128k rows of 32, costs ggml about 2.5 ms per question on one thread).
 *
 * Writes bench/results/vocabulary.json.
 * Usage: node --import tsx bench/vocabulary.ts [--via PATH] [--country C] [--topic T]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { LlamaModel } from "node-llama-cpp";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { ensureStandinModel, ensureTestModel } from "../src/gguf/index.js";
import { packageRoot } from "../src/util/paths.js";
import { benchDataset } from "./dataset.js";
import { benchConfig, runCold, SharedBackend } from "./sharedBackend.js";

const root = packageRoot();
const { values: args } = parseArgs({
  options: {
    via: { type: "string" },
    country: { type: "string", default: "United States" },
    topic: { type: "string", default: "Politics" },
  },
});
const { ds, label, full } = await benchDataset(args.via);
// The full VIA: one country x one topic x every value; the shipped sample: all of it.
const countries = full ? [args.country!] : [...new Set(ds.actions.map((a) => a.country))];
const topics = full ? [args.topic!] : null;

/** CPU seconds of the whole process (every thread: llama.cpp's compute included). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of the main thread alone: the host's share (prompts, tokens, cache, records and the
 * letter read, which runs there), without llama.cpp's decode (libuv worker threads), which a GPU
 * does instead. Linux /proc/self/task/<pid>/stat, in clock ticks of 10 ms; null elsewhere.
 */
function mainThreadSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function run(
  backend: LlamaCppBackend,
  repeats: number,
): Promise<{ questions: number; cpu: number; host: number | null }> {
  const dir = mkdtempSync(path.join(tmpdir(), "vl-bench-vocab-"));
  const config = benchConfig(label, { repeats, countries, topics });
  const shared = new SharedBackend(backend);
  const before = cpuSeconds();
  const hostBefore = mainThreadSeconds();
  const result = await runCold(shared, config, ds, dir);
  const cpu = cpuSeconds() - before;
  const hostAfter = mainThreadSeconds();
  rmSync(dir, { recursive: true, force: true });
  return {
    questions: result.answered,
    cpu,
    host: hostBefore === null || hostAfter === null ? null : hostAfter - hostBefore,
  };
}

interface Marginal {
  model: string;
  vocabulary: number;
  method: string;
  /** Whole process (llama.cpp's compute included). */
  msPerQuestion: number;
  /** Main thread: the host's share. */
  hostMsPerQuestion: number | null;
  questions: [number, number];
}

async function marginal(model: string, modelPath: string, path_: "native" | "softmax"): Promise<Marginal> {
  if (path_ === "softmax") process.env.VALUELENS_LETTERS = "softmax";
  else delete process.env.VALUELENS_LETTERS;
  const backend = await LlamaCppBackend.load({
    name: model,
    modelPath,
    contextSize: 2048,
    gpuLayers: 0,
    // One thread: CPU time then counts work, not ggml's worker threads spinning while they wait.
    threads: 1,
    batchSize: 512,
    sequences: 1,
    flashAttention: false,
    gpu: false,
    digestMemo: path.join(root, ".cache", "valuelens", "model-digests.json"),
    log: () => {},
  });
  await run(backend, 1); // warm: the letter spellings, the template, the allocator
  const one = await run(backend, 1);
  const four = await run(backend, 4);
  const probe = backend.prepare(["Answer A or B."], { mode: "letters" });
  const method = (await backend.scoreLetters(probe, ["A", "B"])).method;
  const metadata = (backend as unknown as { model: LlamaModel }).model.fileInfo.metadata as {
    tokenizer?: { ggml?: { tokens?: readonly unknown[] } };
  };
  await backend.close();
  return {
    model,
    vocabulary: metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    method,
    msPerQuestion: ((four.cpu - one.cpu) / (four.questions - one.questions)) * 1000,
    hostMsPerQuestion:
      one.host === null || four.host === null
        ? null
        : ((four.host - one.host) / (four.questions - one.questions)) * 1000,
    questions: [one.questions, four.questions],
  };
}

const tiny = await ensureTestModel("tiny", { root });
const llama3 = await ensureStandinModel("llama3", { root });
console.log(
  `slice: ${full ? `${countries[0]} x ${topics![0]} x every value` : "the shipped VIA sample"} (${label}); stated + action letters, 1 and 4 repeats; CPU, 1 thread, 1 sequence\n`,
);
const rows: Marginal[] = [];
for (const p of ["native", "softmax"] as const) {
  for (const [name, file] of [
    ["tiny", tiny],
    ["llama3 stand-in", llama3],
  ] as const) {
    const m = await marginal(name, file, p);
    rows.push(m);
    console.log(
      `${p.padEnd(8)} ${name.padEnd(16)} vocabulary ${String(m.vocabulary).padStart(7)}  host ${m.hostMsPerQuestion === null ? "   n/a" : m.hostMsPerQuestion.toFixed(2).padStart(6)} ms, whole process ${m.msPerQuestion.toFixed(2).padStart(6)} ms CPU per question  (${m.method}; ${m.questions[1] - m.questions[0]} questions)`,
    );
  }
}
const ratio = (p: string, pick: (m: Marginal) => number | null) => {
  const [t, l] = rows.filter((r) => r.method.includes(p === "native" ? ":logits" : ":softmax"));
  const [a, b] = [t && pick(t), l && pick(l)];
  return a && b ? b / a : null;
};
const host = (m: Marginal) => m.hostMsPerQuestion;
const whole = (m: Marginal) => m.msPerQuestion;
const nativeRatio = ratio("native", host);
const softmaxRatio = ratio("softmax", host);
const nativeWholeRatio = ratio("native", whole);
const softmaxWholeRatio = ratio("softmax", whole);
const fmt = (x: number | null) => (x === null ? "n/a" : x.toFixed(2));
console.log("");
if (!rows.some((r) => r.method.includes(":logits")))
  console.log("native letter reader not built in this install: no native figures (see scripts/build-addon.mjs)");
console.log(
  `marginal host CPU per question, llama3 stand-in / tiny: ${fmt(nativeRatio)}   (goal <= 2) ${nativeRatio !== null && nativeRatio <= 2 ? "ok" : "ABOVE GOAL"}   softmax fallback ${fmt(softmaxRatio)}`,
);
console.log(
  `  whole process (llama.cpp's compute included):        ${fmt(nativeWholeRatio)}   softmax fallback ${fmt(softmaxWholeRatio)}`,
);
console.log(
  "  (on a CPU the whole-process figure includes the output layer, 128k rows of 32 for the stand-in, which ggml computes row by row; a GPU does it instead of the host)",
);
mkdirSync(path.join(root, "bench", "results"), { recursive: true });
writeFileSync(
  path.join(root, "bench", "results", "vocabulary.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      slice: { countries, topics, dataset: label },
      rows,
      hostRatio: { native: nativeRatio, softmax: softmaxRatio },
      wholeProcessRatio: { native: nativeWholeRatio, softmax: softmaxWholeRatio },
      goal: 2,
    },
    null,
    2,
  ) + "\n",
);
console.log("wrote bench/results/vocabulary.json");
