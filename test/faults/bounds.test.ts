// Bad inputs that used to hang or crash (issue 22): each is one line and a non-zero exit, fast.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadVia, SAMPLE_VIA_PATH } from "../../src/suites/via/dataset.js";
import { valuelens } from "../helpers/cli.js";
import { PROJECT_ROOT } from "../helpers/models.js";
import { oneLineError } from "./helpers.js";

const work = mkdtempSync(path.join(tmpdir(), "vl-bounds-"));
const SMALL = ["--model", "tiny", "--limit", "1", "--repeats", "1", "--progress", "quiet"];

describe("bounds and paths that used to hang or crash", () => {
  it("an --out under /proc (Node's recursive mkdir spins there) and under a dangling symbolic link", () => {
    oneLineError(
      valuelens(["run", ...SMALL, "--via", "sample", "--out", "/proc/valuelens-x/run"]),
      "/proc/valuelens-x",
    );
    const link = path.join(work, "dangling");
    symlinkSync(path.join(work, "no-such-dir"), link);
    oneLineError(
      valuelens(["run", ...SMALL, "--via", "sample", "--out", path.join(link, "run")]),
      "a directory on the way is missing",
    );
  });

  it("--bootstrap 1e9 is refused before anything runs", () => {
    const out = path.join(work, "boot");
    const r = valuelens(["run", ...SMALL, "--via", "sample", "--bootstrap", "1000000000", "--out", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--bootstrap must be at most 100000, got 1000000000");
    expect(existsSync(out)).toBe(false);
  });

  it("a non-UTF-8 byte or a NUL byte in a dataset names the line", async () => {
    const lines = readFileSync(SAMPLE_VIA_PATH);
    const third = lines.indexOf(10, lines.indexOf(10) + 1) + 5; // inside line 3
    for (const [name, byte, needle] of [
      ["latin1.csv", 0xe9, /line 3, byte \d+ \(0xe9\) is not UTF-8 text; save the file as UTF-8/],
      ["nul.csv", 0x00, /line 3, byte \d+ is a NUL byte/],
    ] as const) {
      const file = path.join(work, name);
      const bytes = Buffer.from(lines);
      bytes[third] = byte;
      writeFileSync(file, bytes);
      oneLineError(valuelens(["run", ...SMALL, "--via", file, "--out", path.join(work, `run-${name}`)]), file, needle);
    }
    copyFileSync(SAMPLE_VIA_PATH, path.join(work, "ok.csv")); // the sample itself is clean text
    expect((await loadVia(path.join(work, "ok.csv"))).actions.length).toBeGreaterThan(0);
  });

  it("a merge killed before its manifest leaves an --out the next merge replaces; other content is still refused", () => {
    const fixtures = path.join(PROJECT_ROOT, "test", "fixtures", "runs");
    const shards = ["via-letters-shard1-of-2", "via-letters-shard2-of-2"].map((n) => path.join(fixtures, n));
    const out = path.join(work, "merged-after-kill");
    mkdirSync(out);
    writeFileSync(path.join(out, ".merge-incomplete"), "12345\n");
    writeFileSync(path.join(out, "records.jsonl"), readFileSync(path.join(shards[0]!, "records.jsonl")));
    const r = valuelens(["merge", ...shards, "--out", out, "--bootstrap", "0"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("held the records of a merge that was killed before it finished");
    expect(existsSync(path.join(out, ".merge-incomplete"))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")).status).toBe("complete");
    // records.jsonl without the marker is someone's data: refused, untouched.
    const other = path.join(work, "merged-into-records");
    mkdirSync(other);
    writeFileSync(path.join(other, "records.jsonl"), "x\n");
    oneLineError(valuelens(["merge", ...shards, "--out", other]), "already exists and is not empty");
    expect(readFileSync(path.join(other, "records.jsonl"), "utf8")).toBe("x\n");
  });
});
