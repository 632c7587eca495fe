/**
 * Backoff between tries: exponential with full jitter (sleep = random() * min(cap, base * 2^n)),
 * and never shorter than the server's Retry-After. `random` and `sleep` are injectable so tests
 * run without waiting and can check the schedule.
 */
export interface RetryPolicy {
  /** Tries after the first one (default 6). */
  retries: number;
  /** Backoff base in ms (default 500). */
  baseMs: number;
  /** Longest backoff in ms (default 30 s). */
  capMs: number;
  /** Longest Retry-After honoured, in ms (default 120 s). */
  maxRetryAfterMs: number;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRIES = 6;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retries: partial.retries ?? DEFAULT_RETRIES,
    baseMs: partial.baseMs ?? 500,
    capMs: partial.capMs ?? 30_000,
    maxRetryAfterMs: partial.maxRetryAfterMs ?? 120_000,
    random: partial.random ?? Math.random,
    sleep: partial.sleep ?? sleep,
  };
}

/** How long to wait before retry number `attempt` (0 = the first retry). */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const jitter = policy.random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  if (retryAfterMs === undefined) return jitter;
  return Math.max(jitter, Math.min(retryAfterMs, policy.maxRetryAfterMs));
}
