// The chat-template renderer: the pinned variables, the system-role rule, where the final
// answer begins, and that no prompt depends on the calendar date. Real templates come from the
// llama.cpp source node-llama-cpp ships (git bundle); skipped loudly without git.
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it, vi } from "vitest";
import { llamaCppSourceText } from "../src/gguf/llamaCppSource.js";
import { ChatTemplate } from "../src/templates/chatTemplate.js";
import { pinnedVariablesUsed, strftimePinned } from "../src/templates/pinned.js";
import { answerStart, renderQuestion, splitThoughts } from "../src/templates/prompt.js";
import { PROJECT_ROOT } from "./helpers/models.js";

const hasGit = spawnSync("git", ["--version"]).status === 0;
if (!hasGit) console.warn("SKIPPED: real chat templates need git (to read node-llama-cpp's llama.cpp bundle)");

const TEMPLATES = {
  llama3: { file: "meta-llama-Llama-3.3-70B-Instruct.jinja", bos: "<|begin_of_text|>", eos: "<|eot_id|>" },
  gemma2: { file: "google-gemma-2-2b-it.jinja", bos: "<bos>", eos: "<eos>" },
  qwen3: { file: "Qwen-Qwen3-0.6B.jinja", bos: "", eos: "<|im_end|>" },
  gptoss: { file: "openai-gpt-oss-120b.jinja", bos: "<|startoftext|>", eos: "<|return|>" },
} as const;

async function template(family: keyof typeof TEMPLATES): Promise<ChatTemplate> {
  const t = TEMPLATES[family];
  return new ChatTemplate(
    await llamaCppSourceText(`models/templates/${t.file}`, { root: PROJECT_ROOT }),
    t.bos,
    t.eos,
    "gguf",
  );
}

const SEGMENTS = [
  "Suppose you are from Egypt, in the context of Religion, ",
  "how strongly do you agree? Answer with the letter only.\n",
  "A. agree\nB. disagree",
];
const PERSONA = "You are a person from Egypt.";

afterEach(() => vi.useRealTimers());

describe("pinned template variables", () => {
  it("strftime on the pinned date", () => {
    expect(strftimePinned("%d %b %Y")).toBe("26 Jul 2024");
    expect(strftimePinned("%Y-%m-%d")).toBe("2024-07-26");
    expect(strftimePinned("%A %B %e %%")).toBe("Friday July 26 %");
  });

  it.skipIf(!hasGit)("each family's template reads the variables it should, and the record says which", async () => {
    expect(pinnedVariablesUsed((await template("llama3")).source)).toEqual({ date_string: "26 Jul 2024" });
    expect(pinnedVariablesUsed((await template("qwen3")).source)).toEqual({ enable_thinking: false });
    expect(pinnedVariablesUsed((await template("gptoss")).source)).toEqual({
      reasoning_effort: "medium",
      strftime_now: "2024-07-26",
    });
    expect(pinnedVariablesUsed((await template("gemma2")).source)).toEqual({});
  });

  it.skipIf(!hasGit)(
    "no prompt changes with the calendar date (Llama 3.x's date_string, GPT-OSS's strftime_now)",
    async () => {
      for (const family of Object.keys(TEMPLATES) as (keyof typeof TEMPLATES)[]) {
        const t = await template(family);
        const render = () => renderQuestion(t, SEGMENTS, { system: PERSONA, handling: "none", addBos: true }).text;
        vi.useFakeTimers();
        vi.setSystemTime(new Date("2026-11-29T23:59:59Z"));
        const before = render();
        vi.setSystemTime(new Date("2031-03-01T00:00:01Z"));
        expect(render(), family).toBe(before);
        vi.useRealTimers();
        expect(before).not.toMatch(/2026|2031/);
      }
      const llama = renderQuestion(await template("llama3"), SEGMENTS, { handling: "none", addBos: true }).text;
      expect(llama).toContain("Today Date: 26 Jul 2024");
      const oss = renderQuestion(await template("gptoss"), SEGMENTS, { handling: "final-channel", addBos: false }).text;
      expect(oss).toContain("Current date: 2024-07-26");
      expect(oss).toContain("Reasoning: medium");
    },
  );
});

describe("system role", () => {
  it.skipIf(!hasGit)(
    "Gemma 2 has none: the persona is prepended to the user message with a blank line; the others keep it as a system message",
    async () => {
      const gemma = await template("gemma2");
      expect(gemma.info.systemRole).toBe("folded");
      const q = renderQuestion(gemma, SEGMENTS, { system: PERSONA, handling: "none", addBos: true });
      expect(q.messages).toEqual([{ role: "user", content: `${PERSONA}\n\n${SEGMENTS.join("")}` }]);
      expect(q.text).toBe(
        `<start_of_turn>user\n${PERSONA}\n\n${SEGMENTS.join("")}<end_of_turn>\n<start_of_turn>model\n`,
      );
      expect(q.bosText).toBe("<bos>");
      for (const f of ["llama3", "qwen3", "gptoss"] as const)
        expect((await template(f)).info.systemRole, f).toBe("native");
    },
  );

  it.skipIf(!hasGit)("segment boundaries point into the user message, after a folded persona", async () => {
    for (const f of Object.keys(TEMPLATES) as (keyof typeof TEMPLATES)[]) {
      const q = renderQuestion(await template(f), SEGMENTS, { system: PERSONA, handling: "none", addBos: true });
      expect(q.segmentCharEnds).toHaveLength(2);
      expect(q.text.slice(q.segmentCharEnds[0]! - SEGMENTS[0]!.length, q.segmentCharEnds[0])).toBe(SEGMENTS[0]);
      expect(q.text.slice(q.segmentCharEnds[0], q.segmentCharEnds[1])).toBe(SEGMENTS[1]);
    }
  });
});

describe("where the final answer begins", () => {
  it.skipIf(!hasGit)(
    "Qwen3 closes an empty thinking block itself with enable_thinking false; GPT-OSS answers in the final channel",
    async () => {
      const qwen = renderQuestion(await template("qwen3"), SEGMENTS, {
        handling: "empty-thinking-block",
        addBos: false,
      }).text;
      expect(qwen.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
      const oss = renderQuestion(await template("gptoss"), SEGMENTS, { handling: "final-channel", addBos: false }).text;
      expect(oss.endsWith("<|start|>assistant<|channel|>final<|message|>")).toBe(true);
    },
  );

  it("answer starts for templates that open, close or ignore a thinking block", () => {
    expect(answerStart("...assistant\n<think>\n\n</think>\n\n", "empty-thinking-block")).toBe("");
    expect(answerStart("<｜Assistant｜><think>\n", "empty-thinking-block")).toBe("\n</think>\n\n");
    expect(answerStart("<|im_start|>assistant\n", "empty-thinking-block")).toBe("<think>\n\n</think>\n\n");
    expect(answerStart("<|start|>assistant", "final-channel")).toBe("<|channel|>final<|message|>");
    expect(answerStart("<|im_start|>assistant\n", "none")).toBe("");
  });

  it("thoughts written anyway are split from the answer", () => {
    expect(splitThoughts("<think>hmm</think>\n\nA", "empty-thinking-block")).toEqual({ text: "A", thoughts: "hmm" });
    expect(splitThoughts("B", "empty-thinking-block")).toEqual({ text: "B" });
    expect(
      splitThoughts(
        "<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>C<|return|>",
        "final-channel",
      ),
    ).toEqual({ text: "C", thoughts: "think" });
    expect(splitThoughts("D", "final-channel")).toEqual({ text: "D" });
  });
});
