// Letters outside a server's top-K list (bounds on what they could hold and move), and a low
// letter mass shown loudly (the runner's warning, report.md's warning block, --min-letter-mass).
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lettersFromTopLogprobs, unseenLetters, type TokenLogprob } from "../src/backends/http/letters.js";
import { dilemmaMetrics } from "../src/suites/dilemmas/metrics.js";
import { metricsFromRecords } from "../src/suites/via/metrics/fromRecords.js";
import { renderDilemmaReport, dilemmaReportTables } from "../src/suites/dilemmas/report.js";
import { earlyLetterMassWarning, lowLetterMassBlock, unseenLettersSummary } from "../src/report/letterChecks.js";
import { renderRunReport, runReportTables } from "../src/suites/via/report.js";
import { renormalizationShiftBound } from "../src/backends/tokenLetters.js";
import { viaSuite } from "../src/suites/via/index.js";

const letterScore = viaSuite.letterScore;
import { createProgress } from "../src/runner/progress.js";
import { configDigest } from "../src/runner/run.js";
import { configDifferences } from "../src/records/manifest.js";
import { readRecords, RecordSchema, type RunRecord } from "../src/records/records.js";
import { valuelens } from "./helpers/cli.js";
import { testConfig } from "./helpers/config.js";
import { baselineAndMaxUnits, sixpointManifest } from "./helpers/dilemmaRecords.js";
import { fakeTopLogprobs, runSlice, sliceQuestions, startFakeOpenAI, type FakeServer } from "./helpers/fakeServers.js";
import { handcraftedManifest, lettersRun } from "./helpers/handcrafted.js";
import { tinyModelPath } from "./helpers/models.js";

const lp = (token: string, p: number): TokenLogprob => ({ token, logprob: Math.log(p) });
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("letters outside the top-K: the bound", () => {
  it("a full list of K: every missing token is at most the K-th; spellings as the most any letter had, at least 2", () => {
    // K = 5; A has three spellings returned, C and D none; the 5th largest is 0.04.
    const top = [lp("A", 0.3), lp(" A", 0.1), lp("A)", 0.05), lp("B", 0.2), lp("The", 0.04)];
    const s = lettersFromTopLogprobs(top, ["A", "B", "C", "D"], 5);
    expect(s.notFound).toEqual(["C", "D"]);
    const u = s.unseen!;
    expect(u).toMatchObject({ letters: ["C", "D"], topK: 5, returned: 5, spellingsPerLetter: 3 });
    expect(u.tokenBound).toBeCloseTo(0.04, 12);
    // 2 letters x 3 spellings x 0.04 = 0.24, below what the list leaves (1 - 0.69 = 0.31)
    expect(u.massBound).toBeCloseTo(0.24, 12);
    // mass found M = 0.65: figures move by at most 0.24 / 0.89
    expect(s.mass).toBeCloseTo(0.65, 12);
    expect(renormalizationShiftBound(s.mass, u.massBound)).toBeCloseTo(0.24 / 0.89, 12);
  });

  it("never more than the returned tokens leave; the K-th largest even with the chosen token appended", () => {
    // K = 4 plus a chosen token appended below the list (5 entries): the 4th largest (0.2) bounds the rest.
    const top = [lp("A", 0.3), lp("B", 0.25), lp("**", 0.2), lp("The", 0.2), lp("I", 0.01)];
    const u = unseenLetters(top, ["C", "D", "E"], [], 4);
    expect(u.tokenBound).toBeCloseTo(0.2, 12);
    expect(u.spellingsPerLetter).toBe(2);
    // 3 x 2 x 0.2 = 1.2 > 1 - 0.96: capped at 0.04
    expect(u.massBound).toBeCloseTo(0.04, 12);
  });

  it("a list shorter than K that sums to 1 is the whole support: bound 0", () => {
    const s = lettersFromTopLogprobs([lp("A", 0.7), lp(" B", 0.2), lp("**", 0.1)], ["A", "B", "C"], 20);
    expect(s.unseen).toMatchObject({ letters: ["C"], topK: 20, returned: 3, tokenBound: 0, massBound: 0 });
    expect(renormalizationShiftBound(s.mass, s.unseen!.massBound)).toBe(0);
  });

  it("a short list that does not sum to 1 (a server that cut it) bounds the rest by its smallest entry", () => {
    // Only the chosen token came back: everything else is at most its probability.
    const s = lettersFromTopLogprobs([lp("A", 0.4)], ["A", "B"], 20);
    expect(s.unseen!.tokenBound).toBeCloseTo(0.4, 12);
    expect(s.unseen!.massBound).toBeCloseTo(0.6, 12); // 1 x 2 x 0.4 = 0.8, capped at 1 - 0.4
    expect(renormalizationShiftBound(s.mass, s.unseen!.massBound)).toBeCloseTo(0.6 / 1.0, 12);
    // nothing found: anything can move
    expect(renormalizationShiftBound(0, 0.3)).toBe(1);
  });

  it("no unseen field when every letter was returned", () => {
    const s = lettersFromTopLogprobs([lp("A", 0.5), lp(" B", 0.3)], ["A", "B"], 2);
    expect(s.unseen).toBeUndefined();
  });

  it("d / (M + d) bounds every renormalized probability and every score whatever the missing letters hold", () => {
    // Found: A 0.3, B 0.1 (M = 0.4); C, D missing with at most d = 0.2 together.
    const found = { A: 0.3, B: 0.1 };
    const M = 0.4;
    const d = 0.2;
    const bound = renormalizationShiftBound(M, d);
    const q = { protocol: "letters", task: "stated" } as Parameters<typeof letterScore>[0];
    const order = ["strongly disagree", "agree", "strongly agree", "disagree"]; // letters A..D show these
    const scoreOf = (probs: Record<string, number>) =>
      letterScore(q, Object.fromEntries(order.map((k, i) => [k, probs["ABCD"[i]!]!])), 1)!;
    const seen = { A: found.A / M, B: found.B / M, C: 0, D: 0 };
    let largest = 0;
    for (const total of [0, 0.05, 0.1, 0.2]) {
      for (const share of [0, 0.3, 1]) {
        const all = M + total;
        const truth = { A: found.A / all, B: found.B / all, C: (total * share) / all, D: (total * (1 - share)) / all };
        for (const l of ["A", "B", "C", "D"] as const) {
          const move = Math.abs(truth[l] - seen[l]);
          expect(move).toBeLessThanOrEqual(bound + 1e-15);
          largest = Math.max(largest, move);
        }
        expect(Math.abs(scoreOf(truth) - scoreOf(seen))).toBeLessThanOrEqual(bound + 1e-15);
      }
    }
    // the bound is reached: all of d on one missing letter moves it by d / (M + d)
    expect(largest).toBeCloseTo(bound, 12);
  });
});

