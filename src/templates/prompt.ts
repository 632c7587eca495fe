/**
 * From a question's user message (as segments) and persona to the exact prompt text a model
 * evaluates: the chat template with the pinned variables, then where the final answer begins
 * (thinking off for `<think>` models, the final channel for harmony models).
 *
 * Shared by every backend that evaluates tokens, so the same question is the same text
 * everywhere; each backend only tokenizes it (as llama.cpp's server does: the leading BOS text
 * is dropped and the tokenizer adds BOS when the vocabulary asks for it, special tokens parsed).
 */
import type { ChatTemplate, ChatTurn, TemplateMessage } from "./chatTemplate.js";

/** How a reasoning model's final answer is reached (manifest: `reasoning`). */
export type ReasoningHandling = "none" | "empty-thinking-block" | "final-channel";

/** Which reasoning special tokens a vocabulary has (as special tokens, not ordinary text). */
export interface ReasoningTokens {
  think: boolean;
  harmony: boolean;
}

export function reasoningHandling(tokens: ReasoningTokens): ReasoningHandling {
  if (tokens.harmony) return "final-channel";
  if (tokens.think) return "empty-thinking-block";
  return "none";
}

/**
 * What follows the template's generation prompt so the answer's first token is the final
 * answer: nothing for ordinary models and for templates that already closed an empty thinking
 * block (Qwen3 with enable_thinking false); the rest of an empty block where a template opened
 * one (DeepSeek-R1 style); a whole empty block otherwise; the final channel for harmony.
 */
export function answerStart(generationPrompt: string, handling: ReasoningHandling): string {
  if (handling === "final-channel") return "<|channel|>final<|message|>";
  if (handling === "empty-thinking-block") {
    if (/<\/think>\s*$/.test(generationPrompt)) return "";
    if (/<think>\n?$/.test(generationPrompt))
      return generationPrompt.endsWith("\n") ? "\n</think>\n\n" : "\n\n</think>\n\n";
    return "<think>\n\n</think>\n\n";
  }
  return "";
}

export interface RenderedQuestion {
  /** The whole prompt text: template output plus the answer start. */
  text: string;
  /** The messages the template rendered (a persona folded into the user message where there is no system role). */
  messages: TemplateMessage[];
  /** Character offsets in `text` where each segment but the last ends (empty when the template rewrote the message). */
  segmentCharEnds: number[];
  /** The leading BOS text the template wrote and the tokenizer adds back (llama-server drops it before tokenizing). */
  bosText: string;
}

/**
 * `history`: earlier turns of a conversation, rendered by the template before the user message.
 * `answerPrefix`: text the assistant's answer starts with, after the answer start (the model
 * continues it; e.g. "Label: " so that the next token is the label).
 */
export function renderQuestion(
  template: ChatTemplate,
  segments: readonly string[],
  opts: {
    system?: string;
    handling: ReasoningHandling;
    addBos: boolean;
    history?: readonly ChatTurn[];
    answerPrefix?: string;
  },
): RenderedQuestion {
  const user = segments.join("");
  const messages = template.messages(user, opts.system, opts.history);
  const content = messages[messages.length - 1]!.content;
  const rendered = template.render(messages);
  let text = rendered + answerStart(rendered, opts.handling) + (opts.answerPrefix ?? "");
  let bosText = "";
  if (opts.addBos && template.bosToken !== "" && text.startsWith(template.bosToken)) {
    bosText = template.bosToken;
    text = text.slice(bosText.length);
  }
  // Where the user message's content sits in the text (after any folded persona).
  const at = text.lastIndexOf(content, rendered.length);
  const segmentCharEnds: number[] = [];
  if (at >= 0) {
    let offset = at + (content.length - user.length);
    for (const segment of segments.slice(0, -1)) {
      offset += segment.length;
      segmentCharEnds.push(offset);
    }
  }
  return { text, messages, segmentCharEnds, bosText };
}

/**
 * Segment boundaries in tokens: the end of each segment is where the tokenization of the text
 * up to it agrees with the whole prompt's (a token may straddle the boundary).
 */
export function segmentTokenEnds(
  tokens: readonly number[],
  charEnds: readonly number[],
  tokenizePrefix: (chars: number) => readonly number[],
): number[] {
  const ends: number[] = [];
  for (const chars of charEnds) {
    const partial = tokenizePrefix(chars);
    let end = commonPrefixLength(partial, tokens);
    if (end === partial.length) end = Math.min(end, tokens.length);
    const previous = ends[ends.length - 1] ?? 0;
    ends.push(Math.max(previous, end));
  }
  ends.push(tokens.length);
  return ends;
}

export function commonPrefixLength(a: readonly number[], b: readonly number[], limit = Infinity): number {
  const n = Math.min(a.length, b.length, limit);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * A generated answer (detokenized with its special tokens) split into the final answer and any
 * thoughts the model wrote anyway: a `<think>` block, or harmony channels before the final one.
 */
export function splitThoughts(raw: string, handling: ReasoningHandling): { text: string; thoughts?: string } {
  if (handling === "empty-thinking-block" && raw.includes("</think>")) {
    const close = raw.lastIndexOf("</think>");
    const thoughts = raw
      .slice(0, close)
      .replace(/^\s*<think>/, "")
      .trim();
    return { text: raw.slice(close + "</think>".length).replace(/^\s+/, ""), ...(thoughts ? { thoughts } : {}) };
  }
  if (handling === "final-channel") {
    const marker = "<|channel|>final<|message|>";
    const at = raw.lastIndexOf(marker);
    const strip = (t: string) => t.replace(/<\|(end|return|call)\|>\s*$/, "");
    if (at >= 0) {
      const thoughts = raw
        .slice(0, at)
        .replace(/<\|start\|>assistant/g, "")
        .replace(/<\|channel\|>\w+<\|message\|>/g, "")
        .replace(/<\|end\|>/g, "\n")
        .trim();
      return { text: strip(raw.slice(at + marker.length)), ...(thoughts ? { thoughts } : {}) };
    }
    return { text: strip(raw) };
  }
  return { text: raw };
}
