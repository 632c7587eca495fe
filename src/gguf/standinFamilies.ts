// The model families with a stand-in model (see standin.ts). Kept apart from standin.ts so
// that the model registry can name them without loading the GGUF generator.

/**
 * Families with a stand-in: a random-weight llama network carrying the family's tokenizer and
 * chat template, e.g. `--model standin:qwen3`.
 */
export const STANDIN_FAMILIES = ["llama3", "gemma2", "qwen3", "gptoss"] as const;
export type StandinFamily = (typeof STANDIN_FAMILIES)[number];

export function isStandinFamily(name: string): name is StandinFamily {
  return (STANDIN_FAMILIES as readonly string[]).includes(name);
}