describe("letters outside the top-K through an OpenAI-compatible server", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-unseen-"));
  const servers: FakeServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("records which letters the server did not return and bounds that hold against the fake's full distribution", async () => {
    const s = await startFakeOpenAI({ sinkLetters: ["B"] });
    servers.push(s);
    const out = path.join(work, "run");
    const records = await runSlice(
      { backend: "openai-compatible", baseUrl: `${s.url}/v1`, model: "fake-model", retries: 0, concurrency: 2 },
      out,
      path.join(work, "cache"),
    );
    const questions = await sliceQuestions();
    expect(records.length).toBe(questions.length);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const q of questions) {
      const r = byId.get(q.id)!;
      const prompt = q.segments.join("");
      const letters = q.letters!;
      const top = fakeTopLogprobs(prompt, 20, ["B"]);
      const full = fakeTopLogprobs(prompt, 30, ["B"]);
      const letterOf = (token: string) => letters.find((l) => token.trim().replace(/[).]$/, "") === l);
      const returned = new Set(top.map((t) => letterOf(t.token)).filter(Boolean));
      const missing = letters.filter((l) => !returned.has(l));
      const u = r.letters!.unseen!;
      expect(u.letters).toEqual(missing);
      expect(u.letters).toContain("B");
      expect(r.letters!.method).toContain("not-found:");
      expect(u.topK).toBe(20);
      expect(u.returned).toBe(20);
      expect(u.tokenBound).toBeCloseTo(Math.exp(top[19]!.logprob), 12);
      // the bound holds: B's spellings (and any other missing letter's) hold no more than massBound
      const raw = (l: string) => sum(full.filter((t) => letterOf(t.token) === l).map((t) => Math.exp(t.logprob)));
      const trulyMissing = sum(missing.map(raw));
      expect(trulyMissing).toBeGreaterThan(0);
      expect(trulyMissing).toBeLessThanOrEqual(u.massBound);
      // ... and so do the moves of the renormalized figures and of the score
      const trueMass = sum(letters.map(raw));
      const trueOptionProbs = Object.fromEntries(letters.map((l, i) => [q.order[i]!, raw(l) / trueMass]));
      for (const [option, p] of Object.entries(trueOptionProbs))
        expect(Math.abs(p - r.optionProbs![option]!)).toBeLessThanOrEqual(u.shiftBound);
      expect(Math.abs(letterScore(q, trueOptionProbs, trueMass)! - r.score!)).toBeLessThanOrEqual(u.shiftBound);
      expect(u.shiftBound).toBeCloseTo(u.massBound / (r.letters!.mass + u.massBound), 12);
    }
    // the run's report says so
    const report = readFileSync(path.join(out, "report.md"), "utf8");
    const shifts = records.map((r) => r.letters!.unseen!.shiftBound);
    expect(report).toContain("## Letters outside the top-20");
    expect(report).toContain(
      `| ${records.length} | ${records.length} | ${Math.max(...shifts).toFixed(3)} | ${(sum(shifts) / shifts.length).toFixed(3)} |`,
    );
  });
});

