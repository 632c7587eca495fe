// A vitest reporter (registered next to "default" in vitest.config.ts): at the end of every run,
// one line saying how many fidelity tests (tagged "fidelity": they need ../shared, see
// test/helpers/shared.ts) ran and how many were skipped; at the start, a warning when ../shared is
// missing, since a green run without it does not check fidelity.
import { existsSync } from "node:fs";
import type { Reporter, TestModule, Vitest } from "vitest/node";
import { FIDELITY_TAG, SHARED_DIR } from "./shared.js";

/** How many skipped fidelity tests the summary names when ../shared is there (so they were not expected). */
const LIST_AT_MOST = 10;

export interface FidelityCount {
  ran: number;
  failed: number;
  skipped: string[];
}

/** Counts the fidelity tests of a run: those that ran (passed or failed) and the others (skipped). */
export function countFidelity(testModules: ReadonlyArray<TestModule>): FidelityCount {
  const count: FidelityCount = { ran: 0, failed: 0, skipped: [] };
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      if (!test.tags.includes(FIDELITY_TAG)) continue;
      const state = test.result().state;
      if (state === "passed" || state === "failed") {
        count.ran++;
        if (state === "failed") count.failed++;
      } else {
        // "skipped", or "pending": a test in a skipped suite nested in another skipped suite is
        // never marked skipped, but it did not run either.
        count.skipped.push(`${module.relativeModuleId} > ${test.fullName}`);
      }
    }
  }
  return count;
}

/** The summary line (and, when ../shared is there but some were skipped anyway, which ones). */
export function fidelitySummary(count: FidelityCount, sharedFound: boolean, sharedDir = SHARED_DIR): string {
  const ran = `${count.ran} ran${count.failed ? ` (${count.failed} failed)` : ""}`;
  const head = `fidelity tests against ../shared: ${ran}, ${count.skipped.length} skipped`;
  if (!sharedFound) return `${head}: ../shared not found at ${sharedDir} — these results do not check fidelity`;
  const lines = [`${head} (../shared found at ${sharedDir})`];
  if (count.skipped.length > 0) {
    lines.push("  skipped although ../shared is there (see the SKIPPED warnings above):");
    for (const name of count.skipped.slice(0, LIST_AT_MOST)) lines.push(`    ${name}`);
    if (count.skipped.length > LIST_AT_MOST) lines.push(`    ... and ${count.skipped.length - LIST_AT_MOST} more`);
  }
  return lines.join("\n");
}

export class FidelityReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunStart(): void {
    if (!existsSync(SHARED_DIR))
      this.warn(
        `WARNING: ../shared not found at ${SHARED_DIR}: the fidelity tests (byte-exact prompts, values.json, ` +
          "the released VIA CSV and outputs, the prebuilt llama-server) will be SKIPPED; this run does not check fidelity",
      );
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const found = existsSync(SHARED_DIR);
    const count = countFidelity(testModules);
    const text = fidelitySummary(count, found);
    if (found && count.skipped.length === 0) this.log(text);
    else this.warn(text);
  }

  private log(text: string): void {
    if (this.vitest) this.vitest.logger.log(text);
    else console.log(text);
  }

  private warn(text: string): void {
    if (this.vitest) this.vitest.logger.warn(text);
    else console.warn(text);
  }
}
