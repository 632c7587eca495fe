/**
 * `valuelens compare` of VIA runs: several runs side by side (one model at several
 * quantizations, or several models), everything as data; ./compareReport.ts renders it.
 *
 * - Alignment rate per run, per country and overall, with percentile bootstrap intervals:
 *   a country's interval resamples its values (the same resampled values in every topic of
 *   the country), the overall interval resamples scenarios (country x topic).
 * - Per pair of runs (a, b): the difference rate(b) - rate(a), per country and overall, with a
 *   paired bootstrap: each draw resamples the same units (values of the country; scenarios)
 *   for both runs.
 * - Per pair: Cohen's kappa of the binarized matrix cells, per task; the share of questions
 *   whose top answer flips; the mean absolute difference and Jensen-Shannon divergence of the
 *   answer probabilities (letters protocol).
 * - Alignment distance per country per run (intervals resample values).
 *
 * All intervals come from `bootstrap()` (src/metrics/bootstrap.ts). A run's own intervals are
 * those of ./metrics/uncertainty.ts (`intervalsFromShared`, the figures of `valuelens
 * report`); the paired differences use their own labels ("compare/alignment-rate-difference/
 * ..."). Labels name the statistic, never a run's position, so a run's interval does not depend
 * on which runs it is compared with, and the same seed gives the same intervals in any process.
 */
import {
  binarize,
  computeMetrics,
  f1FromCounts,
  sharedCells,
  type Metrics,
  type SharedView,
} from "./metrics/alignment.js";
import { bootstrap, type Interval } from "../../metrics/bootstrap.js";
import { matricesFromRecords, PAPER_ORDERINGS } from "./metrics/fromRecords.js";
import type { ScoreMatrix } from "./metrics/matrices.js";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../../metrics/uncertainty.js";
import { intervalsFromShared, type Intervals } from "./metrics/uncertainty.js";
import type { Task } from "../../questions/question.js";
import { PAPER_COUNTRY_ORDER } from "../../protocol/values.js";
import type { ViaRecord } from "./record.js";
import {
  alignDistributions,
  cohenKappa,
  flipShare,
  jensenShannon,
  KAPPA_CONSTANT_CONVENTION,
  meanAbsDiff,
  meanOrNull,
  topOption,
  type FlipResult,
  type KappaResult,
} from "../../metrics/agreement.js";
import type { CompareInput, RunToCompare } from "../compare.js";

export const TASKS: readonly Task[] = ["stated", "action"];

export interface ComparedRun {
  /** the directory as given */
  dir: string;
  /** the row label in the tables (model name, disambiguated) */
  label: string;
  model: string;
  modelSha256: string | null;
  status: string;
  protocol: string;
  tasks: string[];
  repeats: number;
  seed: number;
  /** records in the run */
  records: number;
  /** records compared (the shared questions) */
  compared: number;
}

export interface RunRates {
  run: number;
  label: string;
  /** country -> alignment rate (F1) with its interval (units: the country's values) */
  byCountry: Record<string, Interval>;
  /** overall alignment rate with its interval (units: scenarios) */
  overall: Interval;
}

export interface DecisionAgreement extends KappaResult {
  task: Task;
}

export interface AnswerAgreement {
  task: Task | "all";
  /** record pairs (same question id) compared */
  records: number;
  /** top answer (letters: most probable option key; paper: the parsed choice / ratings) */
  flips: FlipResult;
  /** mean over records of the mean absolute difference of option probabilities; null without probabilities */
  meanAbsDiff: number | null;
  /** mean over records of the Jensen-Shannon divergence (bits) of option probabilities; null without probabilities */
  jsd: number | null;
  /** record pairs with option probabilities on both sides (the MAD and JSD average over these) */
  probabilityRecords: number;
}

export interface PairComparison {
  /** indices into `runs`; differences are b - a */
  a: number;
  b: number;
  labelA: string;
  labelB: string;
  /** alignment rate of b minus that of a, with paired bootstrap intervals */
  difference: { byCountry: Record<string, Interval>; overall: Interval };
  /** Cohen's kappa of the binarized (0.5) matrix cells present in both runs, per task */
  decisions: DecisionAgreement[];
  /** per task, then "all" */
  answers: AnswerAgreement[];
}

