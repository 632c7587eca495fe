/** The VIA dataset the benches use: --via PATH, $VALUELENS_VIA, a fetched copy, ../shared, else the shipped sample. */
import { existsSync } from "node:fs";
import path from "node:path";
import { loadVia, SAMPLE_VIA_PATH, type ViaDataset } from "../src/suites/via/dataset.js";
import { packageRoot } from "../src/util/paths.js";

const root = packageRoot();
const SHARED_VIA = path.resolve(root, "../shared/datasets/via/value_action_gap_full_data_generation.csv");
const FETCHED_VIA = path.resolve(root, "datasets/cache/value_action_gap_full_data_generation.csv");

export async function benchDataset(explicit?: string): Promise<{ ds: ViaDataset; label: string; full: boolean }> {
  for (const candidate of [explicit, process.env.VALUELENS_VIA, FETCHED_VIA, SHARED_VIA]) {
    if (candidate && existsSync(candidate)) return { ds: await loadVia(candidate), label: candidate, full: true };
  }
  console.log(
    "note: no full VIA CSV found (pass --via PATH); benchmarking on the shipped sample, which has few values",
  );
  return { ds: await loadVia(SAMPLE_VIA_PATH), label: "sample", full: false };
}
