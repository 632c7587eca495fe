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

export function predictBrowse(input: BrowseInput<SuiteDataset, unknown, PredictRecord>): BrowserData {
  const { records, questions } = input;
  const items: BrowserItem[] = groupByQuestion(records).map(({ id, records: rs }) => {
    const r0 = rs[0]!;
    const q = questions?.get(r0.id);
    const scores = rs.map((r) => r.score).filter((s): s is number => s !== null);
    const generated = rs.some((r) => r.parsed !== undefined);
    let predicted: boolean | null = null;
    let how = "";
    if (generated) {
      const p = rs.find((r) => r.parsed?.ok)?.parsed;
      predicted = p?.ok ? p.chosen === "True" : null;
      how = predicted === null ? "the answer could not be read" : `the answer reads ${predicted ? "True" : "False"}`;
    } else if (scores.length) {
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      predicted = mean > 0.5;
      how = `mean P(True) ${mean.toFixed(3)} over ${scores.length} repeats`;
    }
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
