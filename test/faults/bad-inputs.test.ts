// Bad numbers and paths on the command line: one line naming the flag or file, a non-zero exit,
// never an out-of-memory crash or a stack trace.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { valuelens } from "../helpers/cli.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-bad-inputs-"));

function oneLineError(args: string[]): string {
  const r = valuelens(args);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/internal error| {4}at /);
  return lines[0]!;
}

describe("bad inputs get one line", () => {
  it("--repeats above the bound, and numbers that overflow", () => {
    expect(oneLineError(["run", "--model", "tiny", "--repeats", "100000", "--out", path.join(work, "a")])).toMatch(
      /--repeats must be at most 1000/,
    );
    expect(oneLineError(["run", "--model", "tiny", "--repeats", "1e400", "--out", path.join(work, "b")])).toMatch(
      /--repeats must be an integer/,
    );
    expect(
      oneLineError(["run", "--model", "tiny", "--limit", "99999999999999999999", "--out", path.join(work, "c")]),
    ).toMatch(/--limit must be an integer/);
    expect(
      oneLineError(["prompts", "--task", "action", "--country", "Nigeria", "--topic", "Politics", "--repeats", "5000"]),
    ).toMatch(/--repeats must be at most 1000/);
  });

  it("a directory given as --model", () => {
    expect(oneLineError(["run", "--model", work, "--out", path.join(work, "d")])).toMatch(
      /is a directory; pass the \.gguf file/,
    );
  });
});
