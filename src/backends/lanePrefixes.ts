/**
 * Shared prefixes across lanes (context sequences of one llama.cpp context): a lane that needs
 * whole prompt segments another lane holds, or is evaluating right now, copies their KV cells
 * (llama_memory_seq_cp, through valuelens' function in node-llama-cpp's addon and
 * `valuelensCopyPrefixFrom`, scripts/patch-node-llama-cpp.mjs) instead of evaluating them again.
 *
 * Lanes start a prefix group's units together, so a lane first looks for a prefix another lane
 * is evaluating (announced before any await) and waits for it. The copy runs under the
 * context's lock and checks the source's tokens there. A copied segment holds the values this
 * lane would compute: isolated batches evaluate a segment alone either way (test/lanes.test.ts:
 * records bit for bit those of one sequence).
 */
import { LlamaContextSequence, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { commonPrefixLength } from "../templates/prompt.js";

export interface Lane {
  sequence: LlamaContextSequence;
  /** Token boundaries of segments evaluated into this lane's KV cache, in order. */
  evaluatedEnds: number[];
  busy: Promise<unknown>;
}

/** A prefix shorter than this is evaluated again rather than copied (a copy moves a whole KV stream). */
const MIN_COPIED_TOKENS = 8;

/** node-llama-cpp's sequence with valuelens' prefix copy (scripts/patch-node-llama-cpp.mjs). */
interface CopyingSequence {
  valuelensCopyPrefixFrom(source: LlamaContextSequence, tokens: Token[]): Promise<boolean>;
}

/** A prompt prefix as a map key. */
function prefixKey(tokens: readonly number[], end: number): string {
  return tokens.slice(0, end).join(",");
}

export class LanePrefixes {
  /** Prompt tokens copied from another lane instead of evaluated. */
  copiedTokens = 0;
  /** Prefixes a lane is evaluating now (prefixKey), resolved when done. */
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(private readonly lanes: readonly Lane[]) {}

  /**
   * Before `lane` evaluates `tokens` past `reuse` (what it holds): wait for a prefix another
   * lane is evaluating, copy the longest one another lane holds, and announce the prefixes this
   * lane will evaluate. Returns the tokens the lane now holds (0: nothing copied) and the
   * function to call as each segment end is evaluated (and for all of them at the end).
   */
  async prepare(
    lane: Lane,
    tokens: Token[],
    segmentEnds: readonly number[],
    reuse: number,
  ): Promise<{ copied: number; done: Map<number, () => void> }> {
    let copied = 0;
    const pending = this.pending(tokens, segmentEnds, reuse);
    if (pending || this.holder(lane, tokens, segmentEnds, reuse)) {
      await pending;
      copied = await this.copy(lane, tokens, segmentEnds, reuse);
    }
    // No await between here and the evaluation's first one: the others see the announcement.
    return { copied, done: this.announce(tokens, segmentEnds, Math.max(reuse, copied)) };
  }

  private async copy(lane: Lane, tokens: Token[], segmentEnds: readonly number[], reuse: number): Promise<number> {
    const best = this.holder(lane, tokens, segmentEnds, reuse);
    if (!best) return 0;
    const sequence = lane.sequence as unknown as CopyingSequence;
    if (!(await sequence.valuelensCopyPrefixFrom(best.lane.sequence, tokens.slice(0, best.end)))) return 0;
    lane.evaluatedEnds = best.lane.evaluatedEnds.filter((e) => e <= best.end);
    this.copiedTokens += best.end - reuse;
    return best.end;
  }

  /** The other lane holding the longest whole-segment prefix of `tokens`, at least MIN_COPIED_TOKENS past `reuse`. */
  private holder(
    lane: Lane,
    tokens: Token[],
    segmentEnds: readonly number[],
    reuse: number,
  ): { lane: Lane; end: number } | undefined {
    let best: { lane: Lane; end: number } | undefined;
    for (const other of this.lanes) {
      if (other === lane) continue;
      const held = other.sequence.contextTokens;
      let end = 0;
      for (const e of segmentEnds.slice(0, -1)) {
        if (!other.evaluatedEnds.includes(e) || e > held.length || commonPrefixLength(held, tokens, e) < e) break;
        end = e;
      }
      if (end - reuse >= MIN_COPIED_TOKENS && end > (best?.end ?? 0)) best = { lane: other, end };
    }
    return best;
  }

  /** The evaluation of the longest prefix of `tokens` (whole segments past `reuse`) another lane is running now. */
  private pending(tokens: Token[], segmentEnds: readonly number[], reuse: number): Promise<void> | undefined {
    for (const e of [...segmentEnds.slice(0, -1)].reverse()) {
      if (e - reuse < MIN_COPIED_TOKENS) return undefined;
      const pending = this.inflight.get(prefixKey(tokens, e));
      if (pending) return pending;
    }
    return undefined;
  }

  /** Say that a lane evaluates the segment prefixes of `tokens` past `from`; each function says one is done. */
  private announce(tokens: Token[], segmentEnds: readonly number[], from: number): Map<number, () => void> {
    const done = new Map<number, () => void>();
    for (const end of segmentEnds.slice(0, -1)) {
      if (end <= from) continue;
      const key = prefixKey(tokens, end);
      if (this.inflight.has(key)) continue;
      let resolve!: () => void;
      this.inflight.set(key, new Promise<void>((r) => (resolve = r)));
      done.set(end, () => {
        if (!done.delete(end)) return;
        this.inflight.delete(key);
        resolve();
      });
    }
    return done;
  }
}

/**
 * Whether lanes may copy each other's prefixes: valuelens' addon and patch present, several
 * sequences, and a plain attention model. A recurrent or hybrid model's state cannot be cut
 * back to a prefix, and a sliding-window cache may not hold a whole prefix (issue 22).
 */
export function prefixCopying(llama: Llama, model: LlamaModel, sequences: number): { copy: boolean; reason: string } {
  if (sequences <= 1) return { copy: false, reason: "one sequence" };
  if (process.env.VALUELENS_COPY_PREFIXES === "0") return { copy: false, reason: "off (VALUELENS_COPY_PREFIXES=0)" };
  const bindings = (llama as unknown as { _bindings?: Record<string, unknown> })._bindings ?? {};
  const features = (bindings.valuelens as { features?: () => string[] } | undefined)?.features?.() ?? [];
  const proto = LlamaContextSequence.prototype as unknown as Partial<CopyingSequence>;
  if (!features.includes("copySequence/1") || typeof proto.valuelensCopyPrefixFrom !== "function")
    return { copy: false, reason: "not available (node-llama-cpp's addon was not rebuilt)" };
  const metadata = model.fileInfo.metadata as Record<string, unknown> & { general?: { architecture?: string } };
  const arch = metadata.general?.architecture ?? "";
  const call = (name: string) => (bindings[name] as ((a: string) => boolean | undefined) | undefined)?.(arch);
  if (call("getIsArchRecurrent") !== false || call("getIsArchHybrid") !== false)
    return { copy: false, reason: `off: ${arch || "this architecture"} is recurrent, hybrid or unknown` };
  const attention = (metadata[arch] as { attention?: { sliding_window?: unknown } } | undefined)?.attention;
  if (attention?.sliding_window !== undefined)
    return { copy: false, reason: `off: ${arch} uses sliding-window attention` };
  return { copy: true, reason: "" };
}
