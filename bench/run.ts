/**
 * make bench: letters protocol vs the paper protocol on the `bench` model (a random-weight
 * llama of a realistic shape, 134M parameters) on this machine's CPU, each pair measured in
 * the same process on the same slice (one country x one topic x every value in the dataset).
 *
 * Prints the figures and their ratios and writes bench/results/latest.json:
 * - action task: answers per second, letters (5 repeats) over paper (variant 5, with an
 *   explanation, generation capped at 96 tokens). Bar: >= 10x.
 * - stated task: value judgments per second, letters over paper (one 56-value JSON answer per
 *   prompt, capped at 640 tokens). Bar: >= 2x.
 * - evaluated tokens per second of the letters runs over raw node-llama-cpp evaluation of the
 *   same token batches (runner overhead). Bar: >= 0.9.
 * - the share of prompt tokens evaluated thanks to prefix reuse, and the letters runs' evaluated
 *   prompt tokens against the minimum (every distinct segment prefix evaluated once:
 *   src/runner/minimumTokens.ts), as minimum / evaluated. Goal: >= 0.95.
 * - lanes: the letters runs again with 4 sequences, isolated and shared batches (each a cold
 *   run on the same slice): questions per second against the one-sequence runs, the largest
 *   difference of a letter probability from the one-sequence records, and minimum / evaluated.
 * - peak RSS.
 *
 * Usage: node --import tsx bench/run.ts [--via PATH] [--country C] [--topic T] [--repeats N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Token } from "node-llama-cpp";
import type { PreparedPrompt } from "../src/backends/backend.js";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import type { ViaDataset } from "../src/suites/via/dataset.js";
import { benchDataset } from "./dataset.js";
import { benchConfig, runCold, SharedBackend } from "./sharedBackend.js";
import { ensureTestModel } from "../src/gguf/index.js";
import type { LlamaBatching } from "../src/backends/llamaBatching.js";
import { minimumPromptTokens } from "../src/runner/minimumTokens.js";
import type { RunConfig } from "../src/records/manifest.js";
import { readRecords, type RunRecord } from "../src/records/records.js";
import { packageRoot } from "../src/util/paths.js";

const root = packageRoot();
const { values: args } = parseArgs({
  options: {
    via: { type: "string" },
    country: { type: "string", default: "United States" },
    topic: { type: "string", default: "Politics" },
    repeats: { type: "string", default: "5" },
  },
});

async function dataset(): Promise<{ ds: ViaDataset; label: string }> {
  return benchDataset(args.via);
}

interface Measured {
  seconds: number;
  records: number;
  evaluations: number;
  evaluatedTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  promptTokensAnswered: number;
  scored: PreparedPrompt[];
  rows: RunRecord[];
}

async function measure(
  shared: SharedBackend,
  ds: ViaDataset,
  label: string,
  config: Partial<RunConfig>,
): Promise<Measured> {
  const dir = mkdtempSync(path.join(tmpdir(), "vl-bench-"));
  const before = { ...shared.counters };
  shared.scored = [];
  const full = benchConfig(label, { tasks: ["action"], countries: [args.country!], topics: [args.topic!], ...config });
  const started = performance.now();
  const result = await runCold(shared, full, ds, dir);
  const seconds = (performance.now() - started) / 1000;
  const c = shared.counters;
  const promptTokensAnswered = shared.scored.reduce((s, p) => s + p.tokens.length, 0);
  const rows = readRecords(path.join(result.out, "records.jsonl")).records;
  rmSync(dir, { recursive: true, force: true });
  return {
    seconds,
    records: result.answered,
    evaluations: c.evaluations - before.evaluations,
    evaluatedTokens: c.evaluatedTokens - before.evaluatedTokens,
    reusedTokens: c.reusedTokens - before.reusedTokens,
    generatedTokens: c.generatedTokens - before.generatedTokens,
    promptTokensAnswered,
    scored: shared.scored,
    rows,
  };
}

/** The largest difference of one letter probability between two runs' records of the same questions. */
function maxProbDifference(reference: RunRecord[], other: RunRecord[]): number {
  const byId = new Map(other.map((r) => [r.id, r]));
  let worst = 0;
  for (const x of reference) {
    const y = byId.get(x.id);
    if (!y) throw new Error(`lanes comparison: ${x.id} is missing from the several-sequence run`);
    for (const [key, p] of Object.entries(x.optionProbs ?? {})) {
      const q = y.optionProbs?.[key];
      if (q === undefined) throw new Error(`lanes comparison: ${x.id} has no probability for ${key}`);
      worst = Math.max(worst, Math.abs(q - p));
    }
  }
  return worst;
}

