/**
 * Python's `repr` of a `str` and of a `list` of `str`, character for character: the paper's
 * code writes the feature attributions into the few-shot conversation as `f"{attributions}"`,
 * which is `repr(list)`, so the conversation depends on these rules.
 *
 * The rules (CPython's `unicode_repr`):
 * - the quote is `'`, unless the string contains `'` and no `"`, then `"`;
 * - `\` is written `\\`, the chosen quote `\'` (only when the quote is `'`), tab `\t`,
 *   newline `\n`, carriage return `\r`;
 * - other characters that are not printable are escaped: below U+0100 as `\xhh`, below U+10000
 *   as `\uhhhh`, above as `\Uhhhhhhhh` (lower-case hex). Python calls a character printable
 *   unless its general category is Other (Cc, Cf, Cs, Co, Cn) or Separator (Zl, Zp, Zs), the
 *   space U+0020 excepted. The categories come from the Unicode tables of Node's ICU, which may
 *   differ from Python's for characters assigned in between the two Unicode versions.
 *
 * Lone surrogates (a JavaScript string may hold them) are escaped `\udxxx`, as Python does.
 */

const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, "0");
}

/** Python's `repr(s)` for a `str`. */
export function pythonStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (NON_PRINTABLE.test(ch)) {
      out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's `repr(list)` for a list of `str`: `['a', "b's"]`, `[]` when empty. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStrRepr).join(", ")}]`;
}