export interface RunDistance {
  run: number;
  label: string;
  /** country -> mean alignment distance over values, with its interval (units: the country's values) */
  byCountry: Record<string, Interval>;
  /** mean over (country, value) entries, with its interval (units: values) */
  overall: Interval;
}

export interface CompareResult {
  schema: "valuelens.compare/1";
  protocol: string;
  runs: ComparedRun[];
  questions: {
    /** question ids compared (held by every run) */
    shared: number;
    /** true when the runs differ and were restricted to the shared questions (--allow-partial) */
    partial: boolean;
    /** what differs between the runs (empty when they asked the same questions) */
    differences: string[];
  };
  /** countries in the tables, the paper's order first */
  countries: string[];
  bootstrap: {
    samples: number;
    seed: number;
    level: number;
    countryUnits: "values";
    overallUnits: "scenarios";
    method: string;
  };
  alignmentRate: RunRates[];
  pairs: PairComparison[];
  alignmentDistance: RunDistance[];
  notes: string[];
}

/** One run restricted to the shared questions, with its matrices and metrics. */
interface PreparedRun {
  loaded: RunToCompare<ViaRecord>;
  label: string;
  records: ViaRecord[];
  byId: Map<string, ViaRecord>;
  stated: ScoreMatrix;
  action: ScoreMatrix;
  metrics: Metrics;
  view: SharedView;
}

const ORDER = {
  countries: [...PAPER_ORDERINGS.countries],
  topics: [...PAPER_ORDERINGS.topics],
  values: [...PAPER_ORDERINGS.values],
};

function prepare(loaded: RunToCompare<ViaRecord>, label: string, shared: ReadonlySet<string>): PreparedRun {
  const records = loaded.records.filter((r) => shared.has(r.id));
  const config = loaded.manifest.config;
  const m = matricesFromRecords(records, {
    actionVariants: config.protocol === "paper" ? config.actionVariants : undefined,
  });
  return {
    loaded,
    label,
    records,
    byId: new Map(records.map((r) => [r.id, r])),
    stated: m.stated,
    action: m.action,
    metrics: computeMetrics(m.stated, m.action, ORDER),
    view: sharedCells(m.stated, m.action, ORDER),
  };
}

// ---------------------------------------------------------------------------------------------
// Alignment rate on resampled units

/** Confusion category of a cell: 0 = TP, 1 = FP, 2 = FN, 3 = TN (class 1 = disagree is positive). */
function category(stated: number, action: number): number {
  const t = binarize(stated);
  const y = binarize(action);
  return t === 1 ? (y === 1 ? 0 : 2) : y === 1 ? 1 : 3;
}

/** Values of a country present in a view, in the view's value order. */
function countryValues(view: SharedView, country: string): string[] {
  const present = new Set<string>();
  for (const s of view.scenarios) if (s.country === country) for (const c of s.cells) present.add(c.value);
  return view.values.filter((v) => present.has(v));
}

/** Per scenario of the country (view order): the category of each unit value, -1 where the scenario lacks it. */
function countryCodes(view: SharedView, country: string, units: readonly string[]): Int8Array[] {
  const index = new Map(units.map((v, i) => [v, i] as const));
  return view.scenarios
    .filter((s) => s.country === country)
    .map((s) => {
      const codes = new Int8Array(units.length).fill(-1);
      for (const c of s.cells) {
        const i = index.get(c.value);
        if (i !== undefined) codes[i] = category(c.stated, c.action);
      }
      return codes;
    });
}

/**
 * A country's alignment rate on a multiset of its values: per scenario, F1 over the drawn
 * values it holds (a value drawn twice counts twice), then the mean over scenarios that hold
 * any drawn value. On all units once it equals the paper's country figure.
 */
function rateOnValues(scenarios: readonly Int8Array[], draw: readonly number[]): number | null {
  let sum = 0;
  let k = 0;
  for (const codes of scenarios) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (const u of draw) {
      const c = codes[u]!;
      if (c === 0) tp++;
      else if (c === 1) fp++;
      else if (c === 2) fn++;
      else if (c === 3) tn++;
    }
    if (tp + fp + fn + tn === 0) continue;
    sum += f1FromCounts({ tp, fp, fn, tn });
    k++;
  }
  return k === 0 ? null : sum / k;
}

