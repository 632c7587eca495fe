/**
 * The preflight before a night run (`valuelens check --model M`): how the model's prompt is
 * built (template or chat wrapper, pinned variables, persona rule), the exact prompt of one
 * stated and one action question with and without a persona, the tokens each answer letter
 * maps to, then a few sample questions scored: how much of the probability the letters get,
 * and what the model wants to say instead when they do not.
 */
import type { Backend, LetterScores } from "../backends/backend.js";
import type { CudaReport } from "../backends/cuda.js";
import type { ViaDataset } from "../suites/via/dataset.js";
import { viaPersonaFor } from "../personas/runPersonas.js";
import { buildQuestions } from "../suites/via/questions.js";
import type { Question } from "../questions/question.js";
import { letterOfToken } from "../backends/http/letters.js";

export interface PromptSample {
  label: string;
  id: string;
  system?: string;
  /** The exact text the model evaluates (special tokens written as text). */
  text: string;
  /** Token count (undefined for backends that send messages, not tokens). */
  tokens?: number;
}

export interface ScoredSample {
  id: string;
  mass: number;
  top: { text: string; p: number };
  method: string;
}

export interface PreflightResult {
  backend: {
    engine: string;
    model: string;
    chatWrapper: string;
    reasoning: string;
    template?: unknown;
    /** Where the model runs: the GPU, CUDA's device, driver and binary, how letters are read (llama.cpp). */
    hardware?: Record<string, unknown>;
    /** A sliding-window model's window and how its cache is kept (llama.cpp). */
    slidingWindow?: { size: number; cache: string };
  };
  prompts: PromptSample[];
  /** Letter -> its single-token spellings (token id and text), where the backend knows them. */
  spellings?: Record<string, { id: number; text: string }[]>;
  scored: ScoredSample[];
  meanMass: number;
  minMass: number;
  /** The most frequent top tokens that are not a letter, with how often they were on top. */
  nonLetterTops: { text: string; count: number }[];
  verdict: string;
  ok: boolean;
}

/** A backend that can say which tokens spell each letter (llama.cpp, llama-server). */
interface SpellingBackend {
  letterSpellings(letters: string[]): Map<string, number[]>;
  tokenText?(token: number): string;
}

function hasSpellings(b: Backend): b is Backend & SpellingBackend {
  return typeof (b as Partial<SpellingBackend>).letterSpellings === "function";
}

/** Sample questions for the preflight: letters protocol, both tasks, spread over the dataset's scenarios. */
export function preflightQuestions(
  dataset: ViaDataset,
  samples: number,
  persona: string,
): { plain: Question[]; withPersona: Question[] } {
  const base = {
    protocol: "letters" as const,
    tasks: ["stated", "action"] as const,
    filter: {},
    repeats: 1,
    seed: 0,
    statedVariants: [0],
    actionVariants: [5],
    statedMaxTokens: 1024,
    actionMaxTokens: 256,
  };
  const all = buildQuestions(dataset, { ...base, tasks: [...base.tasks] });
  const personaFor = viaPersonaFor({ personas: [persona as never] });
  const withPersona = buildQuestions(dataset, { ...base, tasks: [...base.tasks], personaFor });
  // An even spread: every k-th question, alternating tasks as they come.
  const stated = all.filter((q) => q.task === "stated");
  const action = all.filter((q) => q.task === "action");
  const pick = (qs: Question[], n: number) =>
    qs.length <= n ? qs : Array.from({ length: n }, (_, i) => qs[Math.floor((i * qs.length) / n)]!);
  const plain = [...pick(stated, Math.ceil(samples / 2)), ...pick(action, Math.floor(samples / 2))];
  return {
    plain,
    withPersona: [withPersona.find((q) => q.task === "stated")!, withPersona.find((q) => q.task === "action")!].filter(
      Boolean,
    ),
  };
}

