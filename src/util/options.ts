/** Parsers of command-line option values, shared by the CLI and the suites' own options. */
import { InvalidArgumentError } from "commander";

export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}, got ${value}`);
    return n;
  };
}

/**
 * The most bootstrap resamples valuelens accepts: 100,000 (the default is 1,000). More would not
 * change a 95% interval's digits, and 1e9 exhausts memory (V8 fatal error) after the run.
 */
export const MAX_BOOTSTRAP = 100_000;

/** `--bootstrap <n>`: 0 (no intervals) to MAX_BOOTSTRAP. */
export const bootstrapOption = intOption("--bootstrap", 0, MAX_BOOTSTRAP);

export function listOption(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
