/**
 * make bench (third part): prompt tokens evaluated against the fewest possible with many lanes.
 *
 * The letters protocol (stated + action, 5 repeats) on one slice of the full VIA (United States x
 * Politics; the shipped sample without it) with 1, 4 and 16 context sequences, isolated batches,
 * with and without prefix copies across lanes (llama_memory_seq_cp, src/backends/llamacpp.ts).
 * minimum = every distinct segment prefix evaluated once (src/runner/minimumTokens.ts); goal
 * minimum / evaluated >= 0.95 with 16 lanes. Token counts, not speed: the Llama 3 stand-in (its
 * real tokenizer and template), on the CPU. Records must equal the one-sequence run's, bit for bit.
 *
 * Writes bench/results/prefixes.json.
 * Usage: node --import tsx bench/prefixes.ts [--via PATH] [--country C] [--topic T] [--repeats N]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LlamaCppBackend } from "../src/backends/llamacpp.js";
import { ensureStandinModel } from "../src/gguf/index.js";
import { deterministicPart, readRecords } from "../src/records/records.js";
import { minimumPromptTokens } from "../src/runner/minimumTokens.js";
import { packageRoot } from "../src/util/paths.js";
import { benchDataset } from "./dataset.js";
import { benchConfig, runCold, SharedBackend } from "./sharedBackend.js";

const root = packageRoot();
const { values: args } = parseArgs({
  options: {
    via: { type: "string" },
    country: { type: "string", default: "United States" },
    topic: { type: "string", default: "Politics" },
    repeats: { type: "string", default: "5" },
  },
});
const { ds, label, full } = await benchDataset(args.via);
const modelPath = await ensureStandinModel("llama3", { root });

interface Row {
  sequences: number;
  copies: boolean;
  questions: number;
  minimum: number;
  evaluated: number;
  copied: number;
  ratio: number;
  sameRecords: boolean;
}

let reference: string[] | undefined;

async function measure(sequences: number, copies: boolean): Promise<Row> {
  const dir = mkdtempSync(path.join(tmpdir(), "vl-bench-prefixes-"));
  if (copies) delete process.env.VALUELENS_COPY_PREFIXES;
  else process.env.VALUELENS_COPY_PREFIXES = "0";
  const backend = await LlamaCppBackend.load({
    name: "llama3 stand-in",
    modelPath,
    contextSize: 2048,
    gpuLayers: 0,
    threads: 1,
    batchSize: 512,
    sequences,
    batching: "isolated",
    flashAttention: false,
    gpu: false,
    digestMemo: path.join(root, ".cache", "valuelens", "model-digests.json"),
    log: () => {},
  });
  const shared = new SharedBackend(backend);
  const config = benchConfig(label, {
    repeats: Number(args.repeats),
    countries: full ? [args.country!] : null,
    topics: full ? [args.topic!] : null,
  });
  const result = await runCold(shared, config, ds, dir);
  const records = readRecords(path.join(result.out, "records.jsonl")).records.map((r) =>
    JSON.stringify(deterministicPart(r)),
  );
  reference ??= records;
  const { minimum } = minimumPromptTokens(shared.scored);
  const evaluated = backend.counters.evaluatedTokens;
  const row: Row = {
    sequences,
    copies,
    questions: result.answered,
    minimum,
    evaluated,
    copied: backend.copiedTokens,
    ratio: minimum / evaluated,
    sameRecords: records.length === reference.length && records.every((r, i) => r === reference![i]),
  };
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

console.log(
  `slice: ${full ? `${args.country} x ${args.topic}` : "the shipped sample"} (${label}), stated + action letters, ${args.repeats} repeats; llama3 stand-in, isolated batches\n`,
);
const rows: Row[] = [];
for (const [sequences, copies] of [
  [1, false],
  [4, false],
  [4, true],
  [16, false],
  [16, true],
] as const) {
  const row = await measure(sequences, copies);
  rows.push(row);
  console.log(
    `${String(sequences).padStart(2)} sequences, prefix copies ${copies ? "on " : "off"}: minimum / evaluated ${row.ratio.toFixed(3)} (${row.minimum} / ${row.evaluated} tokens, ${row.copied} copied; ${row.questions} questions; records ${row.sameRecords ? "bit for bit those of 1 sequence" : "DIFFER from 1 sequence"})`,
  );
}
const sixteen = rows.find((r) => r.sequences === 16 && r.copies)!;
console.log(
  `\n16 sequences with prefix copies: minimum / evaluated ${sixteen.ratio.toFixed(3)}   (goal >= 0.95) ${sixteen.ratio >= 0.95 ? "ok" : "BELOW GOAL"}`,
);
mkdirSync(path.join(root, "bench", "results"), { recursive: true });
writeFileSync(
  path.join(root, "bench", "results", "prefixes.json"),
  `${JSON.stringify({ date: new Date().toISOString(), dataset: label, repeats: Number(args.repeats), rows, goal: 0.95 }, null, 2)}\n`,
);
console.log("wrote bench/results/prefixes.json");
