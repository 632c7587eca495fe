// A SentencePiece-style ("llama") vocabulary built from GPT-2's BPE ranks.
//
// llama.cpp's SPM tokenizer starts from single UTF-8 characters and repeatedly merges the
// adjacent pair whose concatenation is a vocabulary piece with the highest score. tiktoken's
// BPE merges the pair whose merged token has the lowest rank. So with score = -rank the SPM
// merge order reproduces the BPE merge order, and a prefix of the rank list gives a realistic
// vocabulary of any size. Characters that are not pieces fall back to the <0xXX> byte tokens.
//
// Layout (like Llama 2, chat tokens appended like added tokens):
//   0 <unk> (unknown), 1 <s> (control), 2 </s> (control), 3..258 <0x00>..<0xFF> (byte),
//   then normal pieces in rank order, then the chat control tokens.

import r50kRanks from "gpt-tokenizer/bpeRanks/r50k_base";
import { gguf, type GgufValue } from "./writer.js";

/** llama.cpp token types (tokenizer.ggml.token_type). */
export const TOKEN_TYPE = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;

/** SentencePiece's word-start marker, which stands for a space. */
export const WORD_START = "\u2581";

/** Chat-template control tokens (ChatML). */
export const CHAT_CONTROL_TOKENS = ["<|im_start|>", "<|im_end|>"] as const;

export interface VocabOptions {
  /** Total vocabulary size, special and byte tokens included. */
  size: number;
  /** Extra control tokens appended at the end (default: the ChatML tokens). */
  controlTokens?: readonly string[];
  /**
   * Whether llama.cpp prepends a space (▁) to text at the start and after every special token.
   * Default false: with a ChatML template a prefix would turn "<|im_start|>user" into
   * "<|im_start|>▁user", and "A" should stay "A" (" A" is "▁A").
   */
  addSpacePrefix?: boolean;
  /** BPE rank list (tiktoken order; strings, or byte arrays for non-UTF-8 tokens). Default: GPT-2's r50k_base. */
  ranks?: ReadonlyArray<string | number[]>;
  /** Skip pieces longer than this many characters (the word-start marker counts). */
  maxPieceChars?: number;
}

export interface SpmVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  unkId: number;
  bosId: number;
  eosId: number;
  addSpacePrefix: boolean;
  /** Control tokens by text (<s>, </s>, <|im_start|>, ...). */
  controlIds: Record<string, number>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const WHITESPACE = /\s/;

/** GPT-2 rank text -> SentencePiece piece, or undefined if it is not a usable piece. */
export function toPiece(text: string): string | undefined {
  if (text.length === 0 || CONTROL_CHARS.test(text) || text.includes(WORD_START)) return undefined;
  // Ranks are stored as decoded strings only when valid UTF-8; reject lone surrogates anyway.
  if (Buffer.from(text, "utf8").toString("utf8") !== text) return undefined;
  const body = text.startsWith(" ") ? text.slice(1) : text;
  if (WHITESPACE.test(body)) return undefined; // spaces (or other whitespace) inside the piece
  return text.startsWith(" ") ? WORD_START + body : body;
}

/** Pieces that must be single tokens whatever the vocabulary size. */
export function requiredPieces(): string[] {
  const out: string[] = [WORD_START];
  for (let c = 0x21; c <= 0x7e; c++) out.push(String.fromCharCode(c)); // printable ASCII
  const letters = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"];
  for (const l of letters) out.push(WORD_START + l);
  for (const d of "0123456789") out.push(WORD_START + d);
  return out;
}

/** The usable pieces of a BPE rank list (at most `maxChars` characters) with their rank, first occurrence only. */
function rankedPieces(
  ranks: ReadonlyArray<string | number[]>,
  maxChars: number,
): Array<{ piece: string; rank: number }> {
  const seen = new Set<string>();
  const out: Array<{ piece: string; rank: number }> = [];
  ranks.forEach((entry, rank) => {
    if (typeof entry !== "string") return; // byte sequences that are not valid UTF-8
    const piece = toPiece(entry);
    if (piece === undefined || seen.has(piece) || [...piece].length > maxChars) return;
    seen.add(piece);
    out.push({ piece, rank });
  });
  return out;
}

export function byteTokenText(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
}

export function buildSpmVocab(opts: VocabOptions): SpmVocab {
  const controlTokens = opts.controlTokens ?? CHAT_CONTROL_TOKENS;
  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control];
  const scores: number[] = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(byteTokenText(b));
    types.push(TOKEN_TYPE.byte);
    scores.push(0);
  }
  const reserved = new Set([...tokens, ...controlTokens]);
  const budget = opts.size - tokens.length - controlTokens.length;

  // Take pieces in rank order, keeping room for the required pieces not reached yet.
  const ranks = opts.ranks ?? r50kRanks;
  const ranked = rankedPieces(ranks, opts.maxPieceChars ?? Infinity).filter((p) => !reserved.has(p.piece));
  const rankOf = new Map(ranked.map((p) => [p.piece, p.rank]));
  const missing = new Set(requiredPieces());
  // Required pieces the rank list lacks rank after all of it (merged last).
  let extraRank = ranks.length;
  for (const r of missing) if (!rankOf.has(r)) rankOf.set(r, extraRank++);
  if (budget < missing.size) throw new Error(`vocab: size ${opts.size} too small`);
  const chosen: Array<{ piece: string; rank: number }> = [];
  for (const p of ranked) {
    const wasRequired = missing.delete(p.piece);
    if (!wasRequired && chosen.length + missing.size >= budget) break;
    chosen.push(p);
  }
  for (const piece of missing) chosen.push({ piece, rank: rankOf.get(piece)! });
  chosen.sort((a, b) => a.rank - b.rank);
  if (chosen.length !== budget) throw new Error(`vocab: only ${chosen.length} pieces available, need ${budget}`);

  for (const { piece, rank } of chosen) {
    tokens.push(piece);
    types.push(TOKEN_TYPE.normal);
    scores.push(-rank);
  }
  for (const t of controlTokens) {
    tokens.push(t);
    types.push(TOKEN_TYPE.control);
    scores.push(0);
  }
  const controlIds: Record<string, number> = {};
  tokens.forEach((t, id) => {
    if (types[id] === TOKEN_TYPE.control) controlIds[t] = id;
  });
  return {
    tokens,
    scores,
    types,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    addSpacePrefix: opts.addSpacePrefix ?? false,
    controlIds,
  };
}

/** The tokenizer.ggml.* metadata for a vocabulary. */
export function vocabMetadata(v: SpmVocab): Array<[string, GgufValue]> {
  return [
    ["tokenizer.ggml.model", gguf.string("llama")],
    ["tokenizer.ggml.tokens", gguf.strings(v.tokens)],
    ["tokenizer.ggml.scores", gguf.f32s(v.scores)],
    ["tokenizer.ggml.token_type", gguf.i32s(v.types)],
    ["tokenizer.ggml.bos_token_id", gguf.u32(v.bosId)],
    ["tokenizer.ggml.eos_token_id", gguf.u32(v.eosId)],
    ["tokenizer.ggml.unknown_token_id", gguf.u32(v.unkId)],
    ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
    ["tokenizer.ggml.add_eos_token", gguf.bool(false)],
    ["tokenizer.ggml.add_space_prefix", gguf.bool(v.addSpacePrefix)],
  ];
}
