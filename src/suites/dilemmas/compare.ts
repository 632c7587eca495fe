/**
 * `valuelens compare` for dilemma-suite runs (the 6-point protocol): alignment rate and
 * alignment distance per run and persona kind, and each run's paired difference from the
 * first run; ./compareReport.ts renders it.
 *
 * Runs are compared on the questions they share: a question is (persona, dilemma, task,
 * repeat), so runs with different repeats compare on their common repeats and stay
 * order-balanced. Runs that differ in their questions or their dilemma file are refused
 * unless `allowPartial`. A run's own figures use the labels of src/suites/dilemmas/metrics.ts, so with
 * the same --bootstrap and seed they are the intervals of its report.md (over the compared
 * questions). The difference from the first run is paired per (persona, dilemma) unit usable
 * in both runs; its interval resamples dilemmas (a drawn dilemma brings all its paired units).
 */
import { bootstrap, type Interval } from "../../metrics/bootstrap.js";
import {
  alignmentFigure,
  clusterMean,
  dilemmaUnits,
  PERSONA_KIND_ORDER,
  type AlignmentFigure,
  type DilemmaUnit,
  type PersonaKind,
} from "./metrics.js";
import { DEFAULT_BOOTSTRAP_SAMPLES } from "../../metrics/uncertainty.js";
import type { DilemmaRecord } from "./record.js";
import { UserError } from "../../util/errors.js";
import type { CompareInput, RunToCompare } from "../compare.js";

/** A persona kind, or "all" for every unit of the run. */
export type KindOrAll = PersonaKind | "all";

export interface ComparedDilemmaRun {
  dir: string;
  label: string;
  model: string;
  modelSha256: string | null;
  status: string;
  repeats: number;
  seed: number;
  records: number;
  /** records compared (the shared questions) */
  compared: number;
  /** (persona, dilemma) units with both questions scored, over the compared questions */
  units: number;
}

export interface RunKindAlignment {
  run: number;
  label: string;
  kind: KindOrAll;
  figure: AlignmentFigure;
}

export interface RunDifference {
  /** differences are run b minus run a (a = the first run) */
  a: number;
  b: number;
  labelA: string;
  labelB: string;
  kind: KindOrAll;
  /** units usable in both runs, and their dilemmas */
  units: number;
  dilemmas: number;
  alignmentRate: Interval;
  alignmentDistance: Interval;
}

export interface DilemmaCompareResult {
  schema: "valuelens.compare-dilemmas/1";
  protocol: "sixpoint";
  runs: ComparedDilemmaRun[];
  questions: { shared: number; partial: boolean; differences: string[] };
  /** persona kinds of the runs, in report order */
  kinds: PersonaKind[];
  bootstrap: { samples: number; seed: number; level: number; units: "dilemmas"; method: string };
  alignment: RunKindAlignment[];
  differences: RunDifference[];
  notes: string[];
}

const SEP = "\u0000";

/** The question a record answers, repeat included: persona, dilemma, task, repeat. */
function questionKey(r: DilemmaRecord): string {
  return [r.persona?.id ?? "", r.dilemma ?? "", r.task, r.repeat].join(SEP);
}

function unitKey(u: DilemmaUnit): string {
  return `${u.persona.id}${SEP}${u.dilemma}`;
}

function describeKey(key: string): string {
  const [persona, dilemma, task, repeat] = key.split(SEP);
  return `${task} ${persona}/${dilemma} repeat ${repeat}`;
}

