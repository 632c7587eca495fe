// The quick tier (`npm run test:quick`, vitest.quick.config.ts): the test files of pure logic and
// parsers, for the edit-test loop. A file is quick unless it, or a file it imports (followed through
// relative imports under test/), runs something heavy: the valuelens command, a model on llama.cpp,
// llama-server or Chromium. Loopback fake servers (helpers/fakeServers.ts) are quick. Decided from the sources, so a new file lands in the right
// tier by itself. `npm test` runs every file, quick or not.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** The test helpers that make a file heavy when it imports them (directly or through another helper). */
export const HEAVY_HELPERS = [
  "cli.ts", // spawns the valuelens command
  "llamaServer.ts", // starts llama-server
  "browser.ts", // opens Chromium
  "labelsRun.ts", // a VIA run on the tiny model
];

/** What makes a test file (not a helper, which may define these) heavy: a model on llama.cpp. */
export const HEAVY_CODE = [
  /from "node-llama-cpp"/,
  /\bLlamaCppBackend\b/,
  /\b(tinyModelPath|ensureTestModel|ensureStandinModel)\(/,
];

const IMPORT = /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g;

/** Whether `file` or a test helper it imports (relative imports under `testDir`) is heavy. */
export function isHeavy(file: string, testDir: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  const helpers = path.join(testDir, "helpers");
  if (path.dirname(file) === helpers && HEAVY_HELPERS.includes(path.basename(file))) return true;
  const source = readFileSync(file, "utf8");
  if (path.dirname(file) !== helpers && HEAVY_CODE.some((re) => re.test(source))) return true;
  for (const [, spec] of source.matchAll(IMPORT)) {
    const target = path.resolve(path.dirname(file), spec!).replace(/\.js$/, ".ts");
    if (!target.startsWith(testDir + path.sep) || !existsSync(target)) continue;
    if (isHeavy(target, testDir, seen)) return true;
  }
  return false;
}

/** The quick tier's test files, relative to `root`. */
export function quickTestFiles(root: string): string[] {
  const testDir = path.join(root, "test");
  return (readdirSync(testDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => path.join(testDir, f))
    .filter((f) => !isHeavy(f, testDir))
    .map((f) => path.relative(root, f).split(path.sep).join("/"))
    .sort();
}
