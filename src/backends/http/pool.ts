/**
 * Several endpoints serving one model, each with its own number of slots (concurrent
 * requests). A request takes a slot on whichever endpoint has one free (the one with the most
 * free slots, so load spreads evenly); when every slot is taken it waits for the first to free
 * up. A retry may ask to avoid the endpoint that just failed it: it gets another endpoint when
 * one has a free slot.
 */
export interface Slot {
  endpoint: string;
  index: number;
}

interface EndpointState {
  url: string;
  index: number;
  free: number;
}

interface Waiter {
  avoid?: string;
  resolve: (slot: Slot) => void;
}

export class EndpointPool {
  private readonly states: EndpointState[];
  private readonly waiters: Waiter[] = [];

  constructor(endpoints: readonly string[], concurrency: number) {
    if (endpoints.length === 0) throw new Error("EndpointPool: no endpoints");
    this.states = endpoints.map((url, index) => ({ url, index, free: Math.max(1, concurrency) }));
    this.capacity = this.states.length * Math.max(1, concurrency);
  }

  /** Total slots (the backend's lane count). */
  readonly capacity: number;

  get endpoints(): string[] {
    return this.states.map((s) => s.url);
  }

  acquire(avoid?: string): Promise<Slot> {
    const state = this.pick(avoid);
    if (state) return Promise.resolve(this.take(state));
    return new Promise((resolve) => this.waiters.push({ avoid, resolve }));
  }

  release(slot: Slot): void {
    const state = this.states[slot.index]!;
    state.free += 1;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.take(this.pick(waiter.avoid)!));
  }

  private take(state: EndpointState): Slot {
    state.free -= 1;
    return { endpoint: state.url, index: state.index };
  }

  private pick(avoid?: string): EndpointState | undefined {
    let best: EndpointState | undefined;
    let bestAvoided: EndpointState | undefined;
    for (const s of this.states) {
      if (s.free <= 0) continue;
      if (s.url === avoid) {
        if (!bestAvoided || s.free > bestAvoided.free) bestAvoided = s;
      } else if (!best || s.free > best.free) best = s;
    }
    return best ?? bestAvoided;
  }
}
