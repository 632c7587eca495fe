import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote } from "../src/util/shell.js";

describe("shellQuote", () => {
  it("gives arguments that a shell reads back exactly", () => {
    const args = [
      "runs/gemma q8",
      "it's",
      "$HOME",
      "`date`",
      'say "hi"',
      "a\\b",
      "",
      "plain-word_1.0",
      "x;rm -rf y",
      "tab\there",
      "new\nline",
    ];
    const line = args.map(shellQuote).join(" ");
    const echoed = execFileSync("sh", ["-c", `for a in ${line}; do printf '%s\\0' "$a"; done`], { encoding: "utf8" });
    expect(echoed.split("\0").slice(0, -1)).toEqual(args);
    expect(shellQuote("runs/demo")).toBe("runs/demo");
  });
});
