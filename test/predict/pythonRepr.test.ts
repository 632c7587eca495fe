// Python's repr of str and of a list of str. The expected strings were printed by CPython 3
// (`json.dumps([s, repr(s)])`), so each case is Python's own answer.
import { describe, expect, it } from "vitest";
import { pythonListRepr, pythonStrRepr } from "../../src/suites/predict/pythonRepr.js";

const CASES: [string, string][] = [
  ["plain", "'plain'"],
  ["it's", '"it\'s"'],
  ['say "hi"', "'say \"hi\"'"],
  ["both ' and \"", "'both \\' and \"'"],
  ["back\\slash", "'back\\\\slash'"],
  ["tab\there", "'tab\\there'"],
  ["new\nline", "'new\\nline'"],
  ["cr\r", "'cr\\r'"],
  ["\u0000\u0007\u001b\u007f", "'\\x00\\x07\\x1b\\x7f'"],
  ["\u0085\u00a0\u00ad", "'\\x85\\xa0\\xad'"],
  ["caf\u00e9 \u00fc", "'caf\u00e9 \u00fc'"],
  ["\u2028\u2029\u200b\ufeff", "'\\u2028\\u2029\\u200b\\ufeff'"],
  ["\u4e2d\u6587", "'\u4e2d\u6587'"],
  ["\ud83d\ude00", "'\ud83d\ude00'"],
  ["\udb40\udc01", "'\\U000e0001'"],
  ["\ud800", "'\\ud800'"],
  ["", "''"],
  ["'", '"\'"'],
  ['"', "'\"'"],
  ["\\'", '"\\\\\'"'],
  ["\u3000x\u2003", "'\\u3000x\\u2003'"],
  ["\ue000", "'\\ue000'"],
];

describe("pythonStrRepr", () => {
  it.each(CASES)("repr(%j) is Python's", (input, expected) => {
    expect(pythonStrRepr(input)).toBe(expected);
  });
});

describe("pythonListRepr", () => {
  it("joins the items' reprs with ', ' in brackets", () => {
    expect(pythonListRepr(["a", "b's", 'c"d'])).toBe("['a', \"b's\", 'c\"d']");
  });
  it("writes an empty list as []", () => {
    expect(pythonListRepr([])).toBe("[]");
  });
});