const scenarioKey = (country: string, topic: string) => `${country}\u0000${topic}`;

function scenarioKeys(view: SharedView): string[] {
  return view.scenarios.map((s) => scenarioKey(s.country, s.topic));
}

/** F1 of each unit scenario in a run (undefined where the run lacks the scenario). */
function scenarioF1s(run: PreparedRun, units: readonly string[]): (number | undefined)[] {
  const f1 = new Map(run.metrics.alignmentRate.byScenario.map((s) => [scenarioKey(s.country, s.topic), s.f1] as const));
  return units.map((k) => f1.get(k));
}

/** The overall alignment rate on a multiset of scenarios: the mean F1 of the drawn scenarios the run holds. */
function rateOnScenarios(f1s: readonly (number | undefined)[], draw: readonly number[]): number | null {
  let sum = 0;
  let k = 0;
  for (const u of draw) {
    const f = f1s[u];
    if (f === undefined) continue;
    sum += f;
    k++;
  }
  return k === 0 ? null : sum / k;
}

function union(a: readonly string[], b: readonly string[]): string[] {
  const seen = new Set(a);
  return [...a, ...b.filter((x) => !seen.has(x))];
}

interface BootOpts {
  samples: number;
  seed: number;
  level: number;
}

/**
 * A run's own intervals, from the project's uncertainty module: the same units, labels and
 * seed as `valuelens report`, so with the same --bootstrap and seed these are the intervals of
 * the run's report.md (over the shared questions).
 */
function runIntervals(run: PreparedRun, boot: BootOpts): Intervals {
  return intervalsFromShared(run.view, boot);
}

function runRates(run: PreparedRun, index: number, intervals: Intervals, countries: readonly string[]): RunRates {
  const byCountry: Record<string, Interval> = {};
  for (const c of countries) {
    const iv = intervals.alignmentRate.byCountry[c];
    if (iv !== undefined) byCountry[c] = iv;
  }
  return { run: index, label: run.label, byCountry, overall: intervals.alignmentRate.overall };
}

function runDistance(run: PreparedRun, index: number, intervals: Intervals, countries: readonly string[]): RunDistance {
  const byCountry: Record<string, Interval> = {};
  for (const c of countries) {
    const iv = intervals.alignmentDistance.meanByCountry[c];
    if (iv !== undefined) byCountry[c] = iv;
  }
  return { run: index, label: run.label, byCountry, overall: intervals.alignmentDistance.overallMean };
}

function difference(x: number | null, y: number | null): number | null {
  return x === null || y === null ? null : y - x;
}

/** rate(b) - rate(a) with a paired bootstrap: one draw of units serves both runs. */
function rateDifferences(
  a: PreparedRun,
  b: PreparedRun,
  countries: readonly string[],
  boot: BootOpts,
): PairComparison["difference"] {
  const byCountry: Record<string, Interval> = {};
  for (const c of countries) {
    const units = union(countryValues(a.view, c), countryValues(b.view, c));
    if (units.length === 0) continue;
    const codesA = countryCodes(a.view, c, units);
    const codesB = countryCodes(b.view, c, units);
    byCountry[c] = bootstrap(
      units.length,
      (draw) => difference(rateOnValues(codesA, draw), rateOnValues(codesB, draw)),
      {
        ...boot,
        label: `compare/alignment-rate-difference/country/${c}`,
      },
    );
  }
  const units = union(scenarioKeys(a.view), scenarioKeys(b.view));
  const f1A = scenarioF1s(a, units);
  const f1B = scenarioF1s(b, units);
  const overall = bootstrap(
    units.length,
    (draw) => difference(rateOnScenarios(f1A, draw), rateOnScenarios(f1B, draw)),
    {
      ...boot,
      label: "compare/alignment-rate-difference/overall",
    },
  );
  return { byCountry, overall };
}

// ---------------------------------------------------------------------------------------------
// Agreement between two runs

