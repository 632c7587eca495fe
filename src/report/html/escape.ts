/** Escaping for HTML text and attributes. */

/** Text or an attribute value, escaped for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
