/**
 * The text inside the first fenced code block (to the end if the fence is never closed),
 * else the whole text. Model answers and the VIA generations wrap JSON in ```json fences.
 */
export function stripFence(raw: string): string {
  const open = /```[A-Za-z]*[^\S\n]*\n?/.exec(raw);
  if (!open) return raw;
  const rest = raw.slice(open.index + open[0].length);
  const close = rest.indexOf("```");
  return close < 0 ? rest : rest.slice(0, close);
}