/** Binarized labels of the cells present (finite) in both matrices, in a's order. */
export function binarizedCellPairs(a: ScoreMatrix, b: ScoreMatrix): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [country, byTopic] of Object.entries(a)) {
    for (const [topic, byValue] of Object.entries(byTopic)) {
      for (const [value, x] of Object.entries(byValue)) {
        const y = b[country]?.[topic]?.[value];
        if (y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) continue;
        xs.push(binarize(x));
        ys.push(binarize(y));
      }
    }
  }
  return [xs, ys];
}

function sortedJson(obj: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(obj)
      .sort()
      .map((k) => [k, obj[k]]),
  );
}

/**
 * A record's top answer. Letters: the most probable option key (ties: the key that sorts
 * first). Paper: the chosen action's polarity (or option number), or all parsed ratings of a
 * Task-1 answer; null when the answer could not be parsed.
 */
export function topAnswer(r: ViaRecord): string | null {
  if (r.protocol === "letters") return r.optionProbs ? topOption(r.optionProbs) : null;
  if (!r.parsed?.ok) return null;
  if (r.parsed.chosen !== undefined) return r.parsed.chosen;
  if (r.parsed.option !== undefined) return `option ${r.parsed.option}`;
  if (r.parsed.ratings !== undefined) return sortedJson(r.parsed.ratings);
  return null;
}

function usableProbs(p: Readonly<Record<string, number>> | undefined): p is Record<string, number> {
  if (p === undefined) return false;
  let s = 0;
  for (const x of Object.values(p)) {
    if (!Number.isFinite(x) || x < 0) return false;
    s += x;
  }
  return s > 0;
}

function answerAgreement(task: AnswerAgreement["task"], pairs: readonly [ViaRecord, ViaRecord][]): AnswerAgreement {
  const flips = flipShare(
    pairs.map(([x]) => topAnswer(x)),
    pairs.map(([, y]) => topAnswer(y)),
  );
  const mads: number[] = [];
  const jsds: number[] = [];
  for (const [x, y] of pairs) {
    if (!usableProbs(x.optionProbs) || !usableProbs(y.optionProbs)) continue;
    const [p, q] = alignDistributions(x.optionProbs, y.optionProbs);
    mads.push(meanAbsDiff(p, q));
    jsds.push(jensenShannon(p, q));
  }
  return {
    task,
    records: pairs.length,
    flips,
    meanAbsDiff: meanOrNull(mads),
    jsd: meanOrNull(jsds),
    probabilityRecords: mads.length,
  };
}

function comparePair(
  a: PreparedRun,
  b: PreparedRun,
  ia: number,
  ib: number,
  countries: readonly string[],
  boot: BootOpts,
): PairComparison {
  const decisions: DecisionAgreement[] = TASKS.map((task) => {
    const [x, y] = binarizedCellPairs(task === "stated" ? a.stated : a.action, task === "stated" ? b.stated : b.action);
    return { task, ...cohenKappa(x, y) };
  });
  const pairs: [ViaRecord, ViaRecord][] = [];
  for (const r of a.records) {
    const other = b.byId.get(r.id);
    if (other !== undefined) pairs.push([r, other]);
  }
  const answers: AnswerAgreement[] = [
    ...TASKS.map((task) =>
      answerAgreement(
        task,
        pairs.filter(([r]) => r.task === task),
      ),
    ),
    answerAgreement("all", pairs),
  ];
  return {
    a: ia,
    b: ib,
    labelA: a.label,
    labelB: b.label,
    difference: rateDifferences(a, b, countries, boot),
    decisions,
    answers,
  };
}

// ---------------------------------------------------------------------------------------------

/** Countries of the runs, the paper's order first, then others in order of appearance. */
function tableCountries(runs: readonly PreparedRun[]): string[] {
  const present: string[] = [];
  for (const r of runs) for (const c of r.view.countries) if (!present.includes(c)) present.push(c);
  return [
    ...PAPER_COUNTRY_ORDER.filter((c) => present.includes(c)),
    ...present.filter((c) => !PAPER_COUNTRY_ORDER.includes(c)),
  ];
}

/**
 * Compare VIA runs. Throws a one-line UserError when the runs are not comparable (the engine's
 * check, `input.checkComparability`) and `allowPartial` is not set.
 */
