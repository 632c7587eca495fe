/**
 * The request layer every server backend uses: endpoint slots (pool.ts), a per-request
 * timeout (request.ts), retries with backoff (retry.ts) on whichever endpoint is free next
 * (avoiding the one that just failed), and zod validation of every reply.
 *
 * Faults never become data: a request either returns a validated reply or throws. When the
 * retries run out it throws `BackendUnavailableError` naming the endpoint and the last error;
 * a 4xx other than 429 throws `RequestRejectedError` at once.
 */
import type { z } from "zod";
import { BackendUnavailableError } from "../backend.js";
import { classify, HttpStatusError, ReplyShapeError, RequestRejectedError, type Classified } from "./errors.js";
import { EndpointPool } from "./pool.js";
import { makeTimedFetch, type Fetch } from "./request.js";
import { backoffMs, retryPolicy, type RetryPolicy } from "./retry.js";

export interface ServerClientOptions {
  endpoints: string[];
  /** Concurrent requests per endpoint. */
  concurrency: number;
  /** Per-request timeout (whole reply), ms. */
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  headers?: Record<string, string>;
  /** The underlying fetch (tests, benches). */
  fetch?: Fetch;
}

/** The connection settings every server backend's entry has (models.yaml). */
export interface ServerConnectionOptions {
  endpoints: string[];
  /** Concurrent requests per endpoint. */
  concurrency: number;
  timeoutMs: number;
  retries: number;
  retryBackoffMs?: number;
  /** Tests and benches: the underlying fetch and the retry clock. */
  fetch?: Fetch;
  retry?: Partial<RetryPolicy>;
}

/** A client for a server backend's endpoints, from its entry's connection settings. */
export function serverClient(opts: ServerConnectionOptions, headers?: Record<string, string>): ServerClient {
  return new ServerClient({
    endpoints: opts.endpoints,
    concurrency: opts.concurrency,
    timeoutMs: opts.timeoutMs,
    fetch: opts.fetch,
    headers,
    retry: {
      retries: opts.retries,
      ...(opts.retryBackoffMs !== undefined ? { baseMs: opts.retryBackoffMs } : {}),
      ...opts.retry,
    },
  });
}

export interface ClientStats {
  requests: number;
  retries: number;
  byEndpoint: Record<string, number>;
}

export class ServerClient {
  readonly pool: EndpointPool;
  readonly fetch: Fetch;
  readonly policy: RetryPolicy;
  readonly stats: ClientStats = { requests: 0, retries: 0, byEndpoint: {} };

  constructor(readonly opts: ServerClientOptions) {
    this.pool = new EndpointPool(opts.endpoints.map(trimSlash), opts.concurrency);
    this.fetch = makeTimedFetch(opts.timeoutMs, opts.fetch);
    this.policy = retryPolicy(opts.retry);
  }

  get endpoints(): string[] {
    return this.pool.endpoints;
  }

  /** Total slots over the endpoints. */
  get capacity(): number {
    return this.pool.capacity;
  }

  /**
   * Run one request (`fn` gets the endpoint and the timed fetch) on a free slot, retrying
   * retryable failures, preferably on another endpoint.
   */
  async run<T>(fn: (endpoint: string, fetch: Fetch) => Promise<T>): Promise<T> {
    const failed = new Set<string>();
    let lastEndpoint: string | undefined;
    let last: Classified | undefined;
    for (let attempt = 0; ; attempt++) {
      const slot = await this.pool.acquire(failed);
      this.stats.requests += 1;
      this.stats.byEndpoint[slot.endpoint] = (this.stats.byEndpoint[slot.endpoint] ?? 0) + 1;
      try {
        const result = await fn(slot.endpoint, this.fetch);
        this.pool.markSuccess(slot.endpoint);
        return result;
      } catch (err) {
        const c = classify(err);
        if (!c.retryable) {
          if (err instanceof HttpStatusError) throw new RequestRejectedError(err.url, err.status, err.body);
          throw err;
        }
        last = c;
        lastEndpoint = slot.endpoint;
        failed.add(slot.endpoint);
        this.pool.markFailure(slot.endpoint);
      } finally {
        this.pool.release(slot);
      }
      if (attempt >= this.policy.retries) {
        throw new BackendUnavailableError(
          `${lastEndpoint}: no valid answer after ${attempt + 1} tries; last error: ${last.message}`,
          lastEndpoint,
        );
      }
      this.stats.retries += 1;
      await this.policy.sleep(backoffMs(this.policy, attempt, last.retryAfterMs));
    }
  }

  /** POST JSON to `endpoint + path` and validate the reply. */
  postJson<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.output<S>> {
    return this.run(async (endpoint, f) => {
      const url = endpoint + path;
      const res = await f(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.opts.headers },
        body: JSON.stringify(body),
      });
      return parseReply(url, await res.text(), schema);
    });
  }

  /** GET `endpoint + path` (on every endpoint when `endpoint` is given) and validate the reply. */
  getJson<S extends z.ZodType>(path: string, schema: S, endpoint?: string): Promise<z.output<S>> {
    const get = async (ep: string, f: Fetch) => {
      const url = ep + path;
      const res = await f(url, { method: "GET", headers: { ...this.opts.headers } });
      return parseReply(url, await res.text(), schema);
    };
    if (endpoint === undefined) return this.run(get);
    // A specific endpoint (startup checks): same retries, no slot juggling.
    return this.retryOn(endpoint, () => get(endpoint, this.fetch));
  }

  /** Retries of a request bound to one endpoint (startup checks of each endpoint). */
  async retryOn<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const c = classify(err);
        if (!c.retryable) {
          if (err instanceof HttpStatusError) throw new RequestRejectedError(err.url, err.status, err.body);
          throw err;
        }
        if (attempt >= this.policy.retries) {
          throw new BackendUnavailableError(
            `${endpoint}: no valid answer after ${attempt + 1} tries; last error: ${c.message}`,
            endpoint,
          );
        }
        this.stats.retries += 1;
        await this.policy.sleep(backoffMs(this.policy, attempt, c.retryAfterMs));
      }
    }
  }
}

/** JSON.parse + zod; either failure is a `ReplyShapeError` naming the URL (and the field). */
export function parseReply<S extends z.ZodType>(url: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ReplyShapeError(url, `malformed JSON (${(err as Error).message}; ${text.length} bytes)`);
  }
  return validate(url, json, schema);
}

export function validate<S extends z.ZodType>(url: string, json: unknown, schema: S): z.output<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw ReplyShapeError.fromZod(url, parsed.error);
  return parsed.data;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
