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

// controlledEvaluate learns `generateNext: { valuelensLetters: Uint32Array }`: the logits of those
// tokens plus max, argmax and the sum of exp over the vocabulary, from the addon valuelens builds
// (scripts/build-addon.mjs, native/valuelensLetters.cpp). Read in the synchronous part of the
// output callback, right after llama_decode and before any other output or decode can run: two
// outputs of one batch are read one after the other and cannot swap.
const LETTERS_MARK = "/* valuelens: letters */";
const LETTERS_PATCHES = [
  [
    "if (generateNext.probabilities === true || generateNext.confidence === true || generateNext.token === true)\n                    logitsArray[index] = true;",
    `if (generateNext.probabilities === true || generateNext.confidence === true || generateNext.token === true || generateNext.valuelensLetters != null ${LETTERS_MARK})\n                    logitsArray[index] = true;`,
  ],
  [
    "contextShiftOptions, async (batchLogitIndex, tokenIndex) => {\n                const inputToken = input[tokenIndex];\n",
    `contextShiftOptions, async (batchLogitIndex, tokenIndex) => {
                const inputToken = input[tokenIndex];
                ${LETTERS_MARK}
                const valuelensLetters = inputToken instanceof Array ? inputToken[1]?.generateNext?.valuelensLetters : undefined;
                if (valuelensLetters != null) {
                    const output = { next: { valuelensLetters: this._context._llama._bindings.valuelens.letterLogits(this._context._ctx, batchLogitIndex, valuelensLetters) } };
                    onTokenResult?.(tokenIndex, output);
                    return output;
                }
`,
  ],
];

// controlledEvaluate creates a native sampler (a vocabulary-sized candidate array, 1.5 MB for
// 128k tokens) on every call, even when no output is sampled; valuelens calls it once per prompt
// segment. Created on first use instead.
const LAZY_SAMPLER_PATCHES = [
  [
    "        const sampler = new LlamaSampler(this.model);\n",
    "        let lazySampler; /* valuelens: lazy sampler */\n        const getSampler = () => (lazySampler ??= new LlamaSampler(this.model));\n",
  ],
  [
    '                return await withLock([sampler, "sample"], async () => {\n',
    '                const sampler = getSampler();\n                return await withLock([sampler, "sample"], async () => {\n',
  ],
  [
    '            void withLock([sampler, "sample"], sampler.asyncDispose);\n',
    '            if (lazySampler != null)\n                void withLock([lazySampler, "sample"], lazySampler.asyncDispose);\n',
  ],
];

// LlamaContextSequence learns valuelensCopyPrefixFrom(source, tokens): the KV cells of a prefix
// another sequence of the same context holds are copied (llama_memory_seq_cp, through the addon
// valuelens builds) instead of evaluated again. Under the context's lock, so no decode runs
// meanwhile; it checks the source still holds those tokens, evaluated, and returns false when
// it does not (the caller evaluates them then).
const COPY_MARK = "/* valuelens: copy prefix */";
const COPY_METHOD = `
${COPY_MARK}
LlamaContextSequence.prototype.valuelensCopyPrefixFrom = async function (source, tokens) {
    this._ensureNotDisposed();
    const copy = this._context._llama._bindings.valuelens?.copySequence;
    if (copy == null || source === this || source._context !== this._context || tokens.length === 0)
        return false;
    return await withLock([this._context, "context"], async () => {
        if (source.disposed || this.disposed || source._nextTokenIndex < tokens.length ||
            source._loadedTokenPredictions.length > 0 || this._loadedTokenPredictions.length > 0)
            return false;
        for (let i = 0; i < tokens.length; i++)
            if (source._contextTokens[i] !== tokens[i])
                return false;
        const ctx = this._context._ctx;
        ctx.removeTokenCellsFromSequence(this._sequenceId, 0, -1);
        this._contextTokens = [];
        this._nextTokenIndex = 0;
        // Separate KV streams per sequence: llama.cpp copies the whole stream, then the tail goes.
        copy(ctx, source._sequenceId, this._sequenceId, -1, -1);
        if (!ctx.removeTokenCellsFromSequence(this._sequenceId, tokens.length, -1)) {
            ctx.removeTokenCellsFromSequence(this._sequenceId, 0, -1);
            return false;
        }
        this._contextTokens = tokens.slice();
        this._nextTokenIndex = tokens.length;
        return true;
    });
};
`;

/** Apply `patches` (each anchor exactly once) inside controlledEvaluate's body only. */
function patchControlledEvaluate(source, patches) {
  const start = source.indexOf("    async controlledEvaluate(input, options) {\n");
  const end = start < 0 ? -1 : source.indexOf("\n    /* eslint-disable", start);
  if (start < 0 || end < 0) return undefined;
  let body = source.slice(start, end);
  for (const [anchor, replacement] of patches) {
    if (body.split(anchor).length !== 2) return undefined;
    body = body.replace(anchor, replacement);
  }
  return source.slice(0, start) + body + source.slice(end);
}

function patchLetters(dir) {
  const file = path.join(dir, "dist", "evaluator", "LlamaContext", "LlamaContext.js");
  if (!existsSync(file)) return console.log(`valuelens: ${file} not found; letters use node-llama-cpp's softmax`);
  const source = readFileSync(file, "utf8");
  if (source.includes(LETTERS_MARK)) return;
  const patched = patchControlledEvaluate(source, [...LETTERS_PATCHES, ...LAZY_SAMPLER_PATCHES]);
  if (
    patched === undefined ||
    !/^export class LlamaContextSequence \{$/m.test(patched) ||
    !/^import \{[^}]*\bwithLock\b[^}]*\} from "lifecycle-utils";$/m.test(patched)
  )
    return console.log(
      "valuelens: this node-llama-cpp's LlamaContext.js is not the one the patch knows; letters use its softmax",
    );
  writeFileSync(file, patched + COPY_METHOD);
}

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
  patchLetters(dir);
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