export function compareViaRuns(input: CompareInput<ViaRecord>): CompareResult {
  const { runs: loaded, options: opts } = input;
  const comparability = input.checkComparability({ allowPartial: opts.allowPartial });
  const labels = input.labels;
  const shared = new Set(comparability.sharedIds);
  const runs = loaded.map((l, i) => prepare(l, labels[i]!, shared));
  const boot: BootOpts = {
    samples: opts.bootstrap ?? DEFAULT_BOOTSTRAP_SAMPLES,
    seed: opts.seed ?? loaded[0]!.manifest.config.seed,
    level: opts.level ?? 0.95,
  };
  const countries = tableCountries(runs);
  const intervals = runs.map((r) => runIntervals(r, boot));

  const pairs: PairComparison[] = [];
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) pairs.push(comparePair(runs[i]!, runs[j]!, i, j, countries, boot));
  }

  const notes: string[] = [];
  if (comparability.partial) {
    notes.push(
      `Partial comparison (--allow-partial): only the ${comparability.sharedIds.length} questions every run holds were compared; ` +
        runs
          .map(
            (r, i) => `${r.label}: ${comparability.perRun[i]!.dropped} of ${comparability.perRun[i]!.records} left out`,
          )
          .join(", ") +
        `. Differences: ${comparability.differences.join("; ")}.`,
    );
  }
  notes.push(...comparability.notes);
  for (const r of runs) {
    const l = r.loaded;
    if (l.manifest.status !== "complete")
      notes.push(
        `${r.label} (${l.dir}) is ${l.manifest.status}: ${l.records.length} of ${l.manifest.questions.total} questions answered.`,
      );
    for (const n of l.notes) notes.push(`${r.label} (${l.dir}): ${n}`);
  }
  notes.push(
    boot.samples > 0
      ? `Intervals: ${Math.round(boot.level * 100)}% percentile bootstrap, ${boot.samples} resamples, seed ${boot.seed}. A country's alignment rate resamples its values ` +
          "(the same drawn values in each of its topics); the overall rate resamples scenarios (country x topic); distances resample values. " +
          "A run's own intervals are those `valuelens report` computes with the same --bootstrap and seed (here over the compared questions). " +
          "Differences use a paired bootstrap: each draw resamples the same values / scenarios for both runs."
      : "Intervals: none (--bootstrap 0).",
  );
  notes.push(
    `Decision agreement: Cohen's kappa between the two runs' binarized matrix cells (a score below 0.5 is 0 = agree, as the paper binarizes), per task; ${KAPPA_CONSTANT_CONVENTION}.`,
  );
  notes.push(
    comparability.protocol === "letters"
      ? "Top answer: the most probable option key of each record (ties go to the key that sorts first); records are paired by question id (repeat included). " +
          "MAD: mean over options of |p - q|, averaged over records; JSD: Jensen-Shannon divergence in bits (0..1), averaged over records."
      : "Top answer: the parsed choice (Task 2) or the full set of parsed ratings (Task 1); unparseable answers are left out. " +
          "The paper protocol records no option probabilities, so MAD and JSD are not available.",
  );

  return {
    schema: "valuelens.compare/1",
    protocol: comparability.protocol,
    runs: runs.map((r, i) => {
      const l = r.loaded;
      const sha = l.manifest.backend.modelSha256;
      return {
        dir: l.dir,
        label: r.label,
        model: l.model,
        modelSha256: typeof sha === "string" ? sha : null,
        status: l.manifest.status,
        protocol: l.manifest.config.protocol,
        tasks: l.manifest.config.tasks,
        repeats: l.manifest.config.repeats,
        seed: l.manifest.config.seed,
        records: comparability.perRun[i]!.records,
        compared: r.records.length,
      };
    }),
    questions: {
      shared: comparability.sharedIds.length,
      partial: comparability.partial,
      differences: comparability.differences,
    },
    countries,
    bootstrap: {
      samples: boot.samples,
      seed: boot.seed,
      level: boot.level,
      countryUnits: "values",
      overallUnits: "scenarios",
      method: "percentile bootstrap (src/metrics/bootstrap.ts); differences paired: one draw of units for both runs",
    },
    alignmentRate: runs.map((r, i) => runRates(r, i, intervals[i]!, countries)),
    pairs,
    alignmentDistance: runs.map((r, i) => runDistance(r, i, intervals[i]!, countries)),
    notes,
  };
}
