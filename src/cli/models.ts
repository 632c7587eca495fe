import path from "node:path";
import { Command, Option } from "commander";
import { STANDIN_FAMILIES, writeStandinModel, writeTestModel, type StandinFamily, type TestModelShape, type TestModelType } from "../gguf/index.js";
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
        process.stdout.write(`${name.padEnd(24)} ${m.entry.backend.padEnd(10)} ${m.entry.source}${m.entry.description ? `  (${m.entry.description})` : ""}\n`);
      }
    });
  cmd
    .command("pull")
    .description("download a models.yaml entry whose source is an hf: URI (into <cache root>/models: $VALUELENS_CACHE_DIR, $XDG_CACHE_HOME/valuelens or ~/.cache/valuelens)")
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
        "--family: a stand-in with that family's real tokenizer and chat template, as --model standin:FAMILY uses)",
    )
    .addOption(new Option("--shape <shape>").choices(["tiny", "bench"]).default("tiny"))
    .addOption(new Option("--family <family>", "stand-in model family (F16, tied embeddings)").choices(STANDIN_FAMILIES).conflicts(["shape", "type"]))
    .addOption(new Option("--type <type>", "tensor type").choices(["f32", "f16"]).default("f16"))
    .option("--seed <n>", "weights seed", intOption("--seed"), 1)
    .requiredOption("--out <file>", "where to write the .gguf")
    .action(async (flags: { shape: TestModelShape; family?: StandinFamily; type: TestModelType; seed: number; out: string }) => {
      if (!flags.out.endsWith(".gguf")) throw new UserError(`--out must end in .gguf, got ${flags.out}`);
      if (flags.family) {
        const written = await writeStandinModel({ family: flags.family, out: flags.out, seed: flags.seed, source: { cacheDir: modelPaths(defaultCacheDir()).llamaCppDir } });
        process.stdout.write(`${flags.out}: stand-in ${flags.family}, ${JSON.stringify(written)}\n`);
        return;
      }
      const written = await writeTestModel({ shape: flags.shape, out: flags.out, seed: flags.seed, type: flags.type });
      process.stdout.write(`${flags.out}: ${flags.shape} ${flags.type}, ${JSON.stringify(written)}\n`);
    });
  return cmd;
}
