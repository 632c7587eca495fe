/**
 * A data file's bytes as text, or one line naming the line where they are not: bytes that are
 * not UTF-8 (they would silently become U+FFFD in a prompt) and NUL bytes (which would go into
 * a prompt as they are).
 */
import { UserError } from "./errors.js";

const fatal = new TextDecoder("utf-8", { fatal: true });

/** The line (1-based) and column (1-based, in bytes) of byte `offset`. */
function where(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++)
    if (bytes[i] === 10) {
      line++;
      start = i + 1;
    }
  return { line, column: offset - start + 1 };
}

/** Throws a UserError naming `file`'s line when `bytes` hold a NUL byte or are not UTF-8. */
export function checkText(file: string, bytes: Uint8Array): void {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const at = where(bytes, nul);
    throw new UserError(
      `${file}: line ${at.line}, byte ${at.column} is a NUL byte, which is not text; remove it (the file may be binary or UTF-16: save it as UTF-8)`,
    );
  }
  try {
    fatal.decode(bytes);
  } catch {
    const lo = firstInvalidUtf8(bytes);
    const at = where(bytes, lo);
    throw new UserError(
      `${file}: line ${at.line}, byte ${at.column} (0x${(bytes[lo] ?? 0).toString(16).padStart(2, "0")}) is not UTF-8 text; save the file as UTF-8`,
    );
  }
}

/** The offset of the first byte that starts no valid UTF-8 sequence (0 if none is found). */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    // The second byte's range where the lead byte narrows it (overlong forms, surrogates, > U+10FFFF).
    const [low, high] =
      c === 0xe0
        ? [0xa0, 0xbf]
        : c === 0xed
          ? [0x80, 0x9f]
          : c === 0xf0
            ? [0x90, 0xbf]
            : c === 0xf4
              ? [0x80, 0x8f]
              : [0x80, 0xbf];
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (k === 1 ? x < low || x > high : (x & 0xc0) !== 0x80)) return i;
    }
    i += n + 1;
  }
  return 0;
}
