/**
 * What can go wrong talking to a model server, which of it is worth another try, and whether
 * a failure is the server's (stop the run) or one question's (record it as failed, go on).
 *
 * Retryable (the server or the network is at fault): connection refused/reset, timeouts,
 * HTTP 408, 429 and 5xx, malformed or truncated JSON, replies of an unexpected shape. When the
 * retries run out the client throws `BackendUnavailableError`: the server as a whole is down
 * and a run stops (resumable).
 * Not retryable -> `RequestRejectedError`, a UserError whose one line names the URL, the
 * status and the server's message. Of these:
 * - per server (`perQuestion` false; a run stops): 401, 403, 407 (credentials), 404, 405 (no
 *   such model or route): every question would get the same answer;
 * - per question (`perQuestion` true; a run records the question as failed and goes on): any
 *   other 4xx (the server rejects this request: prompt too long, a parameter out of range for
 *   this prompt) and a 5xx the server gives for this answer on every try (llama-server's "does
 *   not match the expected ... format" output-parser failure, `isOutputParseFailure`).
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
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${url}: no complete reply within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
  }
}

/** The connection failed (refused, reset, closed mid-reply). */
export class ConnectionError extends Error {
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
    super(`${url}: ${detail}`);
    this.name = "ConnectionError";
  }
}

/** The body is not JSON, or JSON of an unexpected shape. Never turned into numbers. */
export class ReplyShapeError extends Error {
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
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

/** Statuses that say the server (credentials, model, route) is wrong for every request, not this one. */
export const PER_SERVER_STATUSES: readonly number[] = [401, 403, 404, 405, 407];

/**
 * A non-retryable status (see the module comment): the same request would get the same
 * answer. `perQuestion`: whether it is about this request (a run records the question as failed)
 * rather than the server or its setup (a run stops).
 */
export class RequestRejectedError extends UserError {
  readonly perQuestion: boolean;
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    const perQuestion = isPerQuestionRejection(status, body);
    super(
      `${url} rejected the request: HTTP ${status}${body ? ` (${snippet(body)})` : ""}` +
        (perQuestion
          ? "; the server rejects this request (not retried)"
          : "; check the model name and the models.yaml entry"),
    );
    this.name = "RequestRejectedError";
    this.perQuestion = perQuestion;
  }

  /** One line for a failed question's record: the URL, the status and the server's message. */
  get reason(): string {
    return `${this.url}: HTTP ${this.status}${this.body ? ` (${snippet(this.body)})` : ""}`;
  }
}

/** Whether a non-retryable status is about one request (see the module comment). */
export function isPerQuestionRejection(status: number, body: string): boolean {
  if (status >= 400 && status < 500) return !PER_SERVER_STATUSES.includes(status) && status !== 408 && status !== 429;
  return status >= 500 && isOutputParseFailure(body);
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
    const retryable =
      (err.status === 408 || err.status === 429 || err.status >= 500) && !isOutputParseFailure(err.body);
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
