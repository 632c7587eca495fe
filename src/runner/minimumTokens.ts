/**
 * The fewest prompt tokens a set of prompts can be evaluated with, given that a prompt is
 * evaluated segment by segment and only whole segments already in a KV cache are reused
 * (src/backends/llamacpp.ts): every distinct segment prefix evaluated exactly once.
 *
 * A trie over the prompts' tokens cut at their segment ends: a node is one segment, keyed by
 * its tokens under its parent (so two prompts share a node only when all their tokens up to
 * the node's end, and the cuts before it, are the same). The minimum is the number of tokens
 * in all nodes. bench/run.ts sets it against the tokens the runner evaluated.
 */

export interface SegmentedPrompt {
  tokens: readonly number[];
  /** Token index where each segment ends; the last is tokens.length. */
  segmentEnds: readonly number[];
}

interface Node {
  children: Map<string, Node>;
}

export interface MinimumTokens {
  /** Tokens in distinct segment-prefix nodes: the least any schedule must evaluate. */
  minimum: number;
  /** Tokens of all prompts, as if nothing were reused. */
  total: number;
  /** Distinct segment-prefix nodes. */
  nodes: number;
}

export function minimumPromptTokens(prompts: Iterable<SegmentedPrompt>): MinimumTokens {
  const root: Node = { children: new Map() };
  let minimum = 0;
  let total = 0;
  let nodes = 0;
  for (const p of prompts) {
    total += p.tokens.length;
    let node = root;
    let start = 0;
    const ends =
      p.segmentEnds.length > 0 && p.segmentEnds[p.segmentEnds.length - 1] === p.tokens.length
        ? p.segmentEnds
        : [...p.segmentEnds, p.tokens.length];
    for (const end of ends) {
      if (end <= start) continue; // an empty segment is no batch (the backend skips it too)
      const key = p.tokens.slice(start, end).join(",");
      let child = node.children.get(key);
      if (!child) {
        child = { children: new Map() };
        node.children.set(key, child);
        minimum += end - start;
        nodes += 1;
      }
      node = child;
      start = end;
    }
  }
  return { minimum, total, nodes };
}