/** What differs between the runs' questions and dilemma files; the shared question keys. */
function comparability(runs: readonly RunToCompare<DilemmaRecord>[]): {
  shared: Set<string>;
  differences: string[];
  notes: string[];
} {
  const keys = runs.map((r) => new Set(r.records.map(questionKey)));
  const differences: string[] = [];
  const notes: string[] = [];
  const ref = runs[0]!;
  for (let i = 1; i < runs.length; i++) {
    const r = runs[i]!;
    if (ref.manifest.dataset.sha256 !== r.manifest.dataset.sha256) {
      differences.push(
        `dilemma files differ (${ref.dir}: ${ref.manifest.dataset.path}, sha256 ${ref.manifest.dataset.sha256.slice(0, 12)}; ${r.dir}: ${r.manifest.dataset.path}, sha256 ${r.manifest.dataset.sha256.slice(0, 12)})`,
      );
    }
    for (const [x, y, yKeys] of [
      [ref, r, keys[i]!],
      [r, ref, keys[0]!],
    ] as const) {
      const missing = [...new Set(x.records.map(questionKey))].filter((k) => !yKeys.has(k));
      if (missing.length > 0)
        differences.push(
          `${x.dir} has ${missing.length} question${missing.length === 1 ? "" : "s"} that ${y.dir} lacks (first: ${describeKey(missing[0]!)})`,
        );
    }
    if (ref.manifest.config.seed !== r.manifest.config.seed) {
      notes.push(
        `Seeds differ (${ref.dir}: ${ref.manifest.config.seed}; ${r.dir}: ${r.manifest.config.seed}): the runs showed the options in other orders; each question's figures are order-balanced where it has a complete cycle of repeats.`,
      );
    }
  }
  const shared = new Set([...keys[0]!].filter((k) => keys.every((s) => s.has(k))));
  return { shared, differences, notes };
}

interface BootOpts {
  samples: number;
  seed: number;
  level: number;
}

/** The paired difference b - a over the units usable in both runs, resampling dilemmas. */
function pairedDifference(
  a: readonly DilemmaUnit[],
  b: readonly DilemmaUnit[],
  kind: KindOrAll,
  boot: BootOpts,
): Omit<RunDifference, "a" | "b" | "labelA" | "labelB"> {
  const inKind = (u: DilemmaUnit) => kind === "all" || u.persona.kind === kind;
  const byKey = new Map(a.filter(inKind).map((u) => [unitKey(u), u] as const));
  const sums = new Map<string, { n: number; rate: number; distance: number }>();
  let units = 0;
  for (const u of b.filter(inKind)) {
    const x = byKey.get(unitKey(u));
    if (x === undefined) continue;
    const c = sums.get(u.dilemma) ?? { n: 0, rate: 0, distance: 0 };
    c.n++;
    c.rate += u.alignmentRate - x.alignmentRate;
    c.distance += u.alignmentDistance - x.alignmentDistance;
    sums.set(u.dilemma, c);
    units++;
  }
  const ids = [...sums.keys()].sort();
  const n = ids.map((d) => sums.get(d)!.n);
  const rate = ids.map((d) => sums.get(d)!.rate);
  const distance = ids.map((d) => sums.get(d)!.distance);
  const label = (measure: string) =>
    `compare/dilemmas/${measure}-difference/${kind === "all" ? "overall" : `kind/${kind}`}`;
  return {
    kind,
    units,
    dilemmas: ids.length,
    alignmentRate: bootstrap(ids.length, (draw) => clusterMean(rate, n, draw), {
      ...boot,
      label: label("alignment-rate"),
    }),
    alignmentDistance: bootstrap(ids.length, (draw) => clusterMean(distance, n, draw), {
      ...boot,
      label: label("alignment-distance"),
    }),
  };
}

/**
 * Compare loaded dilemma-suite runs. Throws a one-line UserError when they differ in their
 * questions or dilemma file and `allowPartial` is not set, or share no question.
 */
