/**
 * Arguments as a POSIX shell reads them back: plain words as they are, anything else in single
 * quotes (a quote inside written as '\''), so a printed command can be pasted as it is.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
