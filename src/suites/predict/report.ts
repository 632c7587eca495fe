/**
 * The prediction suite's metrics of a run's records, its report, tables and comparison.
 *
 * A test row's answer in a mode: letters: P(True) averaged over the repeats (both label orders
 * of the training examples), predicted `True` above 0.5, `False` below, unparsed (a tie) at
 * exactly 0.5 or without letter mass; paper protocol: the parsed label (the majority over
 * repeats when there are several; a tie is unparsed). Failed questions are left out and counted.
 */
import path from "node:path";
import type { Manifest, RunConfig } from "../../records/manifest.js";
import { cell, fmt, fmtInterval, MISSING } from "../../report/report.js";
import { renderTable, type Table } from "../../report/table.js";
import type { Comparison, CompareInput } from "../compare.js";
import { PREDICT_MODES } from "./conversation.js";
import { pairedDifference, type PredictMetrics, predictMetrics, type ScoredRow } from "./metrics.js";
import { predictCompareFigures } from "./figures.js";
import { predictOptionsOf } from "./options.js";
import { PREDICT_PROTOCOLS, type PredictRecord } from "./record.js";

export interface PredictRunMetrics extends PredictMetrics {
  suite: "predict";
  elicitation: "letters" | "generate";
  /** Questions recorded as failed (no answer), left out. */
  failed: number;
}

/**
 * The test row a record answers, the same in every mode (modes are paired on it): its VIA row,
 * or for an imported record the released file's index.
 */
export function testRowKey(r: PredictRecord): number {
  const key = r.row ?? r.index;
  if (key === undefined) throw new Error(`prediction record ${r.id} names neither a VIA row nor a released index`);
  return key;
}

/** Each mode's test rows as the metrics take them. */
export function scoredRowsByMode(records: readonly PredictRecord[]): Record<string, ScoredRow[]> {
  const groups = new Map<string, Map<number, PredictRecord[]>>();
  for (const r of records) {
    if (r.failed) continue;
    const byRow = groups.get(r.mode) ?? new Map<number, PredictRecord[]>();
    const key = testRowKey(r);
    byRow.set(key, [...(byRow.get(key) ?? []), r]);
    groups.set(r.mode, byRow);
  }
  const out: Record<string, ScoredRow[]> = {};
  for (const mode of PREDICT_MODES) {
    const byRow = groups.get(mode);
    if (!byRow) continue;
    out[mode] = [...byRow.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([row, rs]) => {
        const label = rs[0]!.label;
        if (rs[0]!.protocol === PREDICT_PROTOCOLS.letters) {
          const ps = rs.map((r) => r.score).filter((s): s is number => s !== null);
          const pTrue = ps.length > 0 ? ps.reduce((a, b) => a + b, 0) / ps.length : null;
          const predicted = pTrue === null || pTrue === 0.5 ? null : pTrue > 0.5;
          return { key: row, label, predicted, pTrue };
        }
        let votes = 0;
        let parsed = 0;
        for (const r of rs) {
          if (r.parsed?.ok && (r.parsed.chosen === "True" || r.parsed.chosen === "False")) {
            parsed += 1;
            votes += r.parsed.chosen === "True" ? 1 : -1;
          }
        }
        return { key: row, label, predicted: parsed === 0 || votes === 0 ? null : votes > 0 };
      });
  }
  return out;
}

export function predictRunMetrics(
  records: readonly PredictRecord[],
  config: RunConfig,
  bootstrap: { samples: number; seed: number },
): PredictRunMetrics {
  const m = predictMetrics(scoredRowsByMode(records), { samples: bootstrap.samples, seed: bootstrap.seed });
  return {
    suite: "predict",
    elicitation: config.protocol === PREDICT_PROTOCOLS.letters ? "letters" : "generate",
    failed: records.filter((r) => r.failed).length,
    ...m,
  };
}

const COLUMNS = ["f1", "accuracy", "precision", "recall", "brier", "auc"] as const;
const HEADS: Record<(typeof COLUMNS)[number], string> = {
  f1: "F1",
  accuracy: "Accuracy",
  precision: "Precision",
  recall: "Recall",
  brier: "Brier",
  auc: "AUC",
};

