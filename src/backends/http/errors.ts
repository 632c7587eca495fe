/**
 * What can go wrong talking to a model server, and which of it is worth another try.
 *
 * Retryable (the server or the network is at fault): connection refused/reset, timeouts,
 * HTTP 429 and 5xx, malformed or truncated JSON, replies of an unexpected shape.
 * Not retryable: any other 4xx (our request is wrong) -> `RequestRejectedError`, a UserError
 * whose one line names the URL, the status and the server's message.
 */
import type { z } from "zod";
import { UserError } from "../../util/errors.js";

/** A non-2xx reply. */
export class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
    /** Retry-After in ms, when the server sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(`${url}: HTTP ${status}${body ? ` (${snippet(body)})` : ""}`);
    this.name = "HttpStatusError";
  }
}

/** The server took longer than the per-request timeout. */
export class RequestTimeoutError extends Error {
  constructor(readonly url: string, readonly timeoutMs: number) {
    super(`${url}: no complete reply within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
  }
}

/** The connection failed (refused, reset, closed mid-reply). */
export class ConnectionError extends Error {
  constructor(readonly url: string, readonly detail: string) {
    super(`${url}: ${detail}`);
    this.name = "ConnectionError";
  }
}

/** The body is not JSON, or JSON of an unexpected shape. Never turned into numbers. */
export class ReplyShapeError extends Error {
  constructor(readonly url: string, readonly detail: string) {
    super(`reply from ${url}: ${detail}`);
    this.name = "ReplyShapeError";
  }

  static fromZod(url: string, error: z.ZodError): ReplyShapeError {
    const issue = error.issues[0];
    if (!issue) return new ReplyShapeError(url, "invalid reply");
    const where = issue.path.length ? issue.path.map(String).join(".") : "(body)";
    const message = issue.message.replace(/^Invalid input: /, "");
    return new ReplyShapeError(url, `${where}: ${message}`);
  }
}

/** A 4xx other than 429: our request is wrong; retrying would not help. */
export class RequestRejectedError extends UserError {
  constructor(readonly url: string, readonly status: number, body: string) {
    super(`${url} rejected the request: HTTP ${status}${body ? ` (${snippet(body)})` : ""}; check the model name and the models.yaml entry`);
    this.name = "RequestRejectedError";
  }
}

export interface Classified {
  retryable: boolean;
  /** One line describing the failure. */
  message: string;
  /** Wait at least this long before the next try (Retry-After). */
  retryAfterMs?: number;
}

/** Decide whether an error from one request is worth retrying. Unknown errors are bugs: not retried. */
export function classify(err: unknown): Classified {
  if (err instanceof HttpStatusError) {
    // A server that cannot parse the model's output into its chat format (llama-server's
    // reasoning / tool-call parsers) fails the same way on every try: not worth retrying.
    const retryable = (err.status === 429 || err.status >= 500) && !isOutputParseFailure(err.body);
    return { retryable, message: err.message, retryAfterMs: err.retryAfterMs };
  }
  if (err instanceof RequestTimeoutError || err instanceof ConnectionError || err instanceof ReplyShapeError) {
    return { retryable: true, message: err.message };
  }
  if (err instanceof SyntaxError) return { retryable: true, message: `malformed JSON reply (${err.message})` };
  return { retryable: false, message: err instanceof Error ? err.message : String(err) };
}

/** llama-server's HTTP 500 when the model's answer does not fit the chat format it expects. */
export function isOutputParseFailure(body: string): boolean {
  return /does not match the expected [\w-]+ format/i.test(body);
}

export function snippet(text: string, max = 160): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** Describe a low-level fetch failure (undici puts the system error in `cause`). */
export function networkDetail(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: string } | undefined)?.code;
  const what: Record<string, string> = {
    ECONNREFUSED: "connection refused (is the server running?)",
    ECONNRESET: "connection reset by the server",
    EPIPE: "connection closed by the server",
    UND_ERR_SOCKET: "connection closed mid-reply",
    ETIMEDOUT: "connection timed out",
    EHOSTUNREACH: "host unreachable",
    ENOTFOUND: "host not found",
  };
  if (code && what[code]) return what[code]!;
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err));
  return code ? `${code}: ${message}` : message;
}
