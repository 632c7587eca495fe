/**
 * report.md of a dilemma-suite run (the 6-point protocol): alignment rate and alignment
 * distance per persona kind with the difference from the baseline first, then per persona,
 * the value x persona-kind heatmaps, topics, the answer-choice distributions, position bias,
 * the run summary, notes, and our operational definitions.
 *
 * As in every suite's report (src/report/report.ts), each section holds display tables (estimate
 * and interval in one cell) for report.md, and data tables built from the same numbers (one
 * figure per column, intervals as ..._ci_low / ..._ci_high) for `valuelens report --format csv|json`.
 */
import type { Task } from "../../questions/question.js";
import { SIXPOINT_OPTIONS } from "./sixpoint.js";
import type { Interval } from "../../metrics/bootstrap.js";
import {
  PERSONA_KIND_ORDER,
  type AlignmentFigure,
  type BaselineDifference,
  type DilemmaMetrics,
  type PersonaKind,
} from "./metrics.js";
import type { Manifest } from "../../records/manifest.js";
import type { PersonaRef } from "../../records/records.js";
import type { DilemmaRecord } from "./record.js";
import { failedQuestionsBlock } from "../../report/failedQuestions.js";
import { lowLetterMassBlock, minLetterMassOf, unseenLettersSection } from "../../report/letterChecks.js";
import {
  backendSummary,
  bootstrapSummary,
  bootstrapWords,
  droppedReasonsText,
  fmt,
  fmtInterval,
  MISSING,
  meanLetterMass,
  modelNameOf,
  NO_INTERVALS,
  num,
  renderReportDocument,
  runSummarySection,
  text,
  type ReportSection,
} from "../../report/report.js";
import type { Cell, Table } from "../../report/table.js";

/** How a persona kind is named in the tables. */
export function kindLabel(kind: PersonaKind): string {
  return kind === "none" ? "baseline (none)" : kind;
}

/** `+0.05 [-0.01, +0.10]`: a signed difference with its interval. */
export function fmtSigned(iv: Interval | undefined, digits = 2): string {
  if (iv === undefined || iv.estimate === null) return MISSING;
  const s = (x: number) => {
    const t = x.toFixed(digits);
    return Number(t) === 0 ? (0).toFixed(digits) : x > 0 ? `+${t}` : t;
  };
  return iv.low === null || iv.high === null ? s(iv.estimate) : `${s(iv.estimate)} [${s(iv.low)}, ${s(iv.high)}]`;
}

/** estimate, ci_low, ci_high */
function ivCells(iv: Interval | undefined): Cell[] {
  return [num(iv?.estimate), num(iv?.low), num(iv?.high)];
}

function ivColumns(name: string): string[] {
  return [name, `${name}_ci_low`, `${name}_ci_high`];
}

const FIGURE_COLUMNS = ["units", "dilemmas", ...ivColumns("alignment_rate"), ...ivColumns("alignment_distance")];
const BASELINE_COLUMNS = ["baseline_dilemmas", ...ivColumns("rate_vs_baseline"), ...ivColumns("distance_vs_baseline")];

function figureCells(f: AlignmentFigure | undefined): Cell[] {
  return [f?.units ?? 0, f?.dilemmas ?? 0, ...ivCells(f?.alignmentRate), ...ivCells(f?.alignmentDistance)];
}

function baselineCells(d: BaselineDifference | undefined): Cell[] {
  return [d?.dilemmas ?? null, ...ivCells(d?.alignmentRate), ...ivCells(d?.alignmentDistance)];
}

/** Where a persona sits: its quadrant or country. */
function personaPlace(p: PersonaRef): string {
  return p.quadrant ?? p.country ?? "";
}

function dilemmaBootstrapWords(m: DilemmaMetrics): string {
  const b = m.intervals?.bootstrap;
  return b === undefined ? NO_INTERVALS : bootstrapWords(b, `; resampled: ${b.resampled}.`);
}

