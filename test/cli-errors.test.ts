// Bad input through the CLI: every case exits 1 with ONE line on stderr (no stack trace) that
// names the file / entry / field / row and says what to do, and nothing is left half-written.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../src/records/manifest.js";
import { valuelens, type CliResult } from "./helpers/cli.js";
import { tinyModelPath } from "./helpers/models.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-errors-"));
const cacheDir = path.join(work, "cache");
/** The smallest real run: one letters action question on one repeat. */
const SMALL = [
  "--countries",
  "Nigeria",
  "--tasks",
  "action",
  "--limit",
  "1",
  "--repeats",
  "1",
  "--progress",
  "quiet",
  "--cache-dir",
  cacheDir,
];

/** Exit 1, exactly one stderr line, no stack trace, and every `needle` in that line. */
function expectOneLineError(r: CliResult, ...needles: (string | RegExp)[]): string {
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  expect(lines, `stderr was:\n${r.stderr}`).toHaveLength(1);
  expect(r.code, `stderr was:\n${r.stderr}`).toBe(1);
  const line = lines[0]!;
  expect(line).not.toMatch(/^\s+at /);
  expect(line).not.toContain("internal error");
  for (const n of needles) {
    if (typeof n === "string") expect(line).toContain(n);
    else expect(line).toMatch(n);
  }
  return line;
}

function write(name: string, content: string | Buffer): string {
  const file = path.join(work, name);
  writeFileSync(file, content);
  return file;
}

describe("valuelens run --model: missing and corrupt model files", () => {
  let tiny: string;
  beforeAll(async () => {
    tiny = await tinyModelPath();
  });

  it("a missing model file names the path and says to check --model", () => {
    const out = path.join(work, "run-missing-model");
    const r = valuelens(["run", "--model", "/nonexistent/model.gguf", ...SMALL, "--out", out]);
    expectOneLineError(r, "/nonexistent/model.gguf", "not found", "--model");
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });

  const corrupt: [string, () => Buffer, RegExp][] = [
    ['"GGUF" followed by garbage', () => Buffer.concat([Buffer.from("GGUF"), randomBytes(4096)]), /GGUF version/],
    [
      "random bytes",
      () => Buffer.concat([Buffer.from([0x00, 0x01, 0x02, 0x03]), randomBytes(4096)]),
      /not a GGUF file/,
    ],
    ["an empty file", () => Buffer.alloc(0), /too short/],
    [
      "a GGUF v3 header followed by garbage",
      () => Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), randomBytes(4096)]),
      /corrupt or incomplete/,
    ],
  ];
  it.each(corrupt)(
    "a corrupt GGUF (%s) is refused in one line, and the run directory stays usable",
    (label, bytes, why) => {
      const file = write(`bad-${label.replace(/\W+/g, "-")}.gguf`, bytes());
      const out = path.join(work, `run-bad-${label.replace(/\W+/g, "-")}`);
      const r = valuelens(["run", "--model", file, ...SMALL, "--out", out]);
      expectOneLineError(r, file, why, "re-download or rebuild");
      // Nothing half-written: no manifest or records a later run would trip over.
      expect(existsSync(path.join(out, "manifest.json"))).toBe(false);
      expect(existsSync(path.join(out, "records.jsonl"))).toBe(false);
    },
  );

  it("a truncated real model reports llama.cpp's reason in the same one line", () => {
    const whole = readFileSync(tiny);
    const file = write("truncated.gguf", whole.subarray(0, Math.floor(whole.length / 2)));
    const out = path.join(work, "run-truncated");
    const r = valuelens(["run", "--model", file, ...SMALL, "--out", out]);
    expectOneLineError(r, file, "corrupt or incomplete", "re-download or rebuild");
    // The user fixes the model and runs again with the same --out: it must just work.
    expect(!existsSync(out) || readdirSync(out).length === 0).toBe(true);
    const again = valuelens(["run", "--model", "tiny", ...SMALL, "--out", out]);
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(readManifest(out)!.status).toBe("complete");
  });
});