/** A record with letters missing from a top-20 list: mass M found, at most d unseen. */
function withUnseen<R extends RunRecord>(r: R, mass: number, d: number): R {
  const unseen = {
    letters: ["B"],
    topK: 20,
    returned: 20,
    tokenBound: d / 2,
    spellingsPerLetter: 2,
    massBound: d,
    shiftBound: renormalizationShiftBound(mass, d),
  };
  const out = { ...r, letters: { ...r.letters!, mass, method: "top-logprobs:20;not-found:B", unseen } };
  RecordSchema.parse(out); // the envelope checks the letters; the record keeps its suite's type
  return out;
}

describe("the report: letters outside the top-K", () => {
  const base = lettersRun({
    countries: ["Nigeria"],
    topics: ["Politics"],
    values: ["Equality", "Honest", "Wealth", "Freedom"],
    repeats: 2,
    seed: 1,
  });
  const manifest = handcraftedManifest(base, { protocol: "letters", repeats: 2, seed: 1 });

  it("a paragraph and table with how many answers lacked letters and the largest and mean bounds", () => {
    // mass 1 with d = 0.25 -> 0.2; mass 0.5 with d = 0.5 -> 0.5; and one recorded before bounds existed
    const records = base.map((r, i) =>
      i === 0
        ? withUnseen(r, 1, 0.25)
        : i === 1
          ? withUnseen(r, 0.5, 0.5)
          : i === 2
            ? { ...r, letters: { ...r.letters!, method: "top-logprobs:20;not-found:A" } }
            : r,
    );
    const md = renderRunReport(manifest, metricsFromRecords(records, { bootstrap: { samples: 0, seed: 1 } }), records);
    expect(md).toContain("## Letters outside the top-20");
    expect(md).toContain("could move by at most d / (M + d)");
    // top-K answers: 3 (methods starting top-logprobs:); with letters not returned: 3; max 0.5, mean (0.2 + 0.5) / 2
    expect(md).toContain("| 3 | 3 | 0.500 | 0.350 | 0.5000 | 0.3750 |");
    expect(md).toContain("1 answer(s) lack letters but were recorded before valuelens bounded them");
    expect(md.indexOf("## Letters outside the top-20")).toBeLessThan(md.indexOf("## Run summary"));
    const table = runReportTables(
      manifest,
      metricsFromRecords(records, { bootstrap: { samples: 0, seed: 1 } }),
      records,
    ).find((t) => t.name === "letters-outside-top-k")!;
    expect(table.rows).toEqual([[3, 2, 1, 20, 0.5, expect.closeTo(0.35, 12), 0.5, expect.closeTo(0.375, 12)]]);
  });

  it("is absent when every answer had all its letters", () => {
    const md = renderRunReport(manifest, metricsFromRecords(base, { bootstrap: { samples: 0, seed: 1 } }), base);
    expect(md).not.toContain("Letters outside the top");
    expect(unseenLettersSummary(base)).toBeUndefined();
  });

  it("the dilemma report shows the same section", () => {
    const recs = baselineAndMaxUnits().map((r, i) => (i === 0 ? withUnseen(r, 0.8, 0.2) : r));
    const m = dilemmaMetrics(recs, { bootstrap: { samples: 0, seed: 1 } });
    const md = renderDilemmaReport(sixpointManifest(recs, { repeats: 1, seed: 1 }), m, recs);
    expect(md).toContain("## Letters outside the top-20");
    expect(md).toContain(`| 1 | 1 | ${(0.2 / 1.0).toFixed(3)} | ${(0.2).toFixed(3)} |`);
    expect(dilemmaReportTables(sixpointManifest(recs, { repeats: 1, seed: 1 }), m, recs).map((t) => t.name)).toContain(
      "letters-outside-top-k",
    );
  });
});

