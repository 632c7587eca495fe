/**
 * A model's own Jinja chat template (the GGUF's `tokenizer.chat_template`, or the one a
 * llama-server reports in /props), rendered by valuelens with the pinned variables.
 *
 * llama.cpp's server renders the same template with its own Jinja engine; valuelens renders
 * it here (with @huggingface/jinja) so that every backend that evaluates tokens (embedded
 * llama.cpp, llama-server's native API, Ollama's raw mode) gets the same text, whatever the
 * date or the server's defaults. Tests check the text against llama-server's /apply-template.
 */
import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";
import { sha256 } from "../util/hash.js";
import { FOLDED_SYSTEM_SEPARATOR, pinnedTemplateVariables, pinnedVariablesUsed, strftimePinned } from "./pinned.js";

export interface TemplateMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** An earlier turn of a conversation (a question's `history`): user or assistant. */
export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
}

/** What the manifest says about the template (and the cache key holds). */
export interface TemplateInfo {
  /** Where the template came from: "gguf" (the model file), "server" (llama-server /props). */
  source: string;
  sha256: string;
  /** The pinned variables this template reads, with their values. */
  pinned: Record<string, string | boolean>;
  /** "native": the template has a system role; "folded": a persona is prepended to the user message. */
  systemRole: "native" | "folded";
}

const PROBE_SYSTEM = "\u0001VALUELENS_SYSTEM\u0001";
const PROBE_USER = "\u0001VALUELENS_USER\u0001";

export class ChatTemplate {
  private readonly program: ReturnType<typeof parse>;
  readonly info: TemplateInfo;

  /**
   * @param bosToken, eosToken the vocabulary's BOS/EOS text (templates write `{{ bos_token }}`).
   * Throws if the template does not parse or cannot render a plain user turn.
   */
  constructor(
    readonly source: string,
    readonly bosToken: string,
    readonly eosToken: string,
    from: string,
  ) {
    this.program = parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true }));
    this.render([{ role: "user", content: PROBE_USER }]);
    this.info = {
      source: from,
      sha256: sha256(source),
      pinned: pinnedVariablesUsed(source),
      systemRole: this.probeSystemRole(),
    };
  }

  /** The template's text for these messages, with the generation prompt (the assistant turn's start). */
  render(messages: readonly TemplateMessage[], addGenerationPrompt = true): string {
    const env = new Environment();
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (message: unknown) => {
        throw new Error(`the chat template raised: ${String(message)}`);
      },
      range: (start: number, stop?: number, step = 1) => {
        const [a, b] = stop === undefined ? [0, start] : [start, stop];
        const out: number[] = [];
        for (let i = a; step > 0 ? i < b : i > b; i += step) out.push(i);
        return out;
      },
      strftime_now: (format: string) => strftimePinned(String(format)),
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      tools: null,
      ...pinnedTemplateVariables(),
    };
    for (const [name, value] of Object.entries(globals)) env.set(name, value);
    return new Interpreter(env).run(this.program).value as string;
  }

  /**
   * The messages a question becomes: a persona goes in a system message where the template has a
   * system role, and is otherwise prepended to the conversation's first user message (one rule
   * for every backend). `history`: earlier turns of a conversation, before the user message.
   */
  messages(user: string, system?: string, history: readonly ChatTurn[] = []): TemplateMessage[] {
    const turns: TemplateMessage[] = [...history.map((t) => ({ ...t })), { role: "user", content: user }];
    if (system === undefined || system === "") return turns;
    if (this.info.systemRole === "native") return [{ role: "system", content: system }, ...turns];
    const first = turns.findIndex((t) => t.role === "user");
    turns[first] = { role: "user", content: foldSystem(system, turns[first]!.content) };
    return turns;
  }

  /** A system message is native when the template renders it (without raising) and keeps its text. */
  private probeSystemRole(): "native" | "folded" {
    try {
      const text = this.render([
        { role: "system", content: PROBE_SYSTEM },
        { role: "user", content: PROBE_USER },
      ]);
      return text.includes(PROBE_SYSTEM) && text.indexOf(PROBE_SYSTEM) < text.indexOf(PROBE_USER) && !sameTurn(text)
        ? "native"
        : "folded";
    } catch {
      return "folded";
    }
  }
}

/** The persona, then the question, in one user message (templates without a system role). */
export function foldSystem(system: string, user: string): string {
  return `${system}${FOLDED_SYSTEM_SEPARATOR}${user}`;
}

/** A template that pastes the system text straight into the user turn (no separator of its own) has no system role of its own. */
function sameTurn(text: string): boolean {
  return text.includes(`${PROBE_SYSTEM}${PROBE_USER}`);
}
