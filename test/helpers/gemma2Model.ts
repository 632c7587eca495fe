// A random-weight gemma2-ARCHITECTURE model with a small sliding window (the family stand-ins are
// llama-architecture networks): the tiny model's vocabulary and ChatML template, Gemma 2's
// network (post-attention and post-FFN norms, logit soft-capping, sliding-window attention on
// every other layer). For the SWA prefix-reuse regression test (test/swa.test.ts).
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import {
  gguf,
  llamaModelFile,
  testModelSpec,
  writeGguf,
  type GgufTensor,
  type GgufValue,
} from "../../src/gguf/index.js";
import { PROJECT_ROOT } from "./models.js";

export async function gemma2SwaModelPath(window: number): Promise<string> {
  const dir = path.join(PROJECT_ROOT, ".cache", "models");
  const file = path.join(dir, `valuelens-test-gemma2-swa${window}-f32.gguf`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const spec = testModelSpec("tiny", { type: "f32" });
  const llama = llamaModelFile({ ...spec, shape: { ...spec.shape, nCtx: 2048 } });
  const s = spec.shape;
  const metadata: Array<readonly [string, GgufValue]> = [];
  for (const [key, value] of llama.metadata) {
    if (key === "general.architecture") metadata.push([key, gguf.string("gemma2")]);
    else if (key.startsWith("llama.rope.") || key === "llama.vocab_size") continue;
    else if (key.startsWith("llama.")) metadata.push([`gemma2.${key.slice("llama.".length)}`, value]);
    else metadata.push([key, value]);
    if (key === "llama.attention.layer_norm_rms_epsilon") {
      metadata.push(
        ["gemma2.attention.key_length", gguf.u32(s.nEmbd / s.nHead)],
        ["gemma2.attention.value_length", gguf.u32(s.nEmbd / s.nHead)],
        ["gemma2.attention.sliding_window", gguf.u32(window)],
        ["gemma2.attn_logit_softcapping", gguf.f32(50)],
        ["gemma2.final_logit_softcapping", gguf.f32(30)],
      );
    }
  }
  const norm = (name: string): GgufTensor => ({
    name,
    dims: [s.nEmbd],
    type: "f32",
    data: () => [new Float32Array(s.nEmbd).fill(0.1)],
  });
  const tensors: GgufTensor[] = [];
  for (const t of llama.tensors) {
    if (t.name === "output.weight") continue; // Gemma ties the output to token_embd
    tensors.push(t);
    const block = /^blk\.(\d+)\.(attn_output|ffn_down)\.weight$/.exec(t.name);
    if (block?.[2] === "attn_output") tensors.push(norm(`blk.${block[1]}.post_attention_norm.weight`));
    if (block?.[2] === "ffn_down") tensors.push(norm(`blk.${block[1]}.post_ffw_norm.weight`));
  }
  await writeGguf(file, { metadata, tensors });
  return file;
}
