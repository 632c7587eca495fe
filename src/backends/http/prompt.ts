/**
 * Prompts for server backends: the server applies the chat template, so a prepared prompt is
 * the request's messages (and mode) as canonical JSON; no tokens, no segment boundaries.
 */
import type { PreparedPrompt, PromptMode } from "../backend.js";
import type { ChatTurn } from "../../templates/chatTemplate.js";
import { canonicalJson } from "../../util/hash.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * `sent`: anything else the request carries that changes the prompt the server renders (e.g.
 * `chat_template_kwargs`), so that the cache key holds what the server was sent.
 */
export function prepareServerPrompt(
  segments: string[],
  opts: { system?: string; mode: PromptMode; history?: readonly ChatTurn[] },
  sent: Record<string, unknown> = {},
): PreparedPrompt {
  const userMessage = segments.join("");
  const history = opts.history && opts.history.length > 0 ? opts.history : undefined;
  const text = canonicalJson({ messages: messagesOf(userMessage, opts.system, history), mode: opts.mode, ...sent });
  return {
    text,
    tokens: [],
    segmentEnds: [],
    userMessage,
    ...(opts.system !== undefined ? { system: opts.system } : {}),
    ...(history ? { history } : {}),
    mode: opts.mode,
  };
}

/** The request's messages: the system message, the earlier turns of a conversation, the user message. */
export function messagesOf(userMessage: string, system?: string, history?: readonly ChatTurn[]): ChatMessage[] {
  return [
    ...(system !== undefined ? [{ role: "system" as const, content: system }] : []),
    ...(history ?? []).map((t) => ({ role: t.role, content: t.content })),
    { role: "user" as const, content: userMessage },
  ];
}
