// The labels the predict suite's tests learn from: a finished VIA letters run of the action
// questions on the tiny model (sample dataset, 2 repeats, seed 3). Callers assert on the result.
import { type CliResult, valuelens } from "./cli.js";
import { tinyModelPath } from "./models.js";

export async function tinyLabelsRun(out: string, extra: readonly string[] = []): Promise<CliResult> {
  await tinyModelPath();
  return valuelens([
    "run",
    "--model",
    "tiny",
    "--tasks",
    "action",
    "--repeats",
    "2",
    "--seed",
    "3",
    "--out",
    out,
    ...extra,
  ]);
}
