// The folders of src/ form layers: no folder imports a folder that imports it back (directly or
// through others), and the engine and the CLI never import a suite's folder (src/suites/<name>/):
// they reach suites through the registry (src/suites/registry.ts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../helpers/models.js";

const SRC = path.join(PROJECT_ROOT, "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return tsFiles(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

/**
 * The layer a file belongs to: src/<folder>; within src/suites, each suite's folder
 * (suites/<name>), the registry above them (suites/registry: registry.ts, runQuestions.ts) and
 * what suites share below them (suites: the Suite interface and helpers).
 */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return "(root)";
  if (parts[0] === "suites" && parts.length > 2) return `suites/${parts[1]}`;
  if (parts[0] === "suites" && ["registry.ts", "runQuestions.ts"].includes(parts[1]!)) return "suites/registry";
  return parts[0]!;
}

/** Relative imports of a file (static, dynamic and type-only), resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g))
    out.push(path.resolve(path.dirname(file), `${m[1]}.ts`));
  return out;
}

const files = tsFiles(SRC);
const edges = new Map<string, Map<string, string>>(); // folder -> folder -> an example "a.ts -> b.ts"
for (const file of files) {
  const from = folderOf(file);
  for (const target of importsOf(file)) {
    const to = folderOf(target);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const example = `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`;
    if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, example);
  }
}

/** A path of folder imports from `a` back to `a`, or undefined. */
function cycleThrough(start: string): string[] | undefined {
  const stack: string[][] = [[start]];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const route = stack.pop()!;
    const last = route[route.length - 1]!;
    for (const next of edges.get(last)?.keys() ?? []) {
      if (next === start) return [...route, next];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push([...route, next]);
      }
    }
  }
  return undefined;
}

describe("src/ layers", () => {
  it("no import cycle between folders", () => {
    const cycles: string[] = [];
    for (const folder of edges.keys()) {
      const cycle = cycleThrough(folder);
      if (cycle) {
        const steps = cycle.slice(1).map((to, i) => edges.get(cycle[i]!)!.get(to)!);
        cycles.push(`${cycle.join(" -> ")}: ${steps.join("; ")}`);
      }
    }
    expect(cycles).toEqual([]);
  });

  it("the engine and the CLI reach suites only through the registry", () => {
    const engine = ["runner", "runs", "cli", "cache", "backends", "questions", "records"];
    const offending = files
      .filter((f) => engine.includes(folderOf(f)))
      .flatMap((f) =>
        importsOf(f)
          .filter((t) => folderOf(t).startsWith("suites/") && folderOf(t) !== "suites/registry")
          .map((t) => `${path.relative(SRC, f)} -> ${path.relative(SRC, t)}`),
      );
    expect(offending).toEqual([]);
  });
});
