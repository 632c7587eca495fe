// The quick tier (`npm run test:quick`) holds the files of pure logic and parsers, decided from
// their sources (test/helpers/tiers.ts); `npm test` still runs every file.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isHeavy, quickTestFiles } from "../helpers/tiers.js";
import { PROJECT_ROOT } from "../helpers/models.js";
import quick from "../../vitest.quick.config.js";

const TEST_DIR = path.join(PROJECT_ROOT, "test");
const heavy = (file: string) => isHeavy(path.join(PROJECT_ROOT, file), TEST_DIR);

describe("test tiers", () => {
  it("a file that spawns the command, runs a model, llama-server or Chromium is not quick, through its helpers too", () => {
    expect(heavy("test/cli-errors.test.ts")).toBe(true); // the command (helpers/cli.ts)
    expect(heavy("test/families/llama3.test.ts")).toBe(true); // llama-server, through families/family.ts
    expect(heavy("test/html/pages.test.ts")).toBe(true); // Chromium
    expect(heavy("test/llamacpp.test.ts")).toBe(true); // the embedded engine
  });

  it("pure logic, parsers and loopback fake servers are quick; vitest.quick.config.ts runs exactly them", () => {
    const files = quickTestFiles(PROJECT_ROOT);
    for (const f of [
      "test/metrics.test.ts",
      "test/protocol-parsers.test.ts",
      "test/openai.test.ts",
      "test/architecture/tiers.test.ts",
    ])
      expect(files).toContain(f);
    expect(files.some((f) => heavy(f))).toBe(false);
    expect(quick.test?.include).toEqual(files);
    expect(quick.test?.globalSetup).toEqual([]);
  });
});
