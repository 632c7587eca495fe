#!/usr/bin/env node
// The package's command. The TypeScript sources are compiled into dist/ by `npm ci` (prepare).
import("../dist/cli/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli/main.js")) {
    console.error("valuelens: dist/ is missing; run `npm run build` (npm ci does this) first.");
    process.exit(1);
  }
  throw err;
});
