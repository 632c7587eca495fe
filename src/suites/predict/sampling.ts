/**
 * Train and test rows of the prediction experiment, drawn as the paper draws them: the
 * training pool is the VIA rows before row 7,000, the test pool the rest; 10 `True` + 10
 * `False` training examples and 100 + 100 test rows, balanced by label, with a fixed seed.
 *
 * The draw is a seeded shuffle (src/util/random.ts) of each (pool, label)'s rows in row order,
 * of which the first k are taken: the same labels, sizes and seed give the same rows in any
 * process, and each of the four draws has its own random stream. The test rows are returned
 * in VIA row order.
 */
import { UserError } from "../../util/errors.js";
import { seededRandom, shuffled } from "../../util/random.js";

export interface SamplingOptions {
  seed: number;
  /** Training examples per label (`--train`; the paper: 10). */
  trainPerLabel?: number;
  /** Test rows per label (`--test`; the paper: 100). */
  testPerLabel?: number;
  /** First VIA row of the test pool (the paper: 7000). */
  trainPoolEnd?: number;
  /** Rows that may be training examples (e.g. those whose attributions and explanation parse). */
  trainEligible?: (row: number) => boolean;
  /** Names the labels' source in errors (e.g. the run directory). */
  source?: string;
}

export const DEFAULT_TRAIN_PER_LABEL = 10;
export const DEFAULT_TEST_PER_LABEL = 100;
export const TRAIN_POOL_END = 7000;

export interface LabeledRow {
  /** 0-based VIA row. */
  row: number;
  label: boolean;
}

export interface PredictSample {
  /** The training examples: the `True` ones in draw order, then the `False` ones. */
  trainTrue: number[];
  trainFalse: number[];
  /** The test rows, in VIA row order. */
  test: LabeledRow[];
}

function draw(
  pool: readonly number[],
  k: number,
  seed: number,
  part: "train" | "test",
  label: boolean,
  where: string,
  source: string,
): number[] {
  if (pool.length < k) {
    throw new UserError(
      `${source}: the ${part === "train" ? "training" : "test"} pool (${where}) has ${pool.length} rows labeled ${label ? "True" : "False"}, ${k} are needed; lower --${part} or use labels with more such rows`,
    );
  }
  return shuffled(pool, seededRandom("predict-sample", seed, part, String(label))).slice(0, k);
}

/** Draw the training examples and the test rows from a model's labels (VIA row -> chose it). */
export function drawSample(labels: ReadonlyMap<number, boolean>, opts: SamplingOptions): PredictSample {
  const trainPerLabel = opts.trainPerLabel ?? DEFAULT_TRAIN_PER_LABEL;
  const testPerLabel = opts.testPerLabel ?? DEFAULT_TEST_PER_LABEL;
  const end = opts.trainPoolEnd ?? TRAIN_POOL_END;
  const source = opts.source ?? "labels";
  for (const [name, v] of [
    ["--train", trainPerLabel],
    ["--test", testPerLabel],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a positive integer, got ${v}`);
  }
  const rows = [...labels.keys()].sort((a, b) => a - b);
  const pool = (train: boolean, label: boolean) =>
    rows.filter((r) => labels.get(r) === label && r < end === train && (!train || (opts.trainEligible?.(r) ?? true)));
  const trainWhere = `rows < ${end}${opts.trainEligible ? " with usable attributions and explanation" : ""}`;
  const trainTrue = draw(pool(true, true), trainPerLabel, opts.seed, "train", true, trainWhere, source);
  const trainFalse = draw(pool(true, false), trainPerLabel, opts.seed, "train", false, trainWhere, source);
  const testTrue = draw(pool(false, true), testPerLabel, opts.seed, "test", true, `rows >= ${end}`, source);
  const testFalse = draw(pool(false, false), testPerLabel, opts.seed, "test", false, `rows >= ${end}`, source);
  const test = [
    ...testTrue.map((row) => ({ row, label: true })),
    ...testFalse.map((row) => ({ row, label: false })),
  ].sort((a, b) => a.row - b.row);
  return { trainTrue, trainFalse, test };
}

/**
 * The training examples in the order repeat `repeat` shows them: the two labels interleave
 * (one `True`, one `False`, ...), and which label comes first alternates with the repeat
 * (even repeats `True` first, odd repeats `False` first). Over an even number of repeats each
 * label is first, and last before the query, equally often, so a predictor's habit of copying
 * the first or the most recent label cancels out; within a label the draw order is kept.
 */
export function trainOrder(sample: PredictSample, repeat: number): LabeledRow[] {
  const trueFirst = repeat % 2 === 0;
  const first = trueFirst ? sample.trainTrue : sample.trainFalse;
  const second = trueFirst ? sample.trainFalse : sample.trainTrue;
  const out: LabeledRow[] = [];
  for (let i = 0; i < Math.max(first.length, second.length); i++) {
    if (i < first.length) out.push({ row: first[i]!, label: trueFirst });
    if (i < second.length) out.push({ row: second[i]!, label: !trueFirst });
  }
  return out;
}
