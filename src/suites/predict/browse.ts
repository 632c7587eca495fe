/**
 * The prediction suite's question browser (`Suite.browse`): one entry per test row and mode
 * (all its repeats), filtered by mode, country, topic, value, label and verdict. The verdict
 * says whether the prediction matches the label: letters predict True when the mean P(True)
 * over the repeats is above 0.5 (as the metrics do); a generated answer predicts what its parse
 * read.
 */
import type { BrowserData, BrowserItem } from "../../report/html/browser.js";
import { type BrowseInput, groupByQuestion, promptOf, repeatOf } from "../browse.js";
import type { SuiteDataset } from "../suite.js";
import type { PredictRecord } from "./record.js";
import { scoredRowsByMode, testRowKey } from "./report.js";

export function predictBrowse(input: BrowseInput<SuiteDataset, unknown, PredictRecord>): BrowserData {
  const { records, questions } = input;
  const scored = new Map(
    Object.entries(scoredRowsByMode(records)).flatMap(([mode, rows]) =>
      rows.map((row) => [`${mode}\u0000${row.key}`, row] as const),
    ),
  );
  const items: BrowserItem[] = groupByQuestion(records).map(({ id, records: rs }) => {
    const r0 = rs[0]!;
    const q = questions?.get(r0.id);
    // The prediction the metrics count (./report.ts scoredRowsByMode): letters' mean P(True)
    // over the repeats, exactly 0.5 a tie; generated answers' majority, a tie unparsed.
    const row = scored.get(`${r0.mode}\u0000${testRowKey(r0)}`);
    const predicted: boolean | null = row?.predicted ?? null;
    const generated = rs.some((r) => r.parsed !== undefined);
    const how =
      row === undefined
        ? ""
        : !generated && row.pTrue !== undefined && row.pTrue !== null
          ? `mean P(True) ${row.pTrue.toFixed(3)} over ${rs.length} repeat${rs.length === 1 ? "" : "s"}${predicted === null ? " (a tie)" : ""}`
          : predicted === null
            ? "the answer could not be read (or the repeats tie)"
            : `the answer reads ${predicted ? "True" : "False"}`;
    const verdict = predicted === null ? "unparsed" : predicted === r0.label ? "correct" : "wrong";
    return {
      id,
      fields: {
        mode: r0.mode,
        country: r0.country || "–",
        topic: r0.topic || "–",
        value: r0.value || "–",
        label: String(r0.label),
        verdict,
      },
      repeats: rs.map(repeatOf),
      ...(q ? { prompt: promptOf(q) } : {}),
      verdict,
      verdictNote: `label ${r0.label}; ${how || "no scored answer"}`,
    };
  });
  return {
    facets: [
      { key: "mode", label: "mode" },
      { key: "country", label: "country" },
      { key: "topic", label: "topic" },
      { key: "value", label: "value" },
      { key: "label", label: "label" },
      { key: "verdict", label: "verdict" },
    ],
    items,
    ...(questions
      ? {}
      : {
          note: "Prompts are not shown: the run's conversations could not be rebuilt (imported run, or its labels run or dataset is not on this machine).",
        }),
  };
}
