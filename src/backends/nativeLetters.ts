/**
 * Letters in O(letters): the logits of the letter spellings plus the max, argmax and
 * Σ exp(logit − max) of the whole next-token distribution, read by valuelens' function in
 * node-llama-cpp's addon (native/valuelensLetters.cpp, built into the addon by
 * scripts/build-addon.mjs at install) inside the output callback of the decode
 * (scripts/patch-node-llama-cpp.mjs). Each probability is exp(l − max) / Σ, in double; the
 * top token's is 1 / Σ. Nothing per question grows with the vocabulary on the JS side.
 *
 * Where the install could not build the addon, `nativeLetterReader` is undefined and the
 * backend reads node-llama-cpp's full-vocabulary softmax instead (`letters.method` says which).
 */
import { LlamaContextSequence, type Llama, type Token } from "node-llama-cpp";

/** One output's read: [max, argmax, sumExp, nVocab, logit(token 0), logit(token 1), ...]. */
export interface LogitRead {
  max: number;
  argmax: number;
  sumExp: number;
  vocabulary: number;
  /** token -> probability, for the tokens asked for. */
  probability: (token: number) => number;
}

export interface NativeLetterReader {
  /** The `generateNext` option that asks for these tokens' logits. */
  option(tokens: Uint32Array): { valuelensLetters: Uint32Array };
}

interface ValuelensBindings {
  valuelens?: { features?: () => string[] };
}

/** The reader when this install's addon and node-llama-cpp's JS both carry valuelens' letter reading. */
export function nativeLetterReader(llama: Llama): NativeLetterReader | undefined {
  if (process.env.VALUELENS_LETTERS === "softmax") return undefined;
  const bindings = (llama as unknown as { _bindings?: ValuelensBindings })._bindings;
  let features: string[] = [];
  try {
    features = bindings?.valuelens?.features?.() ?? [];
  } catch {
    return undefined;
  }
  if (!features.includes("letterLogits/1")) return undefined;
  // node-llama-cpp's JS must pass the option through (scripts/patch-node-llama-cpp.mjs).
  if (!String(LlamaContextSequence.prototype.controlledEvaluate).includes("valuelensLetters")) return undefined;
  return { option: (tokens) => ({ valuelensLetters: tokens }) };
}

/** The probabilities behind one read (throws on a distribution that is not one: NaN or infinite logits). */
export function readLogits(raw: Float64Array, tokens: Uint32Array): LogitRead {
  const [max, argmax, sumExp, vocabulary] = [raw[0]!, raw[1]!, raw[2]!, raw[3]!];
  if (!Number.isFinite(max) || !(sumExp >= 1) || !Number.isFinite(sumExp))
    throw new Error(`llama.cpp returned logits that are not a distribution (max ${max}, sum of exp ${sumExp})`);
  const byToken = new Map<number, number>();
  for (let i = 0; i < tokens.length; i++) {
    const logit = raw[4 + i]!;
    if (Number.isNaN(logit) || logit > max)
      throw new Error(`llama.cpp returned logit ${logit} for token ${tokens[i]} above the maximum ${max}`);
    byToken.set(tokens[i]!, Math.exp(logit - max) / sumExp);
  }
  return {
    max,
    argmax,
    sumExp,
    vocabulary,
    probability: (token) => byToken.get(token) ?? (token === argmax ? 1 / sumExp : 0),
  };
}

/** What the last output of a letters evaluation carries: the native read, or node-llama-cpp's probability map. */
export interface LetterOutput {
  valuelensLetters?: Float64Array;
  probabilities?: Map<Token, number>;
}

/** The letters' probabilities and the top token from one output: the native read, or node-llama-cpp's map. */
export function letterRead(
  next: LetterOutput | undefined,
  ids: Uint32Array | undefined,
): { prob: (t: Token) => number; top: Token | undefined; topP: number } {
  if (ids) {
    if (!next?.valuelensLetters) throw new Error("llama.cpp returned no logits");
    const r = readLogits(next.valuelensLetters, ids);
    return { prob: r.probability, top: r.argmax as Token, topP: 1 / r.sumExp };
  }
  const probabilities = next?.probabilities;
  if (!probabilities) throw new Error("llama.cpp returned no probabilities");
  const [top, topP] = probabilities.entries().next().value ?? [undefined, 0];
  return { prob: (t) => probabilities.get(t) ?? 0, top, topP };
}
