// Progress output: plain lines lead with the whole run (all tasks), then each task; quiet prints nothing.
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createProgress, LineProgress } from "../src/runner/progress.js";

function sink() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (c) => (text += String(c)));
  return { stream: stream as unknown as NodeJS.WriteStream, lines: () => text.split("\n").filter(Boolean) };
}

describe("LineProgress", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("each periodic line leads with the whole run: done/total, percent, rate, ETA; then each task", () => {
    vi.useFakeTimers({ now: 0 });
    const s = sink();
    const p = new LineProgress(s.stream, 10_000);
    // A resumed run: 10 stated and 0 action questions were already recorded.
    p.start({ stated: 40, action: 60 }, { stated: 10 });
    vi.setSystemTime(5_000);
    p.tick({ task: "stated", cacheHit: true, evaluatedTokens: 0 });
    expect(s.lines()).toEqual([]); // not yet 10 s since start
    vi.setSystemTime(9_000);
    for (let i = 0; i < 8; i++) p.tick({ task: "action", cacheHit: false, evaluatedTokens: 20 });
    expect(s.lines()).toEqual([]);
    vi.setSystemTime(10_000);
    p.tick({ task: "action", cacheHit: false, evaluatedTokens: 20 });
    // 10 answered in 10 s (1.0 q/s); 100 - 20 = 80 left: 1m20s.
    expect(s.lines()).toEqual([
      "progress: 20/100 (20.0%), 1.0 q/s, ETA 1m20s | " +
        "stated 11/40 (0.1 q/s, 0 tok/s, cache 1, ETA 4m50s); action 9/60 (0.9 q/s, 18 tok/s, cache 0, ETA 0m57s)",
    ]);
    vi.setSystemTime(15_000);
    p.tick({ task: "action", cacheHit: false, evaluatedTokens: 20 });
    expect(s.lines()).toHaveLength(1); // the next line 10 s after this one
  });

  it("names failed questions in the whole-run part once there are any; stop prints the last line", () => {
    vi.useFakeTimers({ now: 0 });
    const s = sink();
    const p = new LineProgress(s.stream, 60_000);
    p.start({ stated: 2, action: 1 }, {});
    vi.setSystemTime(3_000);
    p.tick({ task: "stated", cacheHit: false, evaluatedTokens: 3 });
    p.tick({ task: "stated", cacheHit: false, evaluatedTokens: 0, failed: true });
    p.tick({ task: "action", cacheHit: false, evaluatedTokens: 3 });
    p.tick({ task: "unknown", cacheHit: false, evaluatedTokens: 3 }); // ignored
    expect(s.lines()).toEqual([]);
    p.stop();
    expect(s.lines()).toEqual([
      "progress: 3/3 (100.0%), 1.0 q/s, ETA 0m00s, failed 1 | " +
        "stated 2/2 (0.7 q/s, 1 tok/s, cache 0, failed 1, ETA 0m00s); action 1/1 (0.3 q/s, 1 tok/s, cache 0, ETA 0m00s)",
    ]);
  });

  it("rounds the percent down (100% only when all is done); no rate yet is ETA --", () => {
    vi.useFakeTimers({ now: 0 });
    const s = sink();
    const p = new LineProgress(s.stream, 0);
    p.start({ action: 3000 }, { action: 2999 });
    p.stop();
    expect(s.lines()).toEqual([
      "progress: 2999/3000 (99.9%), 0.0 q/s, ETA -- | action 2999/3000 (0.0 q/s, 0 tok/s, cache 0, ETA --)",
    ]);
  });

  it("createProgress('lines') prints the same line; quiet prints nothing", () => {
    const lines = sink();
    const p = createProgress("lines", lines.stream);
    p.start({ stated: 1 }, {});
    p.tick({ task: "stated", cacheHit: false, evaluatedTokens: 1 });
    p.stop();
    expect(lines.lines()).toHaveLength(1);
    expect(lines.lines()[0]).toMatch(/^progress: 1\/1 \(100\.0%\), [\d.]+ q\/s, ETA 0m00s \| stated 1\/1 \(/);
    const quiet = sink();
    const q = createProgress("quiet", quiet.stream);
    q.start({ stated: 1 }, {});
    q.tick({ task: "stated", cacheHit: false, evaluatedTokens: 1 });
    q.warn("WARNING: x");
    q.stop();
    expect(quiet.lines()).toEqual([]);
  });
});