export async function preflight(
  backend: Backend,
  dataset: ViaDataset,
  opts: { samples: number; persona: string; minLetterMass: number },
): Promise<PreflightResult> {
  const { plain, withPersona } = preflightQuestions(dataset, opts.samples, opts.persona);
  const firstStated = plain.find((q) => q.task === "stated");
  const firstAction = plain.find((q) => q.task === "action");
  const prompts: PromptSample[] = [];
  const show = (label: string, q: Question | undefined) => {
    if (!q) return;
    const p = backend.prepare(q.segments, { mode: "letters", ...(q.system !== undefined ? { system: q.system } : {}) });
    prompts.push({
      label,
      id: q.id,
      ...(q.system !== undefined ? { system: q.system } : {}),
      text: p.text,
      ...(p.tokens.length > 0 ? { tokens: p.tokens.length } : {}),
    });
  };
  show("stated question", firstStated);
  show("action question", firstAction);
  show(
    `stated question, persona ${opts.persona}`,
    withPersona.find((q) => q.task === "stated"),
  );
  show(
    `action question, persona ${opts.persona}`,
    withPersona.find((q) => q.task === "action"),
  );

  const letters = [...new Set(plain.flatMap((q) => q.letters ?? []))].sort();
  let spellings: PreflightResult["spellings"];
  if (hasSpellings(backend)) {
    spellings = {};
    for (const [letter, ids] of backend.letterSpellings(letters)) {
      spellings[letter] = ids.map((id) => ({ id, text: backend.tokenText ? backend.tokenText(id) : letter }));
    }
  }

  const scored: ScoredSample[] = [];
  for (const q of plain) {
    const p = backend.prepare(q.segments, { mode: "letters", ...(q.system !== undefined ? { system: q.system } : {}) });
    const s: LetterScores = await backend.scoreLetters(p, q.letters!);
    scored.push({ id: q.id, mass: s.mass, top: s.topToken, method: s.method });
  }
  const masses = scored.map((s) => s.mass);
  const meanMass = masses.reduce((a, b) => a + b, 0) / Math.max(1, masses.length);
  const minMass = masses.length ? Math.min(...masses) : 0;
  const counts = new Map<string, number>();
  for (const s of scored) {
    if (letterOfToken(s.top.text, letters)) continue;
    counts.set(s.top.text, (counts.get(s.top.text) ?? 0) + 1);
  }
  const nonLetterTops = [...counts]
    .map(([text, count]) => ({ text, count }))
    .sort((a, b) => b.count - a.count || a.text.localeCompare(b.text))
    .slice(0, 5);
  const ok = meanMass >= opts.minLetterMass;
  const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
  const verdict = ok
    ? `letters get ${pct(meanMass)} of the probability (mean over ${scored.length} questions, min ${pct(minMass)}): ready for a run`
    : `letters get ${pct(meanMass)} of the probability (mean over ${scored.length} questions, below --min-letter-mass ${opts.minLetterMass})` +
      (nonLetterTops[0] ? `: the model starts with ${JSON.stringify(nonLetterTops[0].text)}` : "") +
      "; its answers would be mostly renormalized noise: check the prompt format and the chat template above";
  const template = (backend.info.outputOptions as { template?: unknown }).template;
  return {
    backend: {
      engine: backend.info.engine,
      model: backend.info.model.name,
      chatWrapper: backend.info.chatWrapper,
      reasoning: backend.info.reasoning,
      ...(template ? { template } : {}),
      ...(backend.info.hardware ? { hardware: backend.info.hardware } : {}),
      ...(backend.info.outputOptions.slidingWindow
        ? { slidingWindow: backend.info.outputOptions.slidingWindow as { size: number; cache: string } }
        : {}),
    },
    prompts,
    ...(spellings ? { spellings } : {}),
    scored,
    meanMass,
    minMass,
    nonLetterTops,
    verdict,
    ok,
  };
}

/** GPU, CUDA device / driver / binary and the letter read, as `check` prints them. */
function hardwareLines(h: Record<string, unknown> | undefined): string[] {
  if (!h) return [];
  const out: string[] = [];
  if (h.gpu !== undefined)
    out.push(
      `gpu: ${h.gpu === false ? "none (CPU)" : String(h.gpu)}${Array.isArray(h.gpuDevices) && h.gpuDevices.length ? ` (${h.gpuDevices.join(", ")})` : ""}`,
    );
  const cuda = h.cuda as CudaReport | undefined;
  if (cuda) {
    for (const d of cuda.devices)
      out.push(
        `cuda device: ${d.name}, compute capability ${d.computeCapability}, driver ${d.driver} (CUDA ${d.driverCuda ?? "unknown"}); runs ${d.runs ?? "unknown"}`,
      );
    if (cuda.binary)
      out.push(
        `cuda binary: ${cuda.binary.file}: SASS ${cuda.binary.sass.join(", ") || "none"}; PTX ${cuda.binary.ptx.join(", ") || "none"}`,
      );
  }
  if (typeof h.letters === "string") out.push(`letters: ${h.letters}`);
  return out;
}

/** The preflight as text for the terminal. */
export function formatPreflight(r: PreflightResult): string {
  const out: string[] = [];
  out.push(`model: ${r.backend.model} (${r.backend.engine})`);
  out.push(`prompt format: ${r.backend.chatWrapper}`);
  out.push(`reasoning: ${r.backend.reasoning}`);
  if (r.backend.template) out.push(`template: ${JSON.stringify(r.backend.template)}`);
  out.push(...hardwareLines(r.backend.hardware));
  if (r.backend.slidingWindow)
    out.push(
      `sliding window: ${r.backend.slidingWindow.size} tokens; KV cache kept ${r.backend.slidingWindow.cache} (prefix reuse exact)`,
    );
  for (const p of r.prompts) {
    out.push("", `--- ${p.label} (${p.id}${p.tokens !== undefined ? `, ${p.tokens} tokens` : ""}) ---`);
    out.push(p.text);
    out.push("--- end ---");
  }
  if (r.spellings) {
    out.push("", "letter spellings (token id: text):");
    for (const [letter, list] of Object.entries(r.spellings))
      out.push(`  ${letter}: ${list.map((s) => `${s.id}:${JSON.stringify(s.text)}`).join(", ")}`);
  }
  out.push(
    "",
    `scored ${r.scored.length} sample questions: letter mass mean ${r.meanMass.toFixed(4)}, min ${r.minMass.toFixed(4)}`,
  );
  if (r.nonLetterTops.length)
    out.push(
      `most frequent non-letter top tokens: ${r.nonLetterTops.map((t) => `${JSON.stringify(t.text)} x${t.count}`).join(", ")}`,
    );
  out.push("", `${r.ok ? "OK" : "WARNING"}: ${r.verdict}`);
  return out.join("\n") + "\n";
}
