import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * The package root: the nearest folder at or above this module that holds a package.json.
 * Works the same from src/ (vitest, tsx) and from dist/ (compiled, node).
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** A path relative to the package root. */
export function fromPackageRoot(...parts: string[]): string {
  return resolve(packageRoot(), ...parts);
}