/** Modes x metrics: "0.80 [0.74, 0.85]" (text) or estimate, low, high columns (data). */
export function modesTable(m: PredictMetrics, style: "text" | "data"): Table {
  const cols = COLUMNS.filter(
    (c) => c === "f1" || c === "accuracy" || c === "precision" || c === "recall" || hasAny(m, c),
  );
  if (style === "text") {
    return {
      name: "predict-metrics-by-mode",
      title: "Prediction metrics by mode (True positive; 95% bootstrap intervals over test rows)",
      columns: ["Mode", "n", ...cols.map((c) => HEADS[c]), "TP", "FP", "TN", "FN", "Unparsed"],
      rows: Object.entries(m.byMode).map(([mode, x]) => [
        mode,
        x.n,
        ...cols.map((c) => fmtInterval(x[c], x.intervals[c])),
        x.tp,
        x.fp,
        x.tn,
        x.fn,
        x.unparsed,
      ]),
    };
  }
  return {
    name: "predict-metrics-by-mode",
    title: "Prediction metrics by mode",
    columns: ["mode", "n", ...cols.flatMap((c) => [c, `${c}_low`, `${c}_high`]), "tp", "fp", "tn", "fn", "unparsed"],
    rows: Object.entries(m.byMode).map(([mode, x]) => [
      mode,
      x.n,
      ...cols.flatMap((c) => [x[c], x.intervals[c]?.low ?? null, x.intervals[c]?.high ?? null]),
      x.tp,
      x.fp,
      x.tn,
      x.fn,
      x.unparsed,
    ]),
  };
}

function hasAny(m: PredictMetrics, c: "brier" | "auc" | "f1" | "accuracy" | "precision" | "recall"): boolean {
  return Object.values(m.byMode).some((x) => x[c] !== null);
}

/** Each mode minus default, paired over the same test rows. */
export function differencesTable(m: PredictMetrics, style: "text" | "data"): Table {
  const cols = COLUMNS.filter((c) => Object.values(m.differences).some((d) => d.metrics[c] !== undefined));
  const entries = Object.values(m.differences);
  if (style === "text") {
    return {
      name: "predict-differences",
      title: "Each mode minus default, paired over the same test rows (95% bootstrap intervals)",
      columns: ["Mode", "Paired rows", ...cols.map((c) => HEADS[c])],
      rows: entries.map((d) => [
        d.mode,
        d.n,
        ...cols.map((c) => {
          const iv = d.metrics[c];
          return iv ? fmtInterval(iv.estimate, iv) : MISSING;
        }),
      ]),
    };
  }
  return {
    name: "predict-differences",
    title: "Each mode minus default, paired",
    columns: ["mode", "baseline", "n", ...cols.flatMap((c) => [c, `${c}_low`, `${c}_high`])],
    rows: entries.map((d) => [
      d.mode,
      d.baseline,
      d.n,
      ...cols.flatMap((c) => [d.metrics[c]?.estimate ?? null, d.metrics[c]?.low ?? null, d.metrics[c]?.high ?? null]),
    ]),
  };
}

/** One sentence per mode: whether its improvement in F1 and accuracy over default excludes zero. */
export function differenceSentences(m: PredictMetrics): string[] {
  const out: string[] = [];
  for (const d of Object.values(m.differences)) {
    const parts: string[] = [];
    for (const c of ["f1", "accuracy"] as const) {
      const iv = d.metrics[c];
      if (!iv || iv.estimate === null) continue;
      const verdict =
        iv.excludesZero === null
          ? "has no interval"
          : iv.excludesZero
            ? iv.low! > 0
              ? "excludes zero: an improvement"
              : "excludes zero: worse than default"
            : "includes zero: no difference shown";
      parts.push(`${HEADS[c]} ${signed(iv.estimate)} [${signed(iv.low)}, ${signed(iv.high)}] ${verdict}`);
    }
    if (parts.length > 0) out.push(`- **${d.mode}** against default (${d.n} paired rows): ${parts.join("; ")}.`);
  }
  return out;
}

function signed(x: number | null): string {
  if (x === null) return MISSING;
  const s = fmt(x, 3);
  return x > 0 ? `+${s}` : s;
}

export function renderPredictReport(
  manifest: Manifest,
  m: PredictRunMetrics,
  records: readonly PredictRecord[],
): string {
  const config = manifest.config;
  const opts = predictOptionsOf(config);
  const lines = [
    `# Predicting action choices from explanations: ${cell(manifest.backend.model.name)}`,
    "",
    renderTable(modesTable(m, "text"), "md").replace(/\n$/, ""),
    "",
  ];
  const sentences = differenceSentences(m);
  if (sentences.length > 0) lines.push("## Improvement over default", "", ...sentences, "");
  if (Object.keys(m.differences).length > 0)
    lines.push(renderTable(differencesTable(m, "text"), "md").replace(/\n$/, ""), "");
  lines.push(
    "## Run",
    "",
    `- Predictor: ${manifest.backend.model.name}; ${m.elicitation === "letters" ? `letters (P(True) after the answer prefix \`Label: \`, ${config.repeats} repeat${config.repeats === 1 ? "" : "s"} alternating the label order of the training examples)` : `generated answers (temperature ${opts.temperature}), the second space-separated field read`}.`,
    manifest.imported
      ? `- Imported from the released predictions (${(manifest.import?.files ?? []).map((f) => path.basename(f.path)).join(", ")}): the labels are the released ones; the test rows are the files' (paired across modes on their index column); modes ${opts.modes.join(", ")}.`
      : `- Labels: ${opts.labels ? `${opts.labels.dir} (${opts.labels.method}; digest ${opts.labels.digest.slice(0, 12)}…)` : MISSING}.`,
    ...(manifest.imported
      ? []
      : [
          `- ${opts.train} training examples and ${opts.test} test rows per label; seed ${config.seed}; modes ${opts.modes.join(", ")}.`,
        ]),
    `- Records: ${records.length}${m.failed > 0 ? `, of which ${m.failed} failed (left out)` : ""}.`,
    `- Intervals: ${m.bootstrap.samples} bootstrap resamples over test rows (seed ${m.bootstrap.seed}); scikit-learn's zero-division rule (a metric with a zero denominator is 0).`,
    "",
  );
  return lines.join("\n");
}

