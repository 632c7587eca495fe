// vitest's globalSetup (vitest.config.ts): runs once, in the main process, before any test file.
// - The tests run the built command (bin/valuelens.js -> dist/), as a user does: dist/ is
//   compiled again here when a source file is newer than its output (`npm test` has just built
//   it; `npx vitest run FILE` after an edit has not).
// - The shared models (the tiny model and the family stand-ins) are written once here, not
//   by whichever test file comes first while another waits for it.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { ensureStandinModel, STANDIN_FAMILIES } from "../../src/gguf/index.js";
import { PROJECT_ROOT, tinyModelPath } from "./models.js";

/** Every src/ file whose dist/ output is missing or older than it. */
export function staleOutputs(root: string = PROJECT_ROOT): string[] {
  const src = path.join(root, "src");
  const stale: string[] = [];
  for (const rel of readdirSync(src, { recursive: true }) as string[]) {
    if (!rel.endsWith(".ts") || rel.endsWith(".d.ts")) continue;
    const out = path.join(root, "dist", rel.replace(/\.ts$/, ".js"));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(path.join(src, rel)).mtimeMs) stale.push(rel);
  }
  return stale;
}

export default async function setup(): Promise<void> {
  const stale = staleOutputs();
  if (stale.length > 0) {
    const t0 = Date.now();
    const tsc = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
      {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
      },
    );
    if (tsc.status !== 0)
      throw new Error(`the tests run dist/, and \`tsc -p tsconfig.json\` failed:\n${tsc.stdout}${tsc.stderr}`);
    console.log(
      `globalSetup: dist/ rebuilt (${stale.length} source files newer than their output) in ${Date.now() - t0} ms`,
    );
  }
  // Written once (a few seconds on a clean clone), reused by every file from .cache/models.
  await tinyModelPath();
  for (const family of STANDIN_FAMILIES) {
    // Without git (or the bundle) there is no stand-in: the tests that need one skip and say so.
    await ensureStandinModel(family, { root: PROJECT_ROOT }).catch(() => {});
  }
}