describe("valuelens run --models: a bad models.yaml", () => {
  const entry = (extra: string) => `models:\n  m1:\n${extra}`;
  const cases: [string, string, (string | RegExp)[]][] = [
    [
      "a wrong type",
      entry('    backend: llama.cpp\n    source: builtin:tiny\n    contextSize: "big"\n'),
      ['field "contextSize"', '"big"', "expected number"],
    ],
    [
      "an unknown field",
      entry("    backend: llama.cpp\n    source: builtin:tiny\n    colour: red\n"),
      ['"colour"', "unknown field", "remove it or fix its spelling"],
    ],
    [
      "a missing source",
      entry("    backend: llama.cpp\n    contextSize: 512\n"),
      ['field "source"', "missing", "add it"],
    ],
    [
      "an unknown backend",
      entry("    backend: tgi\n    source: builtin:tiny\n"),
      ['field "backend"', '"tgi"', "llama.cpp", "ollama", "openai-compatible"],
    ],
    ["a missing backend", entry("    source: builtin:tiny\n"), ['field "backend"', "missing", "backend: llama.cpp"]],
    [
      "a bad union value",
      entry("    backend: llama.cpp\n    source: builtin:tiny\n    gpuLayers: lots\n"),
      ['field "gpuLayers"', '"lots"', /"auto" or "max" or number/],
    ],
  ];
  it.each(cases)("%s: names the file, the entry and the field", (label, yaml, needles) => {
    const file = write(`models-${label.replace(/\W+/g, "-")}.yaml`, yaml);
    const r = valuelens(["run", "--model", "m1", "--models", file, ...SMALL, "--out", path.join(work, "never")]);
    expectOneLineError(r, file, 'model "m1"', ...needles);
    expect(existsSync(path.join(work, "never"))).toBe(false);
  });

  it("a context that cannot be created names the entry and the field to lower", () => {
    const file = write(
      "models-huge-context.yaml",
      entry("    backend: llama.cpp\n    source: builtin:tiny\n    contextSize: 100000000\n"),
    );
    const out = path.join(work, "run-huge-context");
    const r = valuelens(["run", "--model", "m1", "--models", file, ...SMALL, "--out", out]);
    expectOneLineError(r, 'model "m1"', "100000000", "lower contextSize");
    expect(existsSync(out)).toBe(false);
  });

  it("invalid YAML syntax names the file and the line", () => {
    const file = write("models-syntax.yaml", "models:\n  m1:\n    backend: llama.cpp\n   source: [oops\n");
    const r = valuelens(["run", "--model", "m1", "--models", file, ...SMALL]);
    expectOneLineError(r, file, "not valid YAML", /line \d+/, "fix the syntax");
  });

  it("an empty models file says what it must hold", () => {
    const file = write("models-empty.yaml", "");
    expectOneLineError(valuelens(["models", "list", "--models", file]), file, "empty", "models:");
  });

  it("a --models file that does not exist is an error, not an empty registry", () => {
    const file = path.join(work, "no-such-models.yaml");
    expectOneLineError(valuelens(["run", "--model", "m1", "--models", file, ...SMALL]), file, "not found");
    expectOneLineError(valuelens(["models", "list", "--models", file]), file, "not found");
  });

  it("an unknown model name lists the entries of the models file", () => {
    const file = write("models-ok.yaml", entry("    backend: llama.cpp\n    source: builtin:tiny\n"));
    expectOneLineError(
      valuelens(["run", "--model", "m2", "--models", file, ...SMALL]),
      'unknown model "m2"',
      "m1",
      ".gguf",
    );
  });
});

