import path from "node:path";
import { Command } from "commander";
import { AnswerCache } from "../cache/answerCache.js";
import { cacheRoot, defaultCacheDir, defaultModelsDir } from "./common.js";

export function cacheCommand(): Command {
  const cmd = new Command("cache").description("the answer cache shared by all runs");
  cmd
    .command("stats")
    .description("entries, size and torn lines of the answer cache; where the cache root and the models are")
    .option(
      "--cache-dir <dir>",
      "answer cache (default: $VALUELENS_CACHE_DIR, else $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens)",
    )
    .option("--json", "print JSON")
    .action((flags: { cacheDir?: string; json?: boolean }) => {
      const cache = AnswerCache.open(path.resolve(flags.cacheDir ?? defaultCacheDir()));
      const s = cache.summary();
      const root = cacheRoot();
      const models = defaultModelsDir();
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({
            dir: s.dir,
            segments: s.segments,
            entries: s.entries,
            bytes: s.bytes,
            tornLines: s.tornLines,
            root,
            models,
          }) + "\n",
        );
        return;
      }
      process.stdout.write(
        `cache ${s.dir}\n  entries     ${s.entries}\n  segments    ${s.segments}\n  size        ${(s.bytes / 1024).toFixed(1)} KiB\n  torn lines  ${s.tornLines} (skipped)\n` +
          `cache root  ${root} ($VALUELENS_CACHE_DIR, else $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens)\n  models      ${models}\n`,
      );
    });
  return cmd;
}
