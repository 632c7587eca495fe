/**
 * Progress for long runs: cli-progress bars per task on a TTY (done/total, questions/s,
 * tokens/s, cache hits, failed questions once there are any, ETA; with several tasks, an "all"
 * bar for the whole run on top), periodic plain lines otherwise (CI, logs) that lead with the
 * whole run (done/total, percent, rate, ETA, failed) before each task's detail, nothing when
 * quiet. A failed question counts as done (it is recorded).
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

/** One counter over every task (the whole run). */
function wholeRun(totals: Record<string, number>, alreadyDone: Record<string, number>): Counter {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return new Counter(sum(Object.values(totals)), sum(Object.keys(totals).map((task) => alreadyDone[task] ?? 0)));
}

/** Share done, rounded down (100% only when all is done), one decimal. */
function percentText(done: number, total: number): string {
  return `${total > 0 ? (Math.floor((1000 * done) / total) / 10).toFixed(1) : "100.0"}%`;
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
  private all: { bar: cliProgress.SingleBar; counter: Counter } | undefined;
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
    const create = (task: string, counter: Counter) => ({
      bar: this.multi.create(counter.total, counter.done, {
        task: task.padEnd(6),
        qps: "0.0",
        tps: "0",
        hits: 0,
        failed: "",
        eta_h: "--",
      }),
      counter,
    });
    const tasks = Object.entries(totals);
    // The whole run on top, when there is more than one task.
    if (tasks.length > 1) this.all = create("all", wholeRun(totals, alreadyDone));
    for (const [task, total] of tasks) this.bars.set(task, create(task, new Counter(total, alreadyDone[task] ?? 0)));
  }

  tick(t: ProgressTick) {
    const entry = this.bars.get(t.task);
    if (!entry) return;
    for (const e of this.all ? [entry, this.all] : [entry]) {
      e.counter.add(t);
      const r = e.counter.rates();
      e.bar.update(e.counter.done, {
        qps: r.qps.toFixed(1),
        tps: r.tps.toFixed(0),
        hits: e.counter.hits,
        failed: failedText(e.counter.failed, " | "),
        eta_h: formatEta(r.eta),
      });
    }
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

/**
 * Plain progress lines, every `everyMs` (on a tick) and at stop: the whole run first, then each
 * task, e.g. `progress: 130/400 (32.5%), 2.1 q/s, ETA 2m08s, failed 1 | stated 100/200 (...); action 30/200 (...)`.
 */
export class LineProgress implements Progress {
  private counters = new Map<string, Counter>();
  private all: Counter | undefined;
  private lastPrint = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly everyMs = 30_000,
  ) {}

  start(totals: Record<string, number>, alreadyDone: Record<string, number>) {
    for (const [task, total] of Object.entries(totals))
      this.counters.set(task, new Counter(total, alreadyDone[task] ?? 0));
    this.all = wholeRun(totals, alreadyDone);
    this.lastPrint = Date.now();
  }

  tick(t: ProgressTick) {
    const counter = this.counters.get(t.task);
    if (!counter) return;
    counter.add(t);
    this.all?.add(t);
    if (Date.now() - this.lastPrint >= this.everyMs) this.print();
  }

  warn(message: string) {
    this.stream.write(message + "\n");
  }

  private print() {
    this.lastPrint = Date.now();
    const all = this.all!;
    const whole = all.rates();
    const head = `${all.done}/${all.total} (${percentText(all.done, all.total)}), ${whole.qps.toFixed(1)} q/s, ETA ${formatEta(whole.eta)}${failedText(all.failed, ", ")}`;
    const parts = [...this.counters].map(([task, c]) => {
      const r = c.rates();
      return `${task} ${c.done}/${c.total} (${r.qps.toFixed(1)} q/s, ${r.tps.toFixed(0)} tok/s, cache ${c.hits}${failedText(c.failed, ", ")}, ETA ${formatEta(r.eta)})`;
    });
    this.stream.write(`progress: ${head} | ${parts.join("; ")}\n`);
  }

  stop() {
    if (this.counters.size > 0) this.print();
  }
}
