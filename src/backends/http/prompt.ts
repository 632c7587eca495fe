/**
 * Prompts for server backends: the server applies the chat template, so a prepared prompt is
 * the request's messages (and mode) as canonical JSON; no tokens, no segment boundaries.
 */
import type { PreparedPrompt, PromptMode } from "../backend.js";
import { canonicalJson } from "../../util/hash.js";

export interface ChatMessage {
  role: "system" | "user";
  content: string;
}

/**
 * `sent`: anything else the request carries that changes the prompt the server renders (e.g.
 * `chat_template_kwargs`), so that the cache key holds what the server was sent.
 */
export function prepareServerPrompt(
  segments: string[],
  opts: { system?: string; mode: PromptMode },
  sent: Record<string, unknown> = {},
): PreparedPrompt {
  const userMessage = segments.join("");
  const text = canonicalJson({ messages: messagesOf(userMessage, opts.system), mode: opts.mode, ...sent });
  return {
    text,
    tokens: [],
    segmentEnds: [],
    userMessage,
    ...(opts.system !== undefined ? { system: opts.system } : {}),
    mode: opts.mode,
  };
}

export function messagesOf(userMessage: string, system?: string): ChatMessage[] {
  return [
    ...(system !== undefined ? [{ role: "system" as const, content: system }] : []),
    { role: "user" as const, content: userMessage },
  ];
}