/** Records whose letters got `mass`, the model's top token being `top`. */
function lowMass<R extends RunRecord>(
  records: readonly R[],
  mass: (i: number) => number,
  top: (i: number) => string,
): R[] {
  return records.map((r, i) => ({ ...r, letters: { ...r.letters!, mass: mass(i), top: { text: top(i), p: 0.5 } } }));
}

describe("low letter mass: report.md's warning block", () => {
  const base = lettersRun({
    countries: ["Nigeria"],
    topics: ["Politics"],
    values: ["Equality", "Honest"],
    repeats: 2,
    seed: 1,
  });
  const masses = (i: number) => [0.02, 0.04, 0.06, 0.2][i % 4]!;
  const tops = (i: number) => (i % 4 === 3 ? "A" : i % 2 === 0 ? "**" : "The");
  const records = lowMass(base, masses, tops);
  const mean = sum(records.map((r) => r.letters!.mass)) / records.length;

  it("opens report.md before any table: mean and min mass, the most frequent non-letter top tokens", () => {
    const manifest = handcraftedManifest(records, { protocol: "letters", repeats: 2, seed: 1 });
    const md = renderRunReport(manifest, metricsFromRecords(records, { bootstrap: { samples: 0, seed: 1 } }), records);
    const lines = md.split("\n");
    const warning = lines.findIndex((l) => l.includes("WARNING: low letter mass"));
    expect(warning).toBe(2); // right under the title
    expect(warning).toBeLessThan(lines.findIndex((l) => l.startsWith("|")));
    expect(md).toContain(
      `mean letter mass ${mean.toFixed(3)}, min 0.020, over ${records.length} letter answers; below the threshold 0.5`,
    );
    // "**" tops the answers at i % 4 in {0, 2}, "The" at 1, "A" (a letter) is not listed
    const n = records.length / 4;
    expect(md).toContain(`\`"**"\` (${2 * n}), \`"The"\` (${n}).`);
  });

  it("follows the run's --min-letter-mass, and the dilemma report has it too", () => {
    const quiet = { ...handcraftedManifest(records, { protocol: "letters", repeats: 2, seed: 1 }) };
    quiet.config = { ...quiet.config, minLetterMass: 0.05 };
    expect(
      renderRunReport(quiet, metricsFromRecords(records, { bootstrap: { samples: 0, seed: 1 } }), records),
    ).not.toContain("WARNING");
    expect(lowLetterMassBlock(records, mean)).toBeUndefined(); // below, not at
    const six = lowMass(
      baselineAndMaxUnits(),
      () => 0.1,
      () => "**",
    );
    const md = renderDilemmaReport(
      sixpointManifest(six, { repeats: 1, seed: 1 }),
      dilemmaMetrics(six, { bootstrap: { samples: 0, seed: 1 } }),
      six,
    );
    expect(md.split("\n")[2]).toContain("WARNING: low letter mass");
    expect(md).toContain("mean letter mass 0.100, min 0.100");
  });

  it("the runner's warning names the share, the mean, the threshold and what the model starts with", () => {
    const first = records.slice(0, 4);
    const m = sum(first.map((r) => r.letters!.mass)) / 4;
    expect(earlyLetterMassWarning(first, 0.5)).toBe(
      `WARNING: letters get ${Math.round(m * 100)}% of the probability in the first 4 questions (mean letter mass ${m.toFixed(3)} < 0.5); ` +
        `the model mostly starts with "**" (2 of 4) — check the model's prompt format with \`valuelens check --model M\` (its chat template, the exact prompts, what it starts with instead of a letter)`,
    );
    expect(earlyLetterMassWarning(first, 0)).toBeUndefined();
  });
});