export function predictTables(_manifest: Manifest, m: PredictRunMetrics): Table[] {
  return [modesTable(m, "data"), differencesTable(m, "data")];
}

/** `valuelens compare`: each run's metrics by mode, side by side, on the questions they share. */
export function comparePredictRuns(input: CompareInput<PredictRecord>): Comparison {
  const c = input.checkComparability({ allowPartial: input.options.allowPartial });
  const shared = new Set(c.sharedIds);
  const samples = input.options.bootstrap ?? 1000;
  const rows: Table["rows"] = [];
  const dataRows: Table["rows"] = [];
  const perRun = input.runs.map((run, i) => {
    const seed = input.options.seed ?? run.manifest.config.seed;
    const records = run.records.filter((r) => shared.has(r.id));
    const m = predictRunMetrics(records, run.manifest.config, { samples, seed });
    for (const [mode, x] of Object.entries(m.byMode)) {
      rows.push([
        input.labels[i]!,
        mode,
        x.n,
        fmtInterval(x.f1, x.intervals.f1),
        fmtInterval(x.accuracy, x.intervals.accuracy),
      ]);
      dataRows.push([input.labels[i]!, mode, x.n, x.f1, x.accuracy, x.precision, x.recall, x.brier, x.auc]);
    }
    return { label: input.labels[i]!, metrics: m, rows: scoredRowsByMode(records), seed };
  });
  // Each later run against the first, per mode, paired on the test row (the same questions).
  const first = perRun[0]!;
  const differences = perRun.slice(1).flatMap((run) =>
    Object.keys(run.rows)
      .filter((mode) => first.rows[mode])
      .map((mode) => ({
        run: run.label,
        mode,
        d: pairedDifference(run.label, run.rows[mode]!, first.label, first.rows[mode]!, {
          samples,
          seed: first.seed,
        }),
      })),
  );
  const headline: Table = {
    name: "predict-compare",
    title: "F1 and accuracy by run and mode (95% bootstrap intervals)",
    columns: ["Run", "Mode", "n", "F1", "Accuracy"],
    rows,
  };
  const data: Table = {
    name: "predict-compare",
    title: "Prediction metrics by run and mode",
    columns: ["run", "mode", "n", "f1", "accuracy", "precision", "recall", "brier", "auc"],
    rows: dataRows,
  };
  const diffTable: Table = {
    name: "predict-compare-differences",
    title: `Each run against ${first.label}, per mode (paired over test rows; 95% bootstrap intervals)`,
    columns: ["Run", "Mode", "Paired rows", "F1", "Accuracy", "Excludes zero (F1)"],
    rows: differences.map(({ run, mode, d }) => [
      run,
      mode,
      d.n,
      fmtDifference(d.metrics.f1),
      fmtDifference(d.metrics.accuracy),
      d.metrics.f1?.excludesZero == null ? MISSING : d.metrics.f1.excludesZero ? "yes" : "no",
    ]),
  };
  const markdown = [
    "# Prediction runs compared",
    "",
    renderTable(headline, "md").replace(/\n$/, ""),
    "",
    ...(differences.length > 0
      ? [`## Against ${first.label}`, "", renderTable(diffTable, "md").replace(/\n$/, ""), ""]
      : []),
    ...(c.notes.length > 0 ? ["## Notes", "", ...c.notes.map((n) => `- ${n}`), ""] : []),
  ].join("\n");
  return {
    result: { questions: { partial: c.partial, shared: c.sharedIds.length } },
    markdown,
    tables: [data, ...(differences.length > 0 ? [diffTable] : [])],
    headline,
    figures: predictCompareFigures(
      perRun.map((r) => ({ label: r.label, metrics: r.metrics })),
      differences.map(({ run, mode, d }) => ({ run, mode, d })),
      { samples, seed: first.seed },
    ),
  };
}

/** "+0.028 [+0.010, +0.048]" */
function fmtDifference(x: { estimate: number | null; low: number | null; high: number | null } | undefined): string {
  if (!x || x.estimate === null) return MISSING;
  const s = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(3)}`;
  return x.low === null || x.high === null ? s(x.estimate) : `${s(x.estimate)} [${s(x.low)}, ${s(x.high)}]`;
}