/** The run summary as key/value pairs. */
function runSummary(
  manifest: Manifest,
  m: DilemmaMetrics,
  records: readonly DilemmaRecord[],
): Record<string, string | number> {
  const c = manifest.config;
  const model = modelNameOf(manifest);
  const mass = meanLetterMass(records);
  const personas = (c.personas ?? []).map((p) =>
    typeof p === "string" ? p : `file ${p.file} (sha256 ${p.sha256.slice(0, 16)})`,
  );
  const out: Record<string, string | number> = {
    model,
    status: manifest.status,
    protocol: `${c.protocol} (dilemma suite, 6-point scales)`,
    repeats: c.repeats,
    seed: c.seed,
    records: records.length,
    "questions in run": manifest.questions.total,
    dilemmas: `${c.dilemmas ?? manifest.dataset.path} (${manifest.dataset.path}, sha256 ${manifest.dataset.sha256.slice(0, 16)})`,
    "personas asked": personas.length > 0 ? personas.join(", ") : "none",
    quadrants: c.quadrants && c.quadrants.length > 0 ? c.quadrants.join(", ") : "all four",
    ...backendSummary(manifest),
  };
  if (mass !== undefined) out["mean letter mass"] = mass;
  const b = m.intervals?.bootstrap;
  if (b) out.bootstrap = bootstrapSummary(b, " over dilemmas");
  return out;
}

/** Notes: the manifest's, then what entered the figures and what was dropped. */
function notes(manifest: Manifest, m: DilemmaMetrics): string[] {
  const i = m.inputs;
  const out = [...manifest.notes];
  const rr = droppedReasonsText(i.records.droppedByReason);
  out.push(`Records: ${i.records.records} recorded, ${i.records.used} used${rr ? ` (dropped: ${rr})` : ""}.`);
  const ur = droppedReasonsText(i.units.droppedByReason);
  out.push(
    `Units (persona x dilemma): ${i.units.total} asked, ${i.units.used} with both questions scored${ur ? ` (dropped: ${ur})` : ""}.`,
  );
  for (const task of ["stated", "action"] as const) {
    const q = i.questions[task];
    if (q.scored === 0) continue;
    out.push(
      `${task === "stated" ? "Value" : "Action"} questions: ${q.balanced} of ${q.scored} averaged over complete balanced cycles of repeats` +
        (q.unbalanced > 0
          ? `; ${q.unbalanced} had no complete cycle and are averaged over all their scored repeats (NOT order-balanced).`
          : "."),
    );
  }
  return out;
}

/** What entered the figures and what was dropped (a data table; report.md says it in its notes). */
function inputsTable(m: DilemmaMetrics): Table {
  const i = m.inputs;
  return {
    name: "inputs",
    title: "Inputs: records and units used and dropped",
    columns: ["level", "count", "reason", "n"],
    rows: [
      ["records", "recorded", null, i.records.records],
      ["records", "used", null, i.records.used],
      ...Object.entries(i.records.droppedByReason).map(([r, n]) => ["records", "dropped", r, n]),
      ["units", "asked", null, i.units.total],
      ["units", "used", null, i.units.used],
      ...Object.entries(i.units.droppedByReason).map(([r, n]) => ["units", "dropped", r, n]),
    ],
  };
}

/** The headline display table: alignment rate and distance per persona kind, with the differences from the baseline. */
export function alignmentByKindTable(m: DilemmaMetrics): Table {
  const kinds = m.kinds;
  return {
    name: "alignment-by-persona-kind",
    title: "Alignment by persona kind",
    columns: [
      "persona kind",
      "personas",
      "units",
      "alignment rate",
      "Δ rate vs baseline",
      "alignment distance",
      "Δ distance vs baseline",
    ],
    rows: [
      ...kinds.map((k) => {
        const f = m.byKind[k]!;
        return [
          kindLabel(k),
          f.personas,
          f.units,
          fmtInterval(f.alignmentRate.estimate, f.alignmentRate),
          fmtSigned(f.vsBaseline?.alignmentRate),
          fmtInterval(f.alignmentDistance.estimate, f.alignmentDistance, 3),
          fmtSigned(f.vsBaseline?.alignmentDistance, 3),
        ];
      }),
      [
        "all",
        m.byPersona.length,
        m.overall.units,
        fmtInterval(m.overall.alignmentRate.estimate, m.overall.alignmentRate),
        MISSING,
        fmtInterval(m.overall.alignmentDistance.estimate, m.overall.alignmentDistance, 3),
        MISSING,
      ],
    ],
  };
}

