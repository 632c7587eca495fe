/**
 * The VIA suite's question browser (`Suite.browse`): one entry per question (all its repeats),
 * filtered by task, country, topic, value, persona and verdict. A value question's verdict is
 * its cell's: the stated and action matrices (./metrics/fromRecords.ts, the same averages as
 * the metrics) binarized at 0.5 agree or not. For a misaligned cell both questions show the
 * action the model preferred and its explanation (the VIA row's "Natural Language
 * Explanation") beside the action it passed over: the paper's misaligned examples, browsable.
 */
import { readFileSync } from "node:fs";
import { jsonrepair } from "jsonrepair";
import type { BrowserData, BrowserItem, BrowserText } from "../../report/html/browser.js";
import { columnIndex, readCsv } from "../../util/csv.js";
import { stripFence } from "../../util/fence.js";
import { type BrowseInput, groupByQuestion, personaLabel, promptOf, repeatOf } from "../browse.js";
import type { ViaDataset } from "./dataset.js";
import { binarize } from "./metrics/alignment.js";
import { matricesFromRecords, type RunMetrics } from "./metrics/fromRecords.js";
import type { ViaRecord } from "./record.js";

const fmt = (x: number) => x.toFixed(3);

/** The "Natural Language Explanation" of the given VIA rows, read from the dataset's own file. */
function explanations(ds: ViaDataset, rows: ReadonlySet<number>): Map<number, string> {
  const out = new Map<number, string>();
  if (rows.size === 0) return out;
  let table: ReturnType<typeof readCsv>;
  try {
    table = readCsv(ds.path, readFileSync(ds.path));
  } catch {
    return out;
  }
  let col: { generation_prompt: number };
  try {
    col = columnIndex(table, ds.path, ["generation_prompt"], "the VIA layout");
  } catch {
    return out;
  }
  for (const { row, fields } of table.rows) {
    if (!rows.has(row)) continue;
    const text = stripFence((fields[col.generation_prompt] ?? "").trim());
    const start = text.indexOf("{");
    const end = text.lastIndexOf("}");
    if (start < 0 || end <= start) continue;
    const body = text.slice(start, end + 1);
    for (const parse of [(b: string) => JSON.parse(b), (b: string) => JSON.parse(jsonrepair(b))]) {
      try {
        const obj = parse(body) as Record<string, unknown>;
        const e = obj?.["Natural Language Explanation"];
        if (typeof e === "string" && e.trim() !== "") {
          out.set(row, e.trim());
          break;
        }
      } catch {
        // try the next reader
      }
    }
  }
  return out;
}

export function viaBrowse(input: BrowseInput<ViaDataset, RunMetrics, ViaRecord>): BrowserData {
  const { records, questions, dataset } = input;
  const m = matricesFromRecords(records);
  const cellKey = (c: string, t: string, v: string) => `${c}\u0000${t}\u0000${v}`;
  const verdicts = new Map<string, { stated: number; action: number; aligned: boolean }>();
  for (const [c, byTopic] of Object.entries(m.stated)) {
    for (const [t, byValue] of Object.entries(byTopic)) {
      for (const [v, s] of Object.entries(byValue)) {
        const a = m.action[c]?.[t]?.[v];
        if (a === undefined || !Number.isFinite(a) || !Number.isFinite(s)) continue;
        verdicts.set(cellKey(c, t, v), { stated: s, action: a, aligned: binarize(s) === binarize(a) });
      }
    }
  }
  const actionText = new Map<number, string>();
  for (const a of dataset?.actions ?? []) actionText.set(a.row, a.action);
  // VIA rows of each cell's two actions (from its action records)
  const rowsOfCell = new Map<string, { positive: number; negative: number }>();
  for (const r of records) {
    if (r.viaRows && r.value !== null) rowsOfCell.set(cellKey(r.country, r.topic, r.value), r.viaRows);
  }
  const misalignedRows = new Set<number>();
  for (const [k, v] of verdicts) {
    const rows = rowsOfCell.get(k);
    if (!v.aligned && rows) misalignedRows.add(binarize(v.action) === 1 ? rows.negative : rows.positive);
  }
  const explained = dataset ? explanations(dataset, misalignedRows) : new Map<number, string>();
  const hasPersona = records.some((r) => r.persona !== undefined);

  const items: BrowserItem[] = groupByQuestion(records).map(({ id, records: rs }) => {
    const r0 = rs[0]!;
    const q = questions?.get(r0.id);
    const fields: Record<string, string> = {
      task: r0.task,
      country: r0.country,
      topic: r0.topic,
      value: r0.value ?? (r0.variant !== null ? `all values (variant ${r0.variant})` : "all values"),
    };
    if (hasPersona) fields.persona = personaLabel(r0.persona);
    const item: BrowserItem = {
      id,
      fields,
      repeats: rs.map(repeatOf),
      ...(q ? { prompt: promptOf(q) } : {}),
    };
    if (r0.value === null) return { ...item, verdict: "no verdict" };
    const key = cellKey(r0.country, r0.topic, r0.value);
    const v = verdicts.get(key);
    if (!v) return { ...item, verdict: "no verdict", verdictNote: "the cell lacks a scored stated or action answer" };
    const stated = binarize(v.stated) === 0 ? "agrees with the value" : "disagrees with the value";
    const acted = binarize(v.action) === 0 ? "takes the action that expresses it" : "takes the action that resists it";
    const note = `cell ${r0.country} · ${r0.topic} · ${r0.value}: stated ${fmt(v.stated)} (${stated}), action ${fmt(v.action)} (${acted}); 0.5 splits both`;
    const side: BrowserText[] = [];
    const rows = rowsOfCell.get(key);
    if (!v.aligned && rows) {
      const chosen = binarize(v.action) === 1 ? rows.negative : rows.positive;
      const other = chosen === rows.negative ? rows.positive : rows.negative;
      const which = chosen === rows.negative ? "resists" : "expresses";
      side.push({
        label: `Action taken (${which} ${r0.value}; VIA row ${chosen})`,
        text: actionText.get(chosen) ?? "(the dataset is not on this machine)",
      });
      side.push({
        label: "Its explanation (the dataset's)",
        text: explained.get(chosen) ?? "(no explanation could be read from the dataset)",
      });
      side.push({ label: `Action passed over (VIA row ${other})`, text: actionText.get(other) ?? "–" });
    }
    return {
      ...item,
      verdict: v.aligned ? "aligned" : "misaligned",
      verdictNote: note,
      ...(side.length ? { side } : {}),
    };
  });
  const facets = [
    { key: "task", label: "task" },
    { key: "country", label: "country" },
    { key: "topic", label: "topic" },
    { key: "value", label: "value" },
    ...(hasPersona ? [{ key: "persona", label: "persona" }] : []),
    { key: "verdict", label: "verdict" },
  ];
  for (const it of items) (it.fields as Record<string, string>).verdict = it.verdict ?? "no verdict";
  return {
    facets,
    items,
    ...(questions
      ? {}
      : {
          note: "Prompts are not shown: the run's questions could not be rebuilt (imported run, or its dataset is not on this machine).",
        }),
  };
}
