// A whole run on the tiny model: records, cache reuse, crash safety and resume, report.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../src/records/manifest.js";
import { deterministicPart, readRecords } from "../src/records/records.js";
import { valuelens, valuelensSpawn } from "./helpers/cli.js";
import { tinyModelPath } from "./helpers/models.js";

const SLICE = [
  "--model",
  "tiny",
  "--countries",
  "Nigeria,Germany",
  "--repeats",
  "3",
  "--seed",
  "11",
  "--progress",
  "quiet",
];

function records(dir: string) {
  return readRecords(path.join(dir, "records.jsonl")).records;
}
function deterministic(dir: string) {
  return records(dir).map(deterministicPart);
}

describe("valuelens run (tiny model, sample data)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "vl-run-"));
  const first = path.join(work, "first");
  const cacheA = path.join(work, "cache-a");

  beforeAll(async () => {
    await tinyModelPath();
    const r = valuelens(["run", ...SLICE, "--out", first, "--cache-dir", cacheA]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("writes manifest, records, metrics and a report that leads with the country table", () => {
    const manifest = readManifest(first)!;
    expect(manifest.status).toBe("complete");
    expect(manifest.backend.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.config.seed).toBe(11);
    const recs = records(first);
    expect(recs.length).toBe(manifest.questions.total);
    expect(recs.length % 3).toBe(0);
    for (const r of recs) {
      expect(r.letters!.mass).toBeGreaterThan(0);
      const sum = Object.values(r.optionProbs!).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 12);
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    // Each repeat shows its own order; the action task cycles through both orders.
    const action = recs.filter((r) => r.task === "action");
    const byQuestion = new Map<string, string[]>();
    for (const r of action)
      byQuestion.set(r.id.replace(/\/r\d+$/, ""), [
        ...(byQuestion.get(r.id.replace(/\/r\d+$/, "")) ?? []),
        r.order.join(","),
      ]);
    for (const orders of byQuestion.values()) expect(new Set(orders.slice(0, 2)).size).toBe(2);

    const metrics = JSON.parse(readFileSync(path.join(first, "metrics.json"), "utf8"));
    expect(typeof metrics.alignmentRate.overall).toBe("number");
    expect(Object.keys(metrics.alignmentRate.byCountry).sort()).toEqual(["Germany", "Nigeria"]);
    expect(metrics.alignmentRate.byTopic).toBeTypeOf("object");
    expect(metrics.alignmentDistance.byCountry.Nigeria).toBeTypeOf("object");
    expect(metrics.inconsistency).toHaveProperty("AD");
    expect(metrics.inconsistency).toHaveProperty("DA");
    const report = readFileSync(path.join(first, "report.md"), "utf8");
    const firstTable = report.split("\n").find((l) => l.startsWith("|"));
    expect(firstTable).toContain("| US | CA | GER | UK | FR | AUS | IND | PAK | PHIL | NGA | EG | UG |");
    // The country x topic heatmap, linked from the report.
    const svg = readFileSync(path.join(first, "charts", "alignment-rate-by-country-and-topic.svg"), "utf8");
    for (const label of ["NGA", "GER", "Alignment rate (F1) by country and topic"]) expect(svg).toContain(label);
    expect(report).toContain(
      "![Alignment rate (F1) by country and topic](charts/alignment-rate-by-country-and-topic.svg)",
    );
  });

  it("re-running a finished run evaluates nothing and rewrites the report", () => {
    const before = readFileSync(path.join(first, "records.jsonl"));
    writeFileSync(path.join(first, "report.md"), "stale");
    const r = valuelens(["run", ...SLICE, "--out", first, "--cache-dir", cacheA]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 answered");
    expect(readFileSync(path.join(first, "records.jsonl"))).toEqual(before);
    expect(readFileSync(path.join(first, "report.md"), "utf8")).not.toBe("stale");
  });

  it("a second run of the same config in a new directory makes zero model evaluations", () => {
    const second = path.join(work, "second");
    const r = valuelens(["run", ...SLICE, "--out", second, "--cache-dir", cacheA]);
    expect(r.code).toBe(0);
    const manifest = readManifest(second)!;
    expect(manifest.sessions.at(-1)!.evaluations).toBe(0);
    expect(manifest.sessions.at(-1)!.cacheHits).toBe(manifest.questions.total);
    expect(records(second).every((x) => x.meta.cacheHit)).toBe(true);
    expect(deterministic(second)).toEqual(deterministic(first));
  });

  it("refuses to mix configs in one run directory", () => {
    const r = valuelens(["run", ...SLICE, "--seed", "12", "--out", first, "--cache-dir", cacheA]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("seed");
  });

  it("SIGKILL mid-run, then --resume, ends with exactly the records of an uninterrupted run", async () => {
    const killed = path.join(work, "killed");
    const cacheB = path.join(work, "cache-b"); // a cold cache: the resumed run computes for real
    const child = valuelensSpawn(["run", ...SLICE, "--out", killed, "--cache-dir", cacheB]);
    const file = path.join(killed, "records.jsonl");
    const total = records(first).length;
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").length - 1 : 0;
        if (lines >= Math.floor(total / 3)) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      }, 20);
      child.on("exit", (code) => {
        clearInterval(timer);
        if (code !== null) reject(new Error(`run finished before it could be killed (exit ${code})`));
      });
    });
    await new Promise((r) => child.once("close", r));
    const partial = records(killed).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(total);
    expect(readManifest(killed)!.status).toBe("running");

    const refused = valuelens(["run", ...SLICE, "--out", killed, "--cache-dir", cacheB]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--resume");

    const resumed = valuelens(["run", ...SLICE, "--out", killed, "--cache-dir", cacheB, "--resume"]);
    expect(resumed.code).toBe(0);
    expect(readManifest(killed)!.status).toBe("complete");
    expect(deterministic(killed)).toEqual(deterministic(first));
    const ids = records(killed).map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a torn last record is cut and asked again on --resume", () => {
    const torn = path.join(work, "torn");
    valuelens(["run", ...SLICE, "--out", torn, "--cache-dir", cacheA]);
    const file = path.join(torn, "records.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    // Keep half the records, then half of the next line, as a crash mid-write leaves it.
    const keep = Math.floor(lines.length / 2);
    writeFileSync(file, lines.slice(0, keep).join("\n") + "\n");
    appendFileSync(file, lines[keep]!.slice(0, 40));
    const m = JSON.parse(readFileSync(path.join(torn, "manifest.json"), "utf8"));
    m.status = "interrupted";
    writeFileSync(path.join(torn, "manifest.json"), JSON.stringify(m));
    expect(statSync(file).size).toBeGreaterThan(0);
    const r = valuelens(["run", ...SLICE, "--out", torn, "--cache-dir", cacheA, "--resume"]);
    expect(r.code).toBe(0);
    expect(deterministic(torn)).toEqual(deterministic(first));
  });

  it("valuelens report recomputes metrics and prints the report", () => {
    const r = valuelens(["report", first]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("| model | US | CA |");
  });
});
