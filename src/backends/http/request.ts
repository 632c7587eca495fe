/**
 * One HTTP request with a timeout that covers the whole reply (headers and body), turned into
 * our error classes. Non-2xx replies throw `HttpStatusError` (with Retry-After); connection
 * failures throw `ConnectionError`; a reply that stalls throws `RequestTimeoutError`.
 *
 * `timedFetch` has fetch's signature so that the `ollama` client can use it as its `fetch`.
 */
import { ConnectionError, HttpStatusError, networkDetail as networkDetailOf, RequestTimeoutError } from "./errors.js";

export type Fetch = typeof fetch;

/** Retry-After as ms: seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** A fetch whose reply is read completely within `timeoutMs`, and whose failures are classified. */
export function makeTimedFetch(timeoutMs: number, base: Fetch = fetch): Fetch {
  const timed = async (input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const outer = init?.signal;
    const onOuterAbort = () => controller.abort();
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    try {
      let response: Response;
      let text: string;
      try {
        response = await base(input, { ...init, signal: controller.signal });
        text = await response.text();
      } catch (err) {
        if (timedOut) throw new RequestTimeoutError(url, timeoutMs);
        if (outer?.aborted) throw err;
        throw new ConnectionError(url, networkDetailOf(err));
      }
      if (!response.ok)
        throw new HttpStatusError(url, response.status, text, parseRetryAfter(response.headers.get("retry-after")));
      return new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuterAbort);
    }
  };
  return timed as Fetch;
}