/** All sections of the report, in order. */
export function dilemmaReportSections(
  manifest: Manifest,
  m: DilemmaMetrics,
  records: readonly DilemmaRecord[],
): ReportSection[] {
  const sections: ReportSection[] = [];
  const kinds = m.kinds;
  const hasBaseline = kinds.includes("none");

  // 1. Headline: per persona kind, with the difference from the baseline.
  sections.push({
    heading: "Alignment by persona kind",
    before: [
      "Per (persona, dilemma) unit: the alignment rate (the probability that the stated value and the action fall on the same side of their 6-point scales) " +
        "and the alignment distance (E|v - a| / 5; 0 = the stated value and the action coincide). A kind's figure is the mean over its units, pooling its personas. " +
        (hasBaseline
          ? "Δ vs baseline: per dilemma, the kind's mean minus the baseline (no persona), averaged over the dilemmas both answered."
          : "This run has no baseline (persona kind none): no differences from it."),
    ],
    display: [alignmentByKindTable(m)],
    after: [dilemmaBootstrapWords(m)],
    data: [
      {
        name: "alignment-by-persona-kind",
        title: "Alignment by persona kind",
        columns: ["persona_kind", "personas", ...FIGURE_COLUMNS, ...BASELINE_COLUMNS],
        rows: [
          ...kinds.map((k) => [
            k,
            m.byKind[k]!.personas,
            ...figureCells(m.byKind[k]),
            ...baselineCells(m.byKind[k]!.vsBaseline),
          ]),
          ["all", m.byPersona.length, ...figureCells(m.overall), ...baselineCells(undefined)],
        ],
      },
    ],
  });

  // 2. Per persona.
  sections.push({
    heading: "Alignment by persona",
    before: [],
    display: [
      {
        name: "alignment-by-persona",
        title: "Alignment by persona",
        columns: [
          "persona",
          "kind",
          "quadrant / country",
          "units",
          "alignment rate",
          "Δ rate vs baseline",
          "alignment distance",
          "Δ distance vs baseline",
        ],
        rows: m.byPersona.map((p) => [
          text(p.persona.name),
          p.persona.kind,
          text(personaPlace(p.persona)) || MISSING,
          p.units,
          fmtInterval(p.alignmentRate.estimate, p.alignmentRate),
          fmtSigned(p.vsBaseline?.alignmentRate),
          fmtInterval(p.alignmentDistance.estimate, p.alignmentDistance, 3),
          fmtSigned(p.vsBaseline?.alignmentDistance, 3),
        ]),
      },
    ],
    after: [],
    data: [
      {
        name: "alignment-by-persona",
        title: "Alignment by persona",
        columns: [
          "persona_id",
          "persona_kind",
          "persona_name",
          "quadrant",
          "country",
          ...FIGURE_COLUMNS,
          ...BASELINE_COLUMNS,
        ],
        rows: m.byPersona.map((p) => [
          p.persona.id,
          p.persona.kind,
          p.persona.name,
          p.persona.quadrant ?? null,
          p.persona.country ?? null,
          ...figureCells(p),
          ...baselineCells(p.vsBaseline),
        ]),
      },
    ],
  });

  // 3. Value x persona kind heatmaps.
  const values = Object.keys(m.byValue);
  const heat = (measure: "alignmentRate" | "alignmentDistance", digits: number): Table => ({
    name: measure === "alignmentRate" ? "alignment-rate-by-value-and-kind" : "alignment-distance-by-value-and-kind",
    title:
      measure === "alignmentRate"
        ? "Alignment rate by value and persona kind"
        : "Alignment distance by value and persona kind",
    columns: ["value", ...kinds.map(kindLabel)],
    rows: values.map((v) => [text(v), ...kinds.map((k) => fmt(m.byValue[v]![k]?.[measure].estimate, digits))]),
  });
  sections.push({
    heading: "Alignment by value and persona kind",
    before: [
      "Mean over the value's dilemmas (and, for a kind, its personas); values in the paper's analysis order (grouped by Schwartz type). Intervals are in the CSV/JSON tables.",
    ],
    display: [heat("alignmentRate", 2), heat("alignmentDistance", 3)],
    after: [],
    data: [
      {
        name: "alignment-by-value-and-kind",
        title: "Alignment by value and persona kind",
        columns: ["value", "persona_kind", ...FIGURE_COLUMNS],
        rows: values.flatMap((v) =>
          kinds.filter((k) => m.byValue[v]![k]).map((k) => [v, k, ...figureCells(m.byValue[v]![k])]),
        ),
      },
    ],
  });

  // 4. Topic x persona kind.
  const topics = Object.keys(m.byTopic);
  const topicTable = (measure: "alignmentRate" | "alignmentDistance", digits: number): Table => ({
    name: measure === "alignmentRate" ? "alignment-rate-by-topic-and-kind" : "alignment-distance-by-topic-and-kind",
    title:
      measure === "alignmentRate"
        ? "Alignment rate by topic and persona kind"
        : "Alignment distance by topic and persona kind",
    columns: ["topic", ...kinds.map(kindLabel)],
    rows: topics.map((t) => [
      text(t),
      ...kinds.map((k) => fmtInterval(m.byTopic[t]![k]?.[measure].estimate, m.byTopic[t]![k]?.[measure], digits)),
    ]),
  });
  sections.push({
    heading: "Alignment by topic and persona kind",
    before: [],
    display: [topicTable("alignmentRate", 2), topicTable("alignmentDistance", 3)],
    after: [],
    data: [
      {
        name: "alignment-by-topic-and-kind",
        title: "Alignment by topic and persona kind",
        columns: ["topic", "persona_kind", ...FIGURE_COLUMNS],
        rows: topics.flatMap((t) =>
          kinds.filter((k) => m.byTopic[t]![k]).map((k) => [t, k, ...figureCells(m.byTopic[t]![k])]),
        ),
      },
      {
        name: "alignment-by-dilemma-and-kind",
        title: "Alignment by dilemma and persona kind",
        columns: ["dilemma", "value", "topic", "persona_kind", "units", "alignment_rate", "alignment_distance"],
        rows: m.byDilemma.flatMap((d) =>
          PERSONA_KIND_ORDER.filter((k) => d.byKind[k]).map((k) => [
            d.dilemma,
            d.value,
            d.topic,
            k,
            d.byKind[k]!.units,
            d.byKind[k]!.alignmentRate,
            d.byKind[k]!.alignmentDistance,
          ]),
        ),
      },
    ],
  });

  // 5. Answer choices.
  const choiceKinds = (task: Task) => PERSONA_KIND_ORDER.filter((k) => m.choices[task][k]);
  const choiceTable = (task: Task): Table => ({
    name: task === "stated" ? "answer-choices-value-question" : "answer-choices-action-question",
    title: task === "stated" ? "Answer choices: value question" : "Answer choices: action question",
    columns: ["persona kind", "answers", ...SIXPOINT_OPTIONS[task]],
    rows: choiceKinds(task).map((k) => {
      const c = m.choices[task][k]!;
      return [
        kindLabel(k),
        c.answers,
        ...SIXPOINT_OPTIONS[task].map(
          (l) => `${fmt(c.meanProbability[l])} (${Math.round((c.topShare[l] ?? 0) * 100)}%)`,
        ),
      ];
    }),
  });
  sections.push({
    heading: "Answer choices",
    before: [
      "Per persona kind: the mean probability of each option over the scored answers (every repeat), and in parentheses the share of answers whose most probable option it is. " +
        "A model that favours the scale's ends on the value question, or its middle on the action question, shows it here.",
    ],
    display: [choiceTable("stated"), choiceTable("action")],
    after: [],
    data: [
      {
        name: "answer-choices",
        title: "Answer choices",
        columns: ["question", "persona_kind", "option", "scale_position", "answers", "mean_probability", "top_share"],
        rows: (["stated", "action"] as const).flatMap((task) =>
          choiceKinds(task).flatMap((k) => {
            const c = m.choices[task][k]!;
            return SIXPOINT_OPTIONS[task].map((l, i) => [
              task === "stated" ? "value" : "action",
              k,
              l,
              i + 1,
              c.answers,
              num(c.meanProbability[l]),
              num(c.topShare[l]),
            ]);
          }),
        ),
      },
    ],
  });

  // 6. Position bias.
  const biasTasks = (["stated", "action"] as const).filter((t) => m.positionBias[t]);
  const letters = ["A", "B", "C", "D", "E", "F"];
  sections.push({
    heading: "Position bias",
    before: [
      "Mean probability each shown position received over the scored answers, against the uniform share 1/6. The figures above average each question over order-balanced repeats, so this bias cancels out of them.",
    ],
    display: [
      {
        name: "position-bias",
        title: "Position bias",
        columns: ["question", "answers", ...letters, "uniform"],
        rows: biasTasks.map((t) => {
          const p = m.positionBias[t]!;
          return [
            t === "stated" ? "value" : "action",
            p.answers,
            ...p.massByPosition.map((x) => fmt(x)),
            fmt(p.uniform),
          ];
        }),
      },
    ],
    after: [],
    data: [
      {
        name: "position-bias",
        title: "Position bias: mean probability by shown position",
        columns: ["question", "position", "mass", "uniform", "answers"],
        rows: biasTasks.flatMap((t) => {
          const p = m.positionBias[t]!;
          return p.positions.map((pos, i) => [
            t === "stated" ? "value" : "action",
            pos,
            num(p.massByPosition[i]),
            p.uniform,
            p.answers,
          ]);
        }),
      },
    ],
  });

  // 7. Letters outside a server's top-K list (only when some answer lacked letters).
  const unseen = unseenLettersSection(records);
  if (unseen) sections.push(unseen);

  // 8. Run summary.
  sections.push(runSummarySection(runSummary(manifest, m, records)));
  return sections;
}

