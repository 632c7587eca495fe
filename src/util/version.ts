import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./paths.js";

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const TOOL_VERSION = packageVersion();

export function toolVersions(engineVersion: string): Record<string, string> {
  return { valuelens: TOOL_VERSION, node: process.version, engine: engineVersion };
}
