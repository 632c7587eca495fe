#!/usr/bin/env node
// valuelens' patch of node-llama-cpp 3.21.1, applied by `npm ci` / `npm install` (package.json
// "postinstall"). Idempotent; with another node-llama-cpp whose code it does not recognise it
// changes nothing, says so in one line and exits 0 (valuelens then runs on plain upstream).
//
// What it changes: on Linux, node-llama-cpp tests a prebuilt binary in a child Node process each
// time a process loads llama.cpp (`testBindingBinary`, about 0.4 s of every run). The patch keeps
// a passed test of a CPU build (gpu: false) in `.valuelens-binary-test.json` beside the binary,
// keyed by the binary's path, size and mtime, Node's version, the kernel and the CPU, and skips
// the child while nothing of that changed. GPU builds are tested every time (a driver can change
// under them), and a failed test is never remembered.
//
// Back to plain upstream: `npm ci --ignore-scripts && npm run build`, or delete
// node_modules/node-llama-cpp and run `npm ci` without this script.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const MARK = "// patched by valuelens (scripts/patch-node-llama-cpp.mjs)";
const ANCHOR = 'import { testBindingBinary } from "./utils/testBindingBinary.js";';
const REPLACEMENT = `import { testBindingBinary as upstreamTestBindingBinary } from "./utils/testBindingBinary.js";
import { rememberedBindingTest } from "./utils/valuelensBindingTestMemo.js";
const testBindingBinary = rememberedBindingTest(upstreamTestBindingBinary); ${MARK}`;

const MEMO_MODULE = `${MARK}
// A passed binary test of a CPU build, remembered beside the binary (see the script for why).
import { readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const MEMO = ".valuelens-binary-test.json";

function keyOf(bindingPath, extBackendsPath) {
  const stamp = (file) => {
    if (file == null) return null;
    const st = statSync(file);
    return [path.resolve(file), st.size, st.mtimeMs];
  };
  return JSON.stringify([stamp(bindingPath), stamp(extBackendsPath), process.version, process.arch, os.release(), os.cpus()[0]?.model ?? ""]);
}

export function rememberedBindingTest(test) {
  return async (bindingPath, extBackendsPath, gpu, ...rest) => {
    if (gpu !== false || process.env.VALUELENS_BINARY_TEST === "always") return test(bindingPath, extBackendsPath, gpu, ...rest);
    let key;
    const file = path.join(path.dirname(bindingPath), MEMO);
    try {
      key = keyOf(bindingPath, extBackendsPath);
      if (JSON.parse(readFileSync(file, "utf8")).passed === key) return true;
    } catch {
      // no memo yet, or unreadable: test
    }
    const passed = await test(bindingPath, extBackendsPath, gpu, ...rest);
    if (passed && key !== undefined) {
      try {
        writeFileSync(file, JSON.stringify({ passed: key }) + "\\n");
      } catch {
        // a read-only install: test every time, as upstream does
      }
    }
    return passed;
  };
}
`;

function main() {
  let dir;
  try {
    // The package's entry, then up to the folder whose package.json is node-llama-cpp's.
    dir = path.dirname(createRequire(import.meta.url).resolve("node-llama-cpp"));
    while (
      !existsSync(path.join(dir, "package.json")) ||
      JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")).name !== "node-llama-cpp"
    ) {
      if (dir === path.dirname(dir)) throw new Error("no package.json");
      dir = path.dirname(dir);
    }
  } catch {
    console.log("valuelens: node-llama-cpp is not installed; nothing to patch");
    return;
  }
  const getLlama = path.join(dir, "dist", "bindings", "getLlama.js");
  if (!existsSync(getLlama)) {
    console.log(`valuelens: ${getLlama} not found; node-llama-cpp left as it is (each run tests its binary)`);
    return;
  }
  const source = readFileSync(getLlama, "utf8");
  writeFileSync(path.join(dir, "dist", "bindings", "utils", "valuelensBindingTestMemo.js"), MEMO_MODULE);
  if (source.includes(MARK)) return;
  if (!source.includes(ANCHOR)) {
    console.log(
      "valuelens: this node-llama-cpp's getLlama.js is not the one the patch knows; left as it is (each run tests its binary)",
    );
    return;
  }
  writeFileSync(getLlama, source.replace(ANCHOR, REPLACEMENT));
}

main();
