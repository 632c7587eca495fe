/**
 * Progress for long runs: cli-progress bars per task on a TTY (done/total, questions/s,
 * tokens/s, cache hits, failed questions once there are any, ETA), periodic plain lines
 * otherwise (CI, logs), nothing when quiet. A failed question counts as done (it is recorded).
 * Warnings about the answers (`warn`, e.g. a low letter mass) go through the same output: above
 * the bars, or as their own line; quiet prints none (report.md carries them).
 */
import cliProgress from "cli-progress";

export interface ProgressTick {
  task: string;
  cacheHit: boolean;
  evaluatedTokens: number;
  /** The question failed (recorded as failed, no answer). */
  failed?: boolean;
}

export interface Progress {
  start(totals: Record<string, number>, alreadyDone: Record<string, number>): void;
  tick(t: ProgressTick): void;
  /** A warning line, shown at once (above the bars on a TTY). */
  warn(message: string): void;
  stop(): void;
}

export type ProgressMode = "auto" | "bars" | "lines" | "quiet";

export function createProgress(mode: ProgressMode = "auto", stream: NodeJS.WriteStream = process.stderr): Progress {
  const resolved = mode === "auto" ? (stream.isTTY && !process.env.CI ? "bars" : "lines") : mode;
  if (resolved === "quiet") return { start() {}, tick() {}, warn() {}, stop() {} };
  return resolved === "bars" ? new BarProgress(stream) : new LineProgress(stream);
}

class Counter {
  done = 0;
  hits = 0;
  failed = 0;
  tokens = 0;
  constructor(
    readonly total: number,
    readonly startDone: number,
    readonly startedAt = Date.now(),
  ) {
    this.done = startDone;
  }
  add(t: ProgressTick) {
    this.done += 1;
    if (t.cacheHit) this.hits += 1;
    if (t.failed) this.failed += 1;
    this.tokens += t.evaluatedTokens;
  }
  rates() {
    const seconds = Math.max(1e-3, (Date.now() - this.startedAt) / 1000);
    const answered = this.done - this.startDone;
    const qps = answered / seconds;
    const remaining = this.total - this.done;
    return { qps, tps: this.tokens / seconds, eta: qps > 0 ? remaining / qps : Infinity };
  }
}

/** "<sep>failed N" once a question of this session has failed, else nothing. */
function failedText(failed: number, sep: string): string {
  return failed > 0 ? `${sep}failed ${failed}` : "";
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

class BarProgress implements Progress {
  private bars = new Map<string, { bar: cliProgress.SingleBar; counter: Counter }>();
  private multi: cliProgress.MultiBar;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.multi = new cliProgress.MultiBar(
      {
        stream,
        clearOnComplete: false,
        hideCursor: true,
        format: "{task} [{bar}] {value}/{total} | {qps} q/s | {tps} tok/s | cache {hits}{failed} | ETA {eta_h}",
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(totals: Record<string, number>, alreadyDone: Record<string, number>) {
    for (const [task, total] of Object.entries(totals)) {
      const counter = new Counter(total, alreadyDone[task] ?? 0);
      const bar = this.multi.create(total, counter.done, { task: task.padEnd(6), qps: "0.0", tps: "0", hits: 0, failed: "", eta_h: "--" });
      this.bars.set(task, { bar, counter });
    }
  }

  tick(t: ProgressTick) {
    const entry = this.bars.get(t.task);
    if (!entry) return;
    entry.counter.add(t);
    const r = entry.counter.rates();
    entry.bar.update(entry.counter.done, { qps: r.qps.toFixed(1), tps: r.tps.toFixed(0), hits: entry.counter.hits, failed: failedText(entry.counter.failed, " | "), eta_h: formatEta(r.eta) });
  }

  warn(message: string) {
    if (!this.multi.isActive) {
      this.stream.write(message + "\n");
      return;
    }
    // Logged above the bars; redrawn now, so that a stop() right after cannot drop it.
    this.multi.log(message + "\n");
    this.multi.update();
  }

  stop() {
    this.multi.stop();
  }
}

class LineProgress implements Progress {
  private counters = new Map<string, Counter>();
  private lastPrint = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly everyMs = 30_000,
  ) {}

  start(totals: Record<string, number>, alreadyDone: Record<string, number>) {
    for (const [task, total] of Object.entries(totals)) this.counters.set(task, new Counter(total, alreadyDone[task] ?? 0));
    this.lastPrint = Date.now();
  }

  tick(t: ProgressTick) {
    this.counters.get(t.task)?.add(t);
    if (Date.now() - this.lastPrint >= this.everyMs) this.print();
  }

  warn(message: string) {
    this.stream.write(message + "\n");
  }

  private print() {
    this.lastPrint = Date.now();
    const parts = [...this.counters].map(([task, c]) => {
      const r = c.rates();
      return `${task} ${c.done}/${c.total} (${r.qps.toFixed(1)} q/s, ${r.tps.toFixed(0)} tok/s, cache ${c.hits}${failedText(c.failed, ", ")}, ETA ${formatEta(r.eta)})`;
    });
    this.stream.write(`progress: ${parts.join("; ")}\n`);
  }

  stop() {
    if (this.counters.size > 0) this.print();
  }
}
