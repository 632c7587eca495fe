/**
 * Several endpoints serving one model, each with its own number of slots (concurrent
 * requests). A request takes a slot on whichever acceptable endpoint has one free (the one
 * with the most free slots, so load spreads evenly); otherwise it waits.
 *
 * Routing around failures: an endpoint that just failed a request cools down for a while
 * (doubling with each consecutive failure, up to 30 s) and gets no requests meanwhile unless
 * every endpoint is cooling down; and a retry never goes back to an endpoint that already
 * failed that request while another endpoint is healthy. So one dead host among several does
 * not exhaust a request's retries.
 */
export interface Slot {
  endpoint: string;
  index: number;
}

interface EndpointState {
  url: string;
  index: number;
  free: number;
  failures: number;
  coolUntil: number;
}

interface Waiter {
  avoid: ReadonlySet<string>;
  resolve: (slot: Slot) => void;
}

const COOLDOWN_BASE_MS = 250;
const COOLDOWN_MAX_MS = 30_000;

export class EndpointPool {
  private readonly states: EndpointState[];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    endpoints: readonly string[],
    concurrency: number,
    private readonly now: () => number = Date.now,
  ) {
    if (endpoints.length === 0) throw new Error("EndpointPool: no endpoints");
    this.states = endpoints.map((url, index) => ({
      url,
      index,
      free: Math.max(1, concurrency),
      failures: 0,
      coolUntil: 0,
    }));
    this.capacity = this.states.length * Math.max(1, concurrency);
  }

  /** Total slots (the backend's lane count). */
  readonly capacity: number;

  get endpoints(): string[] {
    return this.states.map((s) => s.url);
  }

  /** A slot on an endpoint outside `avoid` (the endpoints that already failed this request). */
  acquire(avoid: ReadonlySet<string> = new Set()): Promise<Slot> {
    const state = this.pick(avoid);
    if (state) return Promise.resolve(this.take(state));
    return new Promise((resolve) => {
      this.waiters.push({ avoid, resolve });
      this.wakeWhenCooled();
    });
  }

  release(slot: Slot): void {
    this.states[slot.index]!.free += 1;
    this.serveWaiters();
  }

  /** A request on this endpoint failed in a way that may be the endpoint's fault. */
  markFailure(endpoint: string): void {
    const s = this.states.find((x) => x.url === endpoint);
    if (!s) return;
    s.failures += 1;
    s.coolUntil = this.now() + Math.min(COOLDOWN_MAX_MS, COOLDOWN_BASE_MS * 2 ** (s.failures - 1));
  }

  markSuccess(endpoint: string): void {
    const s = this.states.find((x) => x.url === endpoint);
    if (s) {
      s.failures = 0;
      s.coolUntil = 0;
    }
  }

  private take(state: EndpointState): Slot {
    state.free -= 1;
    return { endpoint: state.url, index: state.index };
  }

  /**
   * The endpoints a request may use, best first: not avoided and not cooling down; else (all
   * of those cooling) not avoided; else (every endpoint failed it) any endpoint.
   */
  private candidates(avoid: ReadonlySet<string>): EndpointState[] {
    const now = this.now();
    const fresh = this.states.filter((s) => !avoid.has(s.url));
    const healthy = fresh.filter((s) => s.coolUntil <= now);
    if (healthy.length > 0) return healthy;
    if (fresh.length > 0) return fresh.some((s) => s.coolUntil <= now) ? fresh : this.coolestFirst(fresh);
    return this.coolestFirst(this.states);
  }

  /** When everything is cooling down, only the endpoint that recovers first is eligible now. */
  private coolestFirst(list: EndpointState[]): EndpointState[] {
    const now = this.now();
    const soonest = Math.min(...list.map((s) => s.coolUntil));
    return soonest <= now ? list : list.filter((s) => s.coolUntil === soonest);
  }

  private pick(avoid: ReadonlySet<string>): EndpointState | undefined {
    let best: EndpointState | undefined;
    for (const s of this.candidates(avoid)) if (s.free > 0 && (!best || s.free > best.free)) best = s;
    return best;
  }

  private serveWaiters(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      const state = this.pick(w.avoid);
      if (!state) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      w.resolve(this.take(state));
    }
    this.wakeWhenCooled();
  }

  /** Waiters blocked only by cooldowns are served again when the next cooldown ends. */
  private wakeWhenCooled(): void {
    if (this.waiters.length === 0 || this.timer) return;
    const now = this.now();
    const next = Math.min(...this.states.map((s) => (s.coolUntil > now ? s.coolUntil : Infinity)));
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.serveWaiters();
      },
      next - now + 1,
    );
    this.timer.unref?.();
  }
}