export function compareDilemmaRuns(input: CompareInput<DilemmaRecord>): DilemmaCompareResult {
  const { runs: loaded, options: opts } = input;
  if (loaded.length < 2) throw new UserError("compare needs at least two run directories");
  const { shared, differences, notes: comparabilityNotes } = comparability(loaded);
  if (differences.length > 0 && !opts.allowPartial) {
    throw new UserError(
      `cannot compare ${loaded.map((r) => r.dir).join(" and ")}: ${differences.join("; ")}; pass --allow-partial to compare only the questions all runs share`,
    );
  }
  if (shared.size === 0)
    throw new UserError(`${loaded.map((r) => r.dir).join(" and ")} have no question in common; nothing to compare`);
  const boot: BootOpts = {
    samples: opts.bootstrap ?? DEFAULT_BOOTSTRAP_SAMPLES,
    seed: opts.seed ?? loaded[0]!.manifest.config.seed,
    level: opts.level ?? 0.95,
  };
  const labels = input.labels;
  const records = loaded.map((l) => l.records.filter((r) => shared.has(questionKey(r))));
  const units = records.map((rs) => dilemmaUnits(rs).units);
  const present = new Set(units.flatMap((us) => us.map((u) => u.persona.kind)));
  const kinds = PERSONA_KIND_ORDER.filter((k) => present.has(k));
  const groups: KindOrAll[] = [...kinds, "all"];

  const alignment: RunKindAlignment[] = units.flatMap((us, run) =>
    groups.flatMap((kind) => {
      const mine = kind === "all" ? us : us.filter((u) => u.persona.kind === kind);
      if (mine.length === 0) return [];
      return [
        {
          run,
          label: labels[run]!,
          kind,
          figure: alignmentFigure(mine, boot, kind === "all" ? "overall" : `kind/${kind}`),
        },
      ];
    }),
  );
  const differencesFromFirst: RunDifference[] = units.slice(1).flatMap((us, i) =>
    groups.map((kind) => ({
      a: 0,
      b: i + 1,
      labelA: labels[0]!,
      labelB: labels[i + 1]!,
      ...pairedDifference(units[0]!, us, kind, boot),
    })),
  );

  const notes: string[] = [];
  if (differences.length > 0) {
    notes.push(
      `Partial comparison (--allow-partial): only the ${shared.size} questions every run holds were compared; ` +
        loaded
          .map((l, i) => `${labels[i]}: ${l.records.length - records[i]!.length} of ${l.records.length} left out`)
          .join(", ") +
        `. Differences: ${differences.join("; ")}.`,
    );
  }
  notes.push(...comparabilityNotes);
  loaded.forEach((l, i) => {
    if (l.manifest.status !== "complete")
      notes.push(
        `${labels[i]} (${l.dir}) is ${l.manifest.status}: ${l.records.length} of ${l.manifest.questions.total} questions answered.`,
      );
    for (const n of l.notes) notes.push(`${labels[i]} (${l.dir}): ${n}`);
  });
  notes.push(
    "Differences from the first run are paired per (persona, dilemma) unit that both runs scored on both questions; a unit scored in only one run is left out of them.",
  );
  notes.push(
    boot.samples > 0
      ? `Intervals: ${Math.round(boot.level * 100)}% percentile bootstrap, ${boot.samples} resamples, seed ${boot.seed}, resampling dilemmas (a drawn dilemma brings all its units). ` +
          "A run's own intervals are those `valuelens report` computes with the same --bootstrap and seed (here over the compared questions)."
      : "Intervals: none (--bootstrap 0).",
  );

  return {
    schema: "valuelens.compare-dilemmas/1",
    protocol: "sixpoint",
    runs: loaded.map((l, i) => {
      const sha = l.manifest.backend.modelSha256;
      return {
        dir: l.dir,
        label: labels[i]!,
        model: l.model,
        modelSha256: typeof sha === "string" ? sha : null,
        status: l.manifest.status,
        repeats: l.manifest.config.repeats,
        seed: l.manifest.config.seed,
        records: l.records.length,
        compared: records[i]!.length,
        units: units[i]!.length,
      };
    }),
    questions: { shared: shared.size, partial: differences.length > 0, differences },
    kinds,
    bootstrap: {
      ...boot,
      units: "dilemmas",
      method:
        "percentile cluster bootstrap over dilemmas (src/metrics/bootstrap.ts); differences paired per (persona, dilemma) unit",
    },
    alignment,
    differences: differencesFromFirst,
    notes,
  };
}