/** Evaluated prompt tokens of letters runs against the fewest possible (each run's distinct segment prefixes once). */
function againstMinimum(runs: Measured[]): { minimum: number; evaluated: number; ratio: number } {
  const minimum = runs.reduce((sum, m) => sum + minimumPromptTokens(m.scored).minimum, 0);
  const evaluated = runs.reduce((sum, m) => sum + m.evaluatedTokens, 0);
  return { minimum, evaluated, ratio: minimum / evaluated };
}

/**
 * Raw node-llama-cpp: evaluate exactly the token batches the runner evaluated (same segments,
 * same reuse of the KV cache), reading the same probability map, with nothing else around it.
 */
async function rawReplay(
  backend: LlamaCppBackend,
  prompts: PreparedPrompt[],
): Promise<{ seconds: number; tokens: number }> {
  const seq = (
    backend as unknown as {
      lanes: { sequence: import("node-llama-cpp").LlamaContextSequence; evaluatedEnds: number[] }[];
    }
  ).lanes[0]!;
  await seq.sequence.clearHistory();
  seq.evaluatedEnds = [];
  let previous: PreparedPrompt | undefined;
  let tokens = 0;
  const started = performance.now();
  for (const p of prompts) {
    let reuse = 0;
    if (previous) {
      for (const end of p.segmentEnds.slice(0, -1)) {
        if (!previous.segmentEnds.includes(end)) break;
        let same = true;
        for (let i = 0; i < end; i++) if (previous.tokens[i] !== p.tokens[i]) same = false;
        if (!same) break;
        reuse = end;
      }
    }
    if (seq.sequence.nextTokenIndex > reuse)
      await seq.sequence.eraseContextTokenRanges([{ start: reuse, end: seq.sequence.nextTokenIndex }]);
    let start = reuse;
    for (const end of p.segmentEnds) {
      if (end <= start) continue;
      const batch = p.tokens.slice(start, end) as Token[];
      const last = end === p.tokens.length;
      const items = batch.map((t, i) =>
        last && i === batch.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t,
      );
      await seq.sequence.controlledEvaluate(items as never);
      tokens += batch.length;
      start = end;
    }
    previous = p;
  }
  await seq.sequence.clearHistory();
  seq.evaluatedEnds = [];
  return { seconds: (performance.now() - started) / 1000, tokens };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

const LANES = 4;

async function main() {
  const { ds, label } = await dataset();
  const repeats = Number(args.repeats);
  const modelPath = await ensureTestModel("bench", { root });
  const load = (sequences: number, batching?: LlamaBatching) =>
    LlamaCppBackend.load({
      name: "bench",
      modelPath,
      contextSize: 4096,
      gpuLayers: 0,
      batchSize: 512,
      sequences,
      batching,
      flashAttention: false,
      gpu: false,
      digestMemo: path.join(root, ".cache", "valuelens", "model-digests.json"),
    });
  const backend = await load(1);
  const shared = new SharedBackend(backend);
  const values = ds.actions.filter(
    (a) => a.country === args.country && a.topic === args.topic && a.polarity === "positive",
  ).length;
  console.log(
    `bench model ${path.relative(root, modelPath)}; slice ${args.country} x ${args.topic} x ${values} values; dataset ${label}`,
  );
  console.log(`threads ${String(backend.info.otherOptions.threads)}, batch 512, 1 sequence, CPU\n`);

  const log = (name: string, m: Measured, unit: string, per: number) =>
    console.log(
      `${name.padEnd(34)} ${(per / m.seconds).toFixed(2).padStart(8)} ${unit}/s  (${per} ${unit} in ${m.seconds.toFixed(1)} s; ${m.evaluations} evaluations, ${m.evaluatedTokens} prompt tokens evaluated, ${m.generatedTokens} generated)`,
    );

  const actionLetters = await measure(shared, ds, label, { protocol: "letters", tasks: ["action"], repeats });
  log("action, letters (5 repeats)", actionLetters, "answers", actionLetters.records);
  const actionPaper = await measure(shared, ds, label, {
    protocol: "paper",
    tasks: ["action"],
    repeats: 1,
    actionVariants: [5],
    actionMaxTokens: 96,
  });
  log("action, paper (variant 5, 96 tok)", actionPaper, "answers", actionPaper.records);

  const statedLetters = await measure(shared, ds, label, { protocol: "letters", tasks: ["stated"], repeats });
  log("stated, letters (5 repeats)", statedLetters, "judgments", statedLetters.records);
  const statedPaper = await measure(shared, ds, label, {
    protocol: "paper",
    tasks: ["stated"],
    repeats: 1,
    statedVariants: [0],
    statedMaxTokens: 640,
  });
  // One paper prompt asks for all 56 values at once: count 56 judgments per prompt.
  log("stated, paper (1 prompt x 56, 640 tok)", statedPaper, "judgments", statedPaper.records * 56);

  // Runner overhead: the letters runs' evaluated tokens/s against raw evaluation of the same batches.
  const lettersSeconds = actionLetters.seconds + statedLetters.seconds;
  const lettersTokens = actionLetters.evaluatedTokens + statedLetters.evaluatedTokens;
  const rawAction = await rawReplay(backend, actionLetters.scored);
  const rawStated = await rawReplay(backend, statedLetters.scored);
  const rawTokens = rawAction.tokens + rawStated.tokens;
  const rawSeconds = rawAction.seconds + rawStated.seconds;
  if (rawTokens !== lettersTokens)
    console.log(`warning: replay evaluated ${rawTokens} tokens, the runner ${lettersTokens}`);

  const actionRatio = actionLetters.records / actionLetters.seconds / (actionPaper.records / actionPaper.seconds);
  const statedRatio =
    statedLetters.records / statedLetters.seconds / ((statedPaper.records * 56) / statedPaper.seconds);
  const overhead = lettersTokens / lettersSeconds / (rawTokens / rawSeconds);
  const promptTokens = actionLetters.promptTokensAnswered + statedLetters.promptTokensAnswered;
  const evaluatedShare = lettersTokens / promptTokens;
  const minimum = againstMinimum([actionLetters, statedLetters]);

  // Lanes: the same letters runs with 4 sequences, isolated and shared batches.
  const oneRows = [...actionLetters.rows, ...statedLetters.rows];
  const lanes: {
    label: string;
    sequences: number;
    batching: LlamaBatching;
    questions: number;
    seconds: number;
    perSecond: number;
    speedup: number;
    maxProbDifference: number;
    minimum: number;
    evaluatedTokens: number;
    minimumRatio: number;
  }[] = [];
  lanes.push({
    label: "1 sequence",
    sequences: 1,
    batching: "isolated",
    questions: oneRows.length,
    seconds: lettersSeconds,
    perSecond: oneRows.length / lettersSeconds,
    speedup: 1,
    maxProbDifference: 0,
    ...renameMinimum(minimum),
  });
  for (const batching of ["isolated", "shared"] as const) {
    const several = await load(LANES, batching);
    const sharedSeveral = new SharedBackend(several);
    const action = await measure(sharedSeveral, ds, label, { protocol: "letters", tasks: ["action"], repeats });
    const stated = await measure(sharedSeveral, ds, label, { protocol: "letters", tasks: ["stated"], repeats });
    await several.close();
    const rows = [...action.rows, ...stated.rows];
    const seconds = action.seconds + stated.seconds;
    lanes.push({
      label: `${LANES} sequences, ${batching}`,
      sequences: LANES,
      batching,
      questions: rows.length,
      seconds,
      perSecond: rows.length / seconds,
      speedup: rows.length / seconds / (oneRows.length / lettersSeconds),
      maxProbDifference: maxProbDifference(oneRows, rows),
      ...renameMinimum(againstMinimum([action, stated])),
    });
  }
  const peakRssMB = process.resourceUsage().maxRSS / 1024;

  console.log("");
  console.log(
    `action: letters / paper answers per second     ${actionRatio.toFixed(1)}x   (bar >= 10x) ${actionRatio >= 10 ? "ok" : "BELOW BAR"}`,
  );
  console.log(
    `stated: letters / paper judgments per second   ${statedRatio.toFixed(1)}x   (bar >= 2x) ${statedRatio >= 2 ? "ok" : "BELOW BAR"}`,
  );
  console.log(
    `letters tokens/s: runner / raw node-llama-cpp  ${overhead.toFixed(3)}   (bar >= 0.9) ${overhead >= 0.9 ? "ok" : "BELOW BAR"}   runner ${(lettersTokens / lettersSeconds).toFixed(0)} tok/s, raw ${(rawTokens / rawSeconds).toFixed(0)} tok/s`,
  );
  console.log(
    `prompt tokens evaluated (prefix reuse)         ${pct(evaluatedShare)} of ${promptTokens} scored prompt tokens`,
  );
  console.log(
    `prompt tokens: minimum / evaluated               ${minimum.ratio.toFixed(3)}   (goal >= 0.95) ${minimum.ratio >= 0.95 ? "ok" : "BELOW GOAL"}   minimum ${minimum.minimum} (each distinct segment prefix once), evaluated ${minimum.evaluated}`,
  );
  console.log(`\nletters (action + stated, ${repeats} repeats), lanes:`);
  for (const l of lanes) {
    console.log(
      `  ${l.label.padEnd(22)} ${l.perSecond.toFixed(2).padStart(7)} questions/s  ${l.speedup.toFixed(2)}x  max |p - p(1 sequence)| ${l.maxProbDifference.toExponential(1)}  minimum/evaluated ${l.minimumRatio.toFixed(3)}  (${l.questions} questions in ${l.seconds.toFixed(1)} s)`,
    );
  }
  console.log(`peak RSS                                       ${peakRssMB.toFixed(0)} MB`);

  const results = {
    date: new Date().toISOString(),
    machine: backend.info.hardware,
    engine: backend.info.engineVersion,
    model: { path: path.relative(root, modelPath), sha256: backend.info.model.sha256, params: "134M", type: "F16" },
    slice: { country: args.country, topic: args.topic, values, dataset: label, repeats },
    action: {
      letters: {
        answers: actionLetters.records,
        seconds: actionLetters.seconds,
        perSecond: actionLetters.records / actionLetters.seconds,
        evaluations: actionLetters.evaluations,
      },
      paper: {
        answers: actionPaper.records,
        seconds: actionPaper.seconds,
        perSecond: actionPaper.records / actionPaper.seconds,
        generatedTokens: actionPaper.generatedTokens,
      },
      ratio: actionRatio,
      bar: 10,
    },
    stated: {
      letters: {
        judgments: statedLetters.records,
        seconds: statedLetters.seconds,
        perSecond: statedLetters.records / statedLetters.seconds,
        evaluations: statedLetters.evaluations,
      },
      paper: {
        judgments: statedPaper.records * 56,
        prompts: statedPaper.records,
        seconds: statedPaper.seconds,
        perSecond: (statedPaper.records * 56) / statedPaper.seconds,
        generatedTokens: statedPaper.generatedTokens,
      },
      ratio: statedRatio,
      bar: 2,
    },
    overhead: {
      runnerTokensPerSecond: lettersTokens / lettersSeconds,
      rawTokensPerSecond: rawTokens / rawSeconds,
      ratio: overhead,
      bar: 0.9,
    },
    prefixReuse: { promptTokens, evaluatedTokens: lettersTokens, evaluatedShare },
    minimumTokens: { minimum: minimum.minimum, evaluated: minimum.evaluated, ratio: minimum.ratio, goal: 0.95 },
    lanes,
    peakRssMB,
  };
  mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  writeFileSync(path.join(root, "bench", "results", "latest.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwrote bench/results/latest.json`);
  await backend.close();
}

await main();

function renameMinimum(m: { minimum: number; evaluated: number; ratio: number }) {
  return { minimum: m.minimum, evaluatedTokens: m.evaluated, minimumRatio: m.ratio };
}