/** report.md of a dilemma-suite run. */
export function renderDilemmaReport(
  manifest: Manifest,
  metrics: DilemmaMetrics,
  records: readonly DilemmaRecord[],
): string {
  const failed = failedQuestionsBlock(records);
  const lowMass = lowLetterMassBlock(records, minLetterMassOf(manifest.config));
  return renderReportDocument({
    title: `valuelens report: ${modelNameOf(manifest)} (dilemma suite)`,
    preface: [...(failed ? [failed.preface] : []), ...(lowMass ? [lowMass] : [])],
    sections: dilemmaReportSections(manifest, metrics, records),
    closing: [
      { heading: "Notes", before: [], bullets: [...notes(manifest, metrics), ...(failed ? [failed.note] : [])] },
      {
        heading: "Operational definitions (ours)",
        before: [
          "These are our operational definitions of the measures above for the 6-point protocol, not the paper's F1:",
        ],
        bullets: Object.values(metrics.definitions),
      },
    ],
  });
}

/** The report's tables as data (raw numbers), for `--format csv|json`. */
export function dilemmaReportTables(
  manifest: Manifest,
  metrics: DilemmaMetrics,
  records: readonly DilemmaRecord[],
): Table[] {
  return [...dilemmaReportSections(manifest, metrics, records).flatMap((s) => s.data), inputsTable(metrics)];
}