describe("progress output carries warnings", () => {
  function sink() {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (c) => (text += String(c)));
    return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
  }
  it("lines and bars (not on a TTY) print a warning as its own line; quiet prints nothing", () => {
    for (const mode of ["lines", "bars"] as const) {
      const s = sink();
      const p = createProgress(mode, s.stream);
      p.start({ action: 2 }, {});
      p.warn("WARNING: x");
      p.stop();
      expect(
        s
          .text()
          .split("\n")
          .filter((l) => l === "WARNING: x"),
      ).toHaveLength(1);
    }
    const s = sink();
    const p = createProgress("quiet", s.stream);
    p.warn("WARNING: x");
    expect(s.text()).toBe("");
  });
});

describe("--min-letter-mass", () => {
  it("is never part of the config digest, nor a config difference", () => {
    const c = testConfig();
    expect(configDigest({ ...c, minLetterMass: 0.9 })).toBe(configDigest(c));
    expect(configDifferences(c, { ...c, minLetterMass: 0.9 })).toEqual([]);
  });

  it("a bad value is a one-line error naming the flag", () => {
    for (const bad of ["1.5", "-0.1", "abc", ""]) {
      const r = valuelens([
        "run",
        "--model",
        "tiny",
        "--min-letter-mass",
        bad,
        "--out",
        path.join(tmpdir(), "vl-never"),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("--min-letter-mass");
    }
  });
});

describe("valuelens run --min-letter-mass on the tiny model (random weights: a low letter mass)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-mass-"));
  const out = path.join(work, "run");
  const cache = path.join(work, "cache");
  const ARGS = [
    "run",
    "--model",
    "tiny",
    "--countries",
    "Nigeria",
    "--limit",
    "6",
    "--repeats",
    "2",
    "--progress",
    "lines",
    "--out",
    out,
    "--cache-dir",
    cache,
  ];
  let warned: ReturnType<typeof valuelens>;
  beforeAll(async () => {
    await tinyModelPath();
    warned = valuelens([...ARGS, "--min-letter-mass", "0.9"]);
  });

  it("warns once in the progress output and opens report.md with the warning", () => {
    expect(warned.code).toBe(0);
    const records = readRecords(path.join(out, "records.jsonl")).records;
    expect(records.length).toBe(24);
    const masses = records.map((r) => r.letters!.mass);
    const lines = warned.stderr.split("\n").filter((l) => l.includes("WARNING"));
    expect(lines).toHaveLength(1);
    const m =
      /^WARNING: letters get [\d.]+% of the probability in the first 20 questions \(mean letter mass (0\.\d{3}) < 0\.9\); the model mostly starts with (".*") \((\d+) of 20\) — /.exec(
        lines[0]!,
      );
    expect(m).not.toBeNull();
    const early = Number(m![1]);
    expect(early).toBeGreaterThanOrEqual(Math.floor(Math.min(...masses) * 1000) / 1000);
    expect(early).toBeLessThanOrEqual(Math.ceil(Math.max(...masses) * 1000) / 1000);
    const token = JSON.parse(m![2]!) as string;
    expect(records.filter((r) => r.letters!.top.text === token).length).toBeGreaterThanOrEqual(Number(m![3]));
    const report = readFileSync(path.join(out, "report.md"), "utf8");
    const reportLines = report.split("\n");
    expect(reportLines[2]).toContain("WARNING: low letter mass");
    expect(report).toContain(
      `mean letter mass ${(sum(masses) / masses.length).toFixed(3)}, min ${Math.min(...masses).toFixed(3)}, over 24 letter answers; below the threshold 0.9`,
    );
  });

  it("with 0 there is no warning; the same run directory takes another threshold (not in the digest)", () => {
    const r = valuelens([...ARGS, "--min-letter-mass", "0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("done: 0 answered"); // a finished run, re-run: nothing asked
    expect(r.stderr).not.toContain("WARNING");
    expect(readFileSync(path.join(out, "report.md"), "utf8")).not.toContain("WARNING");
  });
});