describe("a malformed VIA dataset row", () => {
  const HEADER = ",Unnamed: 0,country,topic,value,polarity,generation_prompt";
  const gen = (action: string) =>
    `"{\n  ""Human Action"": ""${action}"",\n  ""Feature Attributions"": [],\n  ""Natural Language Explanation"": ""x""\n}"`;
  // The first data row spans lines 2-6 (a quoted multi-line answer), so the bad row is on line 7.
  const csv = (country: string, polarity: string) =>
    [
      HEADER,
      `0,0,Nigeria,Health and Health Care,Equality,positive,${gen("I help my neighbours register.")}`,
      `1,1,${country},Health and Health Care,Equality,${polarity},${gen("I jump the queue.")}`,
      "",
    ].join("\n");
  const cases: [string, string, string, string, (string | RegExp)[]][] = [
    ["polarity sideways", "Nigeria", "sideways", "polarity", ['"sideways"', '"positive" or "negative"']],
    ["an unknown country", "Narnia", "negative", "country", ['"Narnia"']],
    ["a misspelt country", "Nigera", "negative", "country", ['did you mean "Nigeria"']],
  ];
  it.each(cases)(
    "%s: datasets info and run name the file, line 7 and the field",
    (label, country, polarity, field, needles) => {
      const file = write(`via-${label.replace(/\W+/g, "-")}.csv`, csv(country, polarity));
      const before = readFileSync(file);
      expectOneLineError(
        valuelens(["datasets", "info", "via", "--via", file]),
        file,
        "line 7",
        `field "${field}"`,
        "fix or remove the row",
        ...needles,
      );
      const out = path.join(work, `run-via-${label.replace(/\W+/g, "-")}`);
      expectOneLineError(
        valuelens(["run", "--model", "tiny", "--via", file, ...SMALL, "--out", out]),
        file,
        "line 7",
        `field "${field}"`,
        ...needles,
      );
      expect(existsSync(out)).toBe(false);
      expect(readFileSync(file)).toEqual(before);
    },
  );

  it("a missing --via file says how to get one", () => {
    const file = path.join(work, "no-such.csv");
    expectOneLineError(valuelens(["datasets", "info", "via", "--via", file]), file, "not found", "--via");
  });
});

describe("unknown names in flags", () => {
  it("--countries Narnia lists the countries; a near miss suggests the close match", () => {
    expectOneLineError(
      valuelens(["run", "--model", "tiny", "--countries", "Narnia", ...SMALL.slice(2)]),
      '"Narnia"',
      "Nigeria",
      "Germany",
    );
    expectOneLineError(
      valuelens(["run", "--model", "tiny", "--countries", "Nigeria,Germny", ...SMALL.slice(2)]),
      '"Germny"',
      'did you mean "Germany"',
    );
  });

  it("--tasks foo names the task and the valid ones", () => {
    expectOneLineError(
      valuelens(["run", "--model", "tiny", "--tasks", "stated,foo", "--progress", "quiet"]),
      "--tasks",
      '"foo"',
      "stated",
      "action",
    );
  });

  it("--protocol nope names the allowed choices", () => {
    expectOneLineError(
      valuelens(["run", "--model", "tiny", "--protocol", "nope"]),
      "--protocol",
      "nope",
      "letters",
      "paper",
    );
  });

  it("--variants out of range says the allowed range", () => {
    expectOneLineError(
      valuelens(["run", "--model", "tiny", "--protocol", "paper", "--variants", "9"]),
      "--variants",
      "0-7",
    );
  });
});

describe("valuelens report on something that is not a run", () => {
  it("a directory without a manifest", () => {
    const dir = path.join(work, "not-a-run");
    mkdirSync(dir, { recursive: true });
    expectOneLineError(valuelens(["report", dir]), dir, "no manifest.json", "--out");
  });

  it("a directory that does not exist", () => {
    expectOneLineError(valuelens(["report", path.join(work, "nowhere")]), "nowhere", "not a run directory");
  });

  it("a damaged manifest.json is a one-line error for report and run, and is left as it was", () => {
    const dir = path.join(work, "damaged");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "manifest.json");
    writeFileSync(file, "{not json");
    expectOneLineError(valuelens(["report", dir]), file, "not valid JSON", "restore it");
    expectOneLineError(
      valuelens(["run", "--model", "tiny", ...SMALL, "--out", dir]),
      file,
      "not valid JSON",
      "restore it",
    );
    writeFileSync(file, JSON.stringify({ tool: 1 }));
    expectOneLineError(valuelens(["report", dir]), file, "field tool", "restore it");
    expect(readFileSync(file, "utf8")).toBe(JSON.stringify({ tool: 1 }));
  });
});
