// Models and the answer cache live in one per-user place ($VALUELENS_CACHE_DIR, else
// $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens), never relative to the working directory.
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cacheRoot, defaultCacheDir, modelPaths } from "../../src/cli/common.js";
import { valuelens } from "../helpers/cli.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-cache-location-"));

/** A fresh, empty working directory and home for one case. */
function fresh(name: string): { cwd: string; home: string } {
  const cwd = path.join(work, name, "cwd");
  const home = path.join(work, name, "home");
  mkdirSync(cwd, { recursive: true });
  mkdirSync(home, { recursive: true });
  return { cwd, home };
}

/** `cache stats --json` run in `cwd` with only these cache variables ("" = unset). */
function stats(cwd: string, env: { VALUELENS_CACHE_DIR?: string; XDG_CACHE_HOME?: string; HOME: string }) {
  const r = valuelens(["cache", "stats", "--json"], {
    cwd,
    env: { VALUELENS_CACHE_DIR: "", XDG_CACHE_HOME: "", ...env },
  });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { dir: string; root: string; models: string; entries: number };
}

describe("cacheRoot", () => {
  const home = path.join(work, "unit-home");
  it("is $VALUELENS_CACHE_DIR, else an absolute $XDG_CACHE_HOME/valuelens, else ~/.cache/valuelens", () => {
    expect(cacheRoot({ VALUELENS_CACHE_DIR: "/v", XDG_CACHE_HOME: "/x", HOME: home })).toBe(path.resolve("/v"));
    expect(cacheRoot({ XDG_CACHE_HOME: "/x", HOME: home })).toBe(path.join("/x", "valuelens"));
    expect(cacheRoot({ VALUELENS_CACHE_DIR: "", XDG_CACHE_HOME: "/x", HOME: home })).toBe(path.join("/x", "valuelens"));
    // A relative XDG_CACHE_HOME is invalid (XDG spec) and ignored.
    expect(cacheRoot({ XDG_CACHE_HOME: "rel/cache", HOME: home })).toBe(path.join(home, ".cache", "valuelens"));
    expect(cacheRoot({ HOME: home })).toBe(path.join(home, ".cache", "valuelens"));
  });

  it("holds the answer cache, the models and the llama.cpp files; --cache-dir moves only the answers", () => {
    const env = { VALUELENS_CACHE_DIR: "/root-x" };
    expect(defaultCacheDir(env)).toBe(path.resolve("/root-x"));
    expect(modelPaths("/elsewhere", env)).toEqual({
      modelsDir: path.join(path.resolve("/root-x"), "models"),
      cacheDir: "/elsewhere",
      llamaCppDir: path.join(path.resolve("/root-x"), "llama.cpp"),
    });
  });
});

describe("the CLI's cache root does not depend on the working directory", () => {
  it("follows $VALUELENS_CACHE_DIR before $XDG_CACHE_HOME", () => {
    const { cwd, home } = fresh("valuelens-dir");
    const root = path.join(work, "valuelens-dir", "mine");
    const s = stats(cwd, {
      VALUELENS_CACHE_DIR: root,
      XDG_CACHE_HOME: path.join(work, "valuelens-dir", "xdg"),
      HOME: home,
    });
    expect(s).toMatchObject({ dir: root, root, models: path.join(root, "models"), entries: 0 });
    expect(existsSync(path.join(root, "answers"))).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
  });

  it("follows an absolute $XDG_CACHE_HOME", () => {
    const { cwd, home } = fresh("xdg");
    const xdg = path.join(work, "xdg", "xdg-cache");
    const root = path.join(xdg, "valuelens");
    expect(stats(cwd, { XDG_CACHE_HOME: xdg, HOME: home })).toMatchObject({
      dir: root,
      root,
      models: path.join(root, "models"),
    });
    expect(existsSync(path.join(root, "answers"))).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
  });

  it("ignores a relative $XDG_CACHE_HOME and falls back to ~/.cache/valuelens", () => {
    const { cwd, home } = fresh("xdg-relative");
    const root = path.join(home, ".cache", "valuelens");
    expect(stats(cwd, { XDG_CACHE_HOME: "rel-cache", HOME: home })).toMatchObject({ dir: root, root });
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a run of the built-in tiny model puts the model, the answers and the digests under ~/.cache/valuelens; --cache-dir moves only the answers", () => {
    const { cwd, home } = fresh("run");
    const root = path.join(home, ".cache", "valuelens");
    const env = { VALUELENS_CACHE_DIR: "", XDG_CACHE_HOME: "", HOME: home };
    const slice = [
      "run",
      "--model",
      "tiny",
      "--countries",
      "Nigeria",
      "--limit",
      "1",
      "--repeats",
      "1",
      "--progress",
      "quiet",
      "--bootstrap",
      "0",
    ];
    const first = valuelens([...slice, "--out", path.join(work, "run", "out-1")], { cwd, env });
    expect(first.code, first.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(path.join(root, "models"))).toEqual(["valuelens-tiny-f16-seed1.gguf"]);
    expect(readdirSync(path.join(root, "answers")).length).toBeGreaterThan(0);
    expect(existsSync(path.join(root, "model-digests.json"))).toBe(true);

    const answers = path.join(work, "run", "answers-elsewhere");
    const second = valuelens([...slice, "--out", path.join(work, "run", "out-2"), "--cache-dir", answers], {
      cwd,
      env,
    });
    expect(second.code, second.stderr).toBe(0);
    expect(readdirSync(path.join(answers, "answers")).length).toBeGreaterThan(0);
    expect(readdirSync(path.join(root, "models"))).toEqual(["valuelens-tiny-f16-seed1.gguf"]);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
