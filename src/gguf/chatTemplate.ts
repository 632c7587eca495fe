// The ChatML chat template stored as tokenizer.chat_template.
//
// Rendered for [{system: S}, {user: U}] with add_generation_prompt:
//   <s><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n
// The leading BOS comes from `bos_token`, as in Llama 2 / Mistral templates; node-llama-cpp's
// ChatMLChatWrapper also starts with BOS, so the two render identically and node-llama-cpp
// resolves the specialised wrapper.

export const CHATML_TEMPLATE =
  "{{ bos_token }}" +
  "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** What CHATML_TEMPLATE renders to (without the BOS text), for tests and callers that build prompts directly. */
export function renderChatML(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  let out = "";
  for (const m of messages) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) out += "<|im_start|>assistant\n";
  return out;
}
