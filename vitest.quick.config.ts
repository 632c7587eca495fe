// `npm run test:quick`: the quick tier (test/helpers/tiers.ts) for the edit-test loop: the files of
// pure logic and parsers (metrics, protocol, datasets, parsers, loopback servers), in well under two
// minutes. It adds to `npm test`, which still runs every file.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";
import { quickTestFiles } from "./test/helpers/tiers.js";

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: quickTestFiles(dirname(fileURLToPath(import.meta.url))),
    // Nothing here runs the built command or a model: no build, no models to write.
    globalSetup: [],
  },
});
