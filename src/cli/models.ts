import path from "node:path";
import { Command, Option } from "commander";
import {
  DEFAULT_STANDIN_TYPE,
  DEFAULT_TYPE,
  ggufPlan,
  llamaModelFile,
  parameterCount,
  planStandinModel,
  STANDIN_FAMILIES,
  TEST_MODEL_TYPES,
  testModelSpec,
  writeStandinModel,
  writeTestModel,
  type GgufPlan,
  type StandinFamily,
  type StandinShape,
  type TestModelShape,
  type TestModelType,
} from "../gguf/index.js";
import { modelFile } from "../models/open.js";
import { readModels } from "../models/registry.js";
import { UserError } from "../util/errors.js";
import { defaultCacheDir, intOption, loadModelSpec, modelPaths, modelsFileOption } from "./common.js";

export function modelsCommand(): Command {
  const cmd = new Command("models").description("models.yaml entries and test models");
  cmd
    .command("list")
    .description("the models in models.yaml")
    .option("--models <file>", "models file (default ./models.yaml)")
    .action((flags: { models?: string }) => {
      const registry = readModels(modelsFileOption(flags.models));
      for (const [name, m] of registry) {
        process.stdout.write(
          `${name.padEnd(24)} ${m.entry.backend.padEnd(10)} ${m.entry.source}${m.entry.description ? `  (${m.entry.description})` : ""}\n`,
        );
      }
    });
  cmd
    .command("pull")
    .description(
      "download a models.yaml entry whose source is an hf: URI (into <cache root>/models: $VALUELENS_CACHE_DIR, $XDG_CACHE_HOME/valuelens or ~/.cache/valuelens)",
    )
    .argument("<name>", "models.yaml entry")
    .option("--models <file>", "models file (default ./models.yaml)")
    .action(async (name: string, flags: { models?: string }) => {
      const model = loadModelSpec(name, flags.models);
      const file = await modelFile(model, modelPaths(defaultCacheDir()), { download: true });
      const rel = path.relative(process.cwd(), file);
      process.stdout.write(`${name}: ${rel.startsWith("..") || path.isAbsolute(rel) ? file : rel}\n`);
    });
  cmd
    .command("make-test-model")
    .description(
      "write a random-weight llama GGUF (tiny: tests and demo; bench: a realistic shape for benchmarks; " +
        "llama3-8b: Llama-3-8B's exact shape with Llama 3's vocabulary and chat template, for speed measurements; " +
        "--family: a stand-in with that family's real tokenizer and chat template, as --model standin:FAMILY uses)",
    )
    .addOption(new Option("--shape <shape>").choices(["tiny", "bench", "llama3-8b"]).default("tiny"))
    .addOption(
      new Option("--family <family>", "stand-in model family (small network, tied embeddings)")
        .choices(STANDIN_FAMILIES)
        .conflicts(["shape"]),
    )
    .addOption(
      new Option(
        "--type <type>",
        `weight matrix type (default ${DEFAULT_TYPE} for tiny/bench, ${DEFAULT_STANDIN_TYPE} for --family, ${LLAMA3_8B_DEFAULT_TYPE} for llama3-8b); q8_0/q4_0 as llama-quantize makes them, norms stay f32`,
      ).choices(TEST_MODEL_TYPES),
    )
    .option("--seed <n>", "weights seed", intOption("--seed"), 1)
    .option("--out <file>", "where to write the .gguf (required unless --dry-run)")
    .option("--dry-run", "print each tensor's type and size and the file's size; write nothing")
    .action(
      async (flags: {
        shape: TestModelShape | "llama3-8b";
        family?: StandinFamily;
        type?: TestModelType;
        seed: number;
        out?: string;
        dryRun?: boolean;
      }) => {
        const out = flags.out;
        if (out === undefined && !flags.dryRun)
          throw new UserError("make-test-model needs --out FILE.gguf (or --dry-run)");
        if (out !== undefined && !out.endsWith(".gguf")) throw new UserError(`--out must end in .gguf, got ${out}`);
        if (flags.family !== undefined || flags.shape === "llama3-8b") {
          const family: StandinFamily = flags.family ?? "llama3";
          const shape: StandinShape = flags.family !== undefined ? "small" : "llama3-8b";
          const type = flags.type ?? (shape === "small" ? DEFAULT_STANDIN_TYPE : LLAMA3_8B_DEFAULT_TYPE);
          const opts = {
            family,
            shape,
            type,
            seed: flags.seed,
            source: { cacheDir: modelPaths(defaultCacheDir()).llamaCppDir },
          };
          const what = `stand-in ${family}${shape === "small" ? "" : ` (shape ${shape})`}, ${type}`;
          if (flags.dryRun || out === undefined) {
            const plan = await planStandinModel(family, opts);
            process.stdout.write(planText(plan, plan.name, plan.params, what));
            return;
          }
          const written = await writeStandinModel({ ...opts, out, onProgress: progressPrinter(out) });
          process.stdout.write(`${out}: ${what}, ${JSON.stringify(written)}\n`);
          return;
        }
        const shape = flags.shape;
        const type = flags.type ?? DEFAULT_TYPE;
        if (flags.dryRun || out === undefined) {
          const spec = testModelSpec(shape, { seed: flags.seed, type });
          const file = llamaModelFile(spec);
          process.stdout.write(planText(ggufPlan(file), spec.name, parameterCount(file), `${shape} ${type}`));
          return;
        }
        const written = await writeTestModel({ shape, out, seed: flags.seed, type });
        process.stdout.write(`${out}: ${shape} ${type}, ${JSON.stringify(written)}\n`);
      },
    );
  return cmd;
}

/** Q4_0, the type Llama-3-8B is most often run in (4.66 GB). */
const LLAMA3_8B_DEFAULT_TYPE: TestModelType = "q4_0";

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** The dry run's listing: one line per tensor, then the totals. */
function planText(plan: GgufPlan, name: string, params: number, what: string): string {
  const lines = [`${name}: ${what} (dry run: nothing written)`];
  const byType = new Map<string, number>();
  for (const t of plan.tensors) {
    byType.set(t.type, (byType.get(t.type) ?? 0) + 1);
    lines.push(
      `  ${t.name.padEnd(28)} ${t.dims.join(" x ").padEnd(14)} ${t.type.padEnd(5)} ${t.bytes.toLocaleString("en-US").padStart(15)} bytes`,
    );
  }
  const types = [...byType].map(([t, n]) => `${t} ${n}`).join(", ");
  lines.push(
    `${plan.tensors.length} tensors (${types}), ${params.toLocaleString("en-US")} parameters; ` +
      `header ${plan.headerBytes.toLocaleString("en-US")} bytes; file ${plan.totalBytes.toLocaleString("en-US")} bytes (${gb(plan.totalBytes)})`,
  );
  return lines.join("\n") + "\n";
}

/** Progress on stderr for files of a GB or more (the llama3-8b shape takes minutes); nothing for small ones. */
function progressPrinter(out: string): (written: number, total: number) => void {
  const started = Date.now();
  let nextTenth = 1;
  return (written, total) => {
    if (total < 1e9) return;
    while (written >= (nextTenth * total) / 10 && nextTenth <= 10) {
      process.stderr.write(
        `${out}: ${nextTenth * 10}% of ${gb(total)} (${Math.round((Date.now() - started) / 1000)} s)\n`,
      );
      nextTenth++;
    }
  };
}
