/**
 * The llama.cpp engine, through node-llama-cpp: CPU, CUDA, Vulkan or Metal as the library
 * finds them.
 *
 * Letter scoring evaluates a prompt once and reads the letters' next-token probabilities
 * from the full-vocabulary softmax.
 * Prompts arrive as segments (scenario context, value stem, options); each segment is always
 * evaluated as its own batch, so a segment still in the KV cache from the previous question
 * is reused without changing any number (a question's result never depends on what ran
 * before it). Each lane (a context sequence) keeps its own KV cache. How lanes share llama.cpp
 * batches is `batching` (llamaBatching.ts): by default a batch holds one lane's evaluation, so
 * several lanes give the numbers of one, bit for bit.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import path from "node:path";
import {
  getLlama,
  LlamaGrammarEvaluationState,
  LlamaLogLevel,
  LlamaText,
  SpecialTokensText,
  resolveChatWrapper,
  getModuleVersion,
  InsufficientMemoryError,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type {
  Backend,
  BackendInfo,
  EvaluationCounters,
  GenerateOptions,
  Generation,
  LetterScores,
  PreparedPrompt,
  PromptMode,
  PrepareOptions,
} from "./backend.js";
import { newCounters, QuestionFailedError } from "./backend.js";
import { scoreSpellings, spellingsInVocabulary } from "./tokenLetters.js";
import { letterRead, nativeLetterReader, type LetterOutput, type NativeLetterReader } from "./nativeLetters.js";
import { LanePrefixes, prefixCopying, type Lane } from "./lanePrefixes.js";
import { batchingStrategy, type LlamaBatching, type SharedOutputs } from "./llamaBatching.js";
import { modelDigest } from "./modelDigest.js";
import { chooseSequences, MAX_AUTO_SEQUENCES, type SequencesChoice, type SequencesSetting } from "./sequences.js";
import { cudaJitCacheEnv, defaultThreads, hardwareSummary } from "./hardware.js";
import { cudaReport, loadedCudaLibrary, nvidiaDevices, type CudaReport } from "./cuda.js";
import { UserError } from "../util/errors.js";
import { parseGgufMetadata, readFilePrefix } from "../gguf/reader.js";
import { ChatTemplate } from "../templates/chatTemplate.js";
import {
  answerStart,
  commonPrefixLength,
  reasoningHandling,
  renderQuestion,
  segmentTokenEnds,
  splitThoughts,
  type ReasoningHandling,
} from "../templates/prompt.js";

export interface LlamaCppOptions {
  /** Display name (models.yaml entry or file name). */
  name: string;
  modelPath: string;
  contextSize: number;
  /** "auto", "max" or a number of layers to offload; 0 = CPU only. */
  gpuLayers: "auto" | "max" | number;
  /** CPU threads; defaults to $VALUELENS_THREADS, else the machine's physical cores (hardware.ts). */
  threads?: number;
  batchSize: number;
  /**
   * Context sequences = lanes that run concurrently; "auto" chooses (sequences.ts): 1 on the
   * CPU, on a GPU as many as the free VRAM holds (at most 16), with shared batches unless
   * `batching` says otherwise.
   */
  sequences: SequencesSetting;
  /**
   * How lanes share llama.cpp batches (llamaBatching.ts): "isolated" (default) gives every
   * question the numbers of a one-sequence run; "shared" batches lanes together (faster on a
   * GPU), which changes the last digits of probabilities with the batch's composition.
   */
  batching?: LlamaBatching;
  flashAttention: boolean;
  /** "auto" lets node-llama-cpp pick CUDA/Vulkan/Metal when present; false forces CPU. */
  gpu: "auto" | false;
  /** Where model digests are remembered (path, size, mtime -> sha256). */
  digestMemo?: string;
  /** Where the one line saying what `sequences: auto` chose goes (default: stderr). */
  log?: (line: string) => void;
}

const TEMPLATE_PROBE = "\u0001VALUELENS_USER_MESSAGE\u0001";

/** Segment prefixes whose tokens a backend keeps (a few prefix groups' worth). */
const PREFIX_TOKENS_KEPT = 256;

export class LlamaCppBackend implements Backend {
  readonly counters: EvaluationCounters = newCounters();
  private readonly letterTokenCache = new Map<string, Map<string, Token[]>>();
  private readonly spellingIdCache = new Map<string, Uint32Array>();
  /** Tokens of recent segment prefixes (prefixTokens). */
  private readonly prefixTokenCache = new Map<string, Token[]>();
  /** Each token's text as it reads in a word sequence (spellingText), once per token. */
  private readonly spellingTexts = new Map<Token, string>();
  private tokensByText: Map<string, (readonly [Token, string])[]> | undefined;
  /** JSON-schema grammars, built once per schema (keyed by the schema's JSON). */
  private readonly grammarCache = new Map<string, LlamaGrammar>();

  private constructor(
    readonly info: BackendInfo,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly lanes: Lane[],
    /** The GGUF's own chat template, rendered with the pinned variables (null: none, or unrenderable). */
    private readonly template: ChatTemplate | null,
    /** node-llama-cpp's chat wrapper, only for a model without a usable template of its own (else null). */
    private readonly chatWrapper: ChatWrapper | null,
    private readonly handling: ReasoningHandling,
    private readonly batching: LlamaBatching,
    /** valuelens' letter reader in node-llama-cpp's addon; undefined: the full softmax (nativeLetters.ts). */
    private readonly native: NativeLetterReader | undefined,
  ) {}

  readonly reusesPrefixes = true;
  /** The model file's identity when it was loaded (fileIdentity). */
  loadedIdentity: string | undefined;
  /** Lanes copying shared prefixes from each other (lanePrefixes.ts); undefined: they do not (otherOptions.copyPrefixes says why). */
  prefixes: LanePrefixes | undefined;
  /** Prompt tokens copied from another lane's KV cache instead of evaluated (also counted as reused). */
  get copiedTokens(): number {
    return this.prefixes?.copiedTokens ?? 0;
  }
  /** Batches dispatched, and how many held several outputs (shared batching with native reads). */
  batchOutputs = { batches: 0, multiOutput: 0, maxOutputs: 0 };

  get laneCount(): number {
    return this.lanes.length;
  }

  static async load(opts: LlamaCppOptions): Promise<LlamaCppBackend> {
    let bytes: number;
    try {
      const st = statSync(opts.modelPath);
      if (st.isDirectory())
        throw new UserError(
          `model ${opts.modelPath} is a directory; pass the .gguf file inside it (or a models.yaml entry)`,
        );
      bytes = st.size;
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(
        `model file not found: ${opts.modelPath} (check the path, or run \`valuelens models pull <name>\` for a models.yaml entry)`,
      );
    }
    // Taken before the digest and the load: a file rewritten from here on is noticed (verifyModel).
    const identity = fileIdentity(opts.modelPath);
    checkGgufHeader(opts.modelPath, bytes);
    await checkContextSize(opts.modelPath, opts.name, opts.contextSize);
    const sha256 = await modelDigest(opts.modelPath, opts.digestMemo);
    const threads = opts.threads ?? defaultThreads();
    // llama.cpp's error lines while the model loads are held back: a failed load reports the
    // telling one inside its one-line error instead of printing several lines of its own.
    const loadLogs: string[] = [];
    let loading = true;
    // Before CUDA starts (it reads the variable once): a JIT cache that holds the PTX kernels.
    Object.assign(process.env, cudaJitCacheEnv());
    const llama = await getLlama({
      gpu: opts.gpu === false ? false : "auto",
      logLevel: LlamaLogLevel.error,
      logger: (_level, message) => {
        if (loading) loadLogs.push(message);
        else process.stderr.write(`[node-llama-cpp] ${message}\n`);
      },
      maxThreads: threads,
    });
    // A GPU the CUDA build has no code for would abort the process at the first kernel: refuse
    // before the model loads, in one line naming the fix (cuda.ts). VALUELENS_CUDA_CHECK=off skips it.
    let cuda: CudaReport | undefined;
    if (llama.gpu === "cuda" && process.env.VALUELENS_CUDA_CHECK !== "off") {
      const { report, refusal } = cudaReport(nvidiaDevices(), loadedCudaLibrary());
      if (refusal) {
        await llama.dispose().catch(() => {});
        throw new UserError(refusal);
      }
      cuda = report;
    }
    let model: LlamaModel;
    try {
      model = await llama.loadModel({
        modelPath: opts.modelPath,
        gpuLayers: opts.gpuLayers === "auto" ? "auto" : opts.gpuLayers === "max" ? "max" : opts.gpuLayers,
      });
    } catch (err) {
      await new Promise((resolve) => setImmediate(resolve)); // native log lines arrive asynchronously
      await llama.dispose().catch(() => {});
      const detail = loadFailureDetail(loadLogs) ?? oneLine(err);
      throw new UserError(
        err instanceof InsufficientMemoryError ||
          /out of memory|too large for the available|not enough (v?ram|memory)/i.test(detail)
          ? `cannot load model ${opts.modelPath}: not enough memory (${detail}); lower gpuLayers in its models.yaml entry or use a smaller quantization`
          : `cannot load model ${opts.modelPath}: the file is corrupt or incomplete (${detail}); re-download or rebuild it`,
      );
    }
    // A sliding-window model (Gemma 2/3, GPT-OSS) keeps only pad256(window + ubatch) cells per
    // sequence by default, and node-llama-cpp reuses a prefix whose rewind point is less than a
    // window above the lowest cell kept: the next tokens would attend over an incomplete window.
    // The full cache keeps every cell, so prefix reuse is exact (test/swa.test.ts).
    // VALUELENS_SWA_FULL_CACHE=0 turns it off (to reproduce the error; never for a real run).
    const swaSize = process.env.VALUELENS_SWA_FULL_CACHE === "0" ? undefined : model.fileInsights.swaSize;
    const choice = await sequencesFor(opts, llama, model);
    const sequences = choice.sequences;
    // One sequence: every batch holds one evaluation anyway (its numbers, and the cache key, are unchanged).
    // `auto` implies shared batches (the point of several sequences on a GPU) unless the entry says otherwise.
    const batching: LlamaBatching =
      sequences > 1 ? (opts.batching ?? (choice.auto ? "shared" : "isolated")) : "isolated";
    // Native letter reads are synchronous, so shared batches may hold one output per lane (llamaBatching.ts).
    const native = nativeLetterReader(llama);
    const sharedOutputs: SharedOutputs = native ? "one output per lane per batch" : "one output per batch";
    const batchOutputs = { batches: 0, multiOutput: 0, maxOutputs: 0 };
    let context: LlamaContext;
    try {
      context = await model.createContext({
        contextSize: opts.contextSize,
        sequences,
        ...(swaSize !== undefined ? { swaFullCache: true } : {}),
        threads,
        batchSize: opts.batchSize,
        flashAttention: opts.flashAttention,
        batching: {
          itemPrioritizationStrategy: batchingStrategy(batching, sharedOutputs, (outputs) => {
            batchOutputs.batches++;
            if (outputs > 1) batchOutputs.multiOutput++;
            batchOutputs.maxOutputs = Math.max(batchOutputs.maxOutputs, outputs);
          }),
        },
      });
    } catch (err) {
      await new Promise((resolve) => setImmediate(resolve));
      await model.dispose().catch(() => {});
      await llama.dispose().catch(() => {});
      throw new UserError(
        `cannot create a context of ${opts.contextSize} tokens x ${sequences} sequence(s)${choice.auto ? " (sequences: auto)" : ""} for model "${opts.name}": ${loadFailureDetail(loadLogs) ?? oneLine(err)}; lower contextSize (or sequences, batchSize) in its models.yaml entry`,
      );
    }
    loading = false;
    for (const line of loadLogs.splice(0)) process.stderr.write(`[node-llama-cpp] ${line}\n`);
    const lanes: Lane[] = [];
    if (choice.auto)
      (opts.log ?? ((line: string) => process.stderr.write(line + "\n")))(
        `sequences: auto -> ${sequences}, batching ${batching} (${choice.reason})`,
      );
    for (let i = 0; i < sequences; i++) {
      lanes.push({ sequence: context.getSequence(), evaluatedEnds: [], busy: Promise.resolve() });
    }
    const handling = reasoningHandling(reasoningTokens(model));
    const { template, templateNote } = ggufTemplate(model);
    // Resolved only when needed: node-llama-cpp renders and tokenizes the template many times to
    // choose a wrapper (about 2 s for a 128k-token vocabulary), and a model with a template of
    // its own never uses it.
    const chatWrapper = template ? null : resolveChatWrapper(model, { warningLogs: false });
    const meta = model.fileInfo.metadata as { general?: { architecture?: string; name?: string } };
    const info: BackendInfo = {
      engine: "llama.cpp",
      engineVersion: `node-llama-cpp ${(await getModuleVersion()) ?? "unknown"}`,
      model: {
        name: opts.name,
        path: path.resolve(opts.modelPath),
        sha256,
        bytes,
        architecture: meta.general?.architecture,
        description: model.typeDescription,
      },
      outputOptions: {
        contextSize: opts.contextSize,
        batchSize: opts.batchSize,
        flashAttention: opts.flashAttention,
        gpu: llama.gpu,
        gpuLayers: model.gpuLayers,
        // Isolated batches compute what a one-sequence context computes (the same key, the same
        // answers); shared batches are another method, whose last digits depend on timing.
        concurrentSequences: batching === "shared",
        // Only for sliding-window models: other models' keys are unchanged.
        ...(swaSize !== undefined ? { slidingWindow: { size: swaSize, cache: "full" } } : {}),
        ...(batching === "shared" ? { batching: `shared, ${sharedOutputs}` } : {}),
        template: template
          ? template.info
          : { source: `node-llama-cpp ${chatWrapper!.wrapperName} chat wrapper`, note: templateNote },
      },
      otherOptions: {
        threads,
        sequences,
        ...(sequences > 1 ? { batching } : {}),
        ...(choice.auto ? { sequencesAuto: choice.reason } : {}),
      },
      chatWrapper: template
        ? `the model's chat template (GGUF, sha256 ${template.info.sha256.slice(0, 12)}), pinned variables ${JSON.stringify(template.info.pinned)}`
        : `${chatWrapper!.wrapperName} (node-llama-cpp; ${templateNote})`,
      reasoning: handling,
      hardware: {
        ...hardwareSummary(),
        gpu: llama.gpu,
        gpuDevices: await llama.getGpuDeviceNames().catch(() => []),
        ...(cuda ? { cuda } : {}),
        letters: native
          ? "native read (valuelens' function in node-llama-cpp's addon)"
          : "node-llama-cpp's full-vocabulary softmax (the addon was not rebuilt)",
      },
    };
    if (!native && process.env.VALUELENS_LETTERS !== "softmax")
      (opts.log ?? ((line: string) => process.stderr.write(line + "\n")))(
        "letters: node-llama-cpp's addon has no valuelens letter reader (scripts/build-addon.mjs did not build it at install); reading the full-vocabulary softmax, slower, same numbers within 1e-6",
      );
    const backend = new LlamaCppBackend(
      info,
      llama,
      model,
      context,
      lanes,
      template,
      chatWrapper,
      handling,
      batching,
      native,
    );
    backend.batchOutputs = batchOutputs;
    backend.loadedIdentity = identity;
    const copying = prefixCopying(llama, model, sequences);
    if (copying.copy) backend.prefixes = new LanePrefixes(lanes);
    if (sequences > 1)
      info.otherOptions.copyPrefixes = copying.copy ? "across lanes (llama_memory_seq_cp)" : copying.reason;
    return backend;
  }

  /**
   * Chat-template a user message (segments) with the model's own template and the pinned
   * variables, up to where the final answer begins, and tokenize it as llama-server does.
   * Segment boundaries are mapped onto the tokens. Letters and generation see the same prompt.
   */
  prepare(segments: string[], opts: PrepareOptions): PreparedPrompt {
    const user = segments.join("");
    if (!this.template) {
      if ((opts.history && opts.history.length > 0) || opts.answerPrefix)
        throw new UserError(
          "this model has no usable chat template of its own, so valuelens cannot render a conversation or an answer prefix for it; use a model whose GGUF carries a chat template",
        );
      return this.prepareWithWrapper(segments, opts);
    }
    const addBos = this.model.tokens.shouldPrependBosToken;
    const q = renderQuestion(this.template, segments, {
      system: opts.system,
      handling: this.handling,
      addBos,
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.answerPrefix !== undefined ? { answerPrefix: opts.answerPrefix } : {}),
    });
    const tokens = this.tokensOf(q.text);
    // Segment prefixes (the chat header and scenario a prefix group shares) are tokenized once.
    const segmentEnds = segmentTokenEnds(tokens, q.segmentCharEnds, (chars) =>
      this.prefixTokens(q.text.slice(0, chars)),
    );
    return {
      text: q.text,
      tokens,
      segmentEnds,
      userMessage: user,
      system: opts.system,
      mode: opts.mode,
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.answerPrefix !== undefined ? { answerPrefix: opts.answerPrefix } : {}),
    };
  }

  /** tokensOf for a prompt's segment prefixes, remembered (most recent PREFIX_TOKENS_KEPT). */
  private prefixTokens(text: string): readonly number[] {
    let tokens = this.prefixTokenCache.get(text);
    if (tokens) {
      this.prefixTokenCache.delete(text); // most recently used last
    } else {
      tokens = this.tokensOf(text);
      if (this.prefixTokenCache.size >= PREFIX_TOKENS_KEPT)
        this.prefixTokenCache.delete(this.prefixTokenCache.keys().next().value!);
    }
    this.prefixTokenCache.set(text, tokens);
    return tokens;
  }

  /** Tokens of a prompt text: BOS where the vocabulary asks for it, special tokens parsed (llama-server's tokenization). */
  tokensOf(text: string): Token[] {
    const bos =
      this.model.tokens.shouldPrependBosToken && this.model.tokens.bos !== null ? [this.model.tokens.bos] : [];
    return [...bos, ...this.model.tokenize(text, true)];
  }

  /** A model without a usable template: node-llama-cpp's chat wrapper renders it. */
  private prepareWithWrapper(segments: string[], opts: { system?: string; mode: PromptMode }): PreparedPrompt {
    const user = segments.join("");
    const full = this.render(user, opts.system);
    const tokens = full.tokenize(this.model.tokenizer);
    const segmentEnds: number[] = [];
    let chars = 0;
    for (let i = 0; i < segments.length - 1; i++) {
      chars += segments[i]!.length;
      const partialTokens = this.render(user, opts.system, chars).tokenize(this.model.tokenizer);
      let end = commonPrefixLength(partialTokens, tokens);
      if (end === partialTokens.length) end = Math.min(end, tokens.length);
      const previous = segmentEnds[segmentEnds.length - 1] ?? 0;
      segmentEnds.push(Math.max(previous, end));
    }
    segmentEnds.push(tokens.length);
    return { text: textOf(full), tokens, segmentEnds, userMessage: user, system: opts.system, mode: opts.mode };
  }

  private render(user: string, system: string | undefined, cut?: number): LlamaText {
    const cutTemplate = cut !== undefined;
    const history: ChatHistoryItem[] = [];
    if (system) history.push({ type: "system", text: system });
    history.push({ type: "user", text: cutTemplate ? TEMPLATE_PROBE : user });
    history.push({ type: "model", response: [] });
    let text = this.chatWrapper!.generateContextState({ chatHistory: history }).contextText;
    const start = answerStart(textOf(text), this.handling);
    if (start) text = LlamaText([text, new SpecialTokensText(start)]);
    if (!cutTemplate) return text;
    // Keep the template up to the probe, then the first `cut` characters of the message.
    const values: (string | SpecialTokensText | unknown)[] = [];
    for (const value of text.values) {
      if (typeof value === "string" && value.includes(TEMPLATE_PROBE)) {
        values.push(value.slice(0, value.indexOf(TEMPLATE_PROBE)) + user.slice(0, cut));
        return LlamaText(values as never);
      }
      values.push(value);
    }
    throw new Error("chat template did not contain the user message");
  }

  async scoreLetters(prompt: PreparedPrompt, letters: string[], laneIndex = 0): Promise<LetterScores> {
    const lane = this.lanes[laneIndex % this.lanes.length]!;
    return this.exclusive(lane, () => this.scoreOnLane(lane, prompt, letters));
  }

  private async exclusive<T>(lane: Lane, fn: () => Promise<T>): Promise<T> {
    const run = lane.busy.then(fn, fn);
    lane.busy = run.catch(() => {});
    return run;
  }

  private async scoreOnLane(lane: Lane, prompt: PreparedPrompt, letters: string[]): Promise<LetterScores> {
    const { tokens, segmentEnds } = prompt;
    if (prompt.mode !== "letters") throw new Error("scoreLetters needs a prompt prepared in letters mode");
    if (tokens.length > this.context.contextSize) {
      throw new QuestionFailedError({
        reason: `prompt of ${tokens.length} tokens does not fit the context of ${this.context.contextSize}; raise contextSize in models.yaml`,
        status: null,
      });
    }
    // Reuse whole segments that this lane evaluated with the same boundaries and tokens.
    const current = lane.sequence.contextTokens;
    let reuse = 0;
    for (const end of segmentEnds.slice(0, -1)) {
      if (!lane.evaluatedEnds.includes(end)) break;
      if (end > current.length || commonPrefixLength(current, tokens, end) < end) break;
      reuse = end;
    }
    // Shared prefixes across lanes (lanePrefixes.ts): copied rather than evaluated again.
    const { copied, done } = this.prefixes
      ? await this.prefixes.prepare(lane, tokens as Token[], segmentEnds, reuse)
      : { copied: 0, done: new Map<number, () => void>() };
    try {
      return await this.evaluateLetters(lane, prompt, letters, Math.max(reuse, copied), copied > reuse, done);
    } finally {
      for (const finish of done.values()) finish();
    }
  }

  /** Evaluate a letters prompt's segments after the first `reuse` tokens, which the lane holds. */
  private async evaluateLetters(
    lane: Lane,
    prompt: PreparedPrompt,
    letters: string[],
    reuse: number,
    copied: boolean,
    announced: Map<number, () => void>,
  ): Promise<LetterScores> {
    const { tokens, segmentEnds } = prompt;
    if (!copied && lane.sequence.nextTokenIndex > reuse) {
      await lane.sequence.eraseContextTokenRanges([{ start: reuse, end: lane.sequence.nextTokenIndex }]);
    }
    lane.evaluatedEnds = lane.evaluatedEnds.filter((e) => e <= reuse);

    const spellings = this.letterSpellings(letters);
    const ids = this.native ? this.spellingIds(letters, spellings) : undefined;
    let start = reuse;
    let read: { prob: (t: Token) => number; top: Token | undefined; topP: number } | undefined;
    for (const end of segmentEnds) {
      if (end <= start) continue;
      const batch = tokens.slice(start, end);
      const last = end === tokens.length;
      // Native: the spellings' logits and the log-sum-exp of the whole vocabulary (nativeLetters.ts).
      // Otherwise node-llama-cpp's full probability map (a softmax over the whole vocabulary,
      // sorted); its logit filter with includeMax was measured to give wrong values.
      const generateNext = ids ? this.native!.option(ids) : { probabilities: true };
      const items = batch.map((t, i) => (last && i === batch.length - 1 ? ([t, { generateNext }] as const) : t));
      const out = await lane.sequence.controlledEvaluate(items as never);
      if (last) {
        const next = (out[batch.length - 1] as { next?: LetterOutput } | undefined)?.next;
        read = letterRead(next, ids);
      }
      lane.evaluatedEnds.push(end);
      announced.get(end)?.(); // lanes waiting for this prefix may copy it now
      start = end;
    }
    if (!read) throw new Error("empty prompt");
    this.counters.evaluations += 1;
    this.counters.evaluatedTokens += tokens.length - reuse;
    this.counters.reusedTokens += reuse;

    // Byte-fallback tokens spell a letter too; each spelling keeps its own key.
    const { probs, mass, perLetter } = scoreSpellings(letters, spellings, read.prob, (t) => this.spellingText(t));
    return {
      probs,
      mass,
      perLetter,
      topToken: { text: read.top === undefined ? "" : this.spellingText(read.top), p: read.topP },
      // Shared batches are another method (their last digits depend on the batch's composition).
      method: `segments/${segmentEnds.length}:${ids ? "logits" : "softmax"}${this.batching === "shared" ? "+shared-batches" : ""}`,
      evaluatedTokens: tokens.length - reuse,
      reusedTokens: reuse,
    };
  }

  /** The spellings' token ids in one array, for the native read (once per letter set). */
  private spellingIds(letters: string[], spellings: Map<string, Token[]>): Uint32Array {
    const key = letters.join(",");
    let ids = this.spellingIdCache.get(key);
    if (!ids) this.spellingIdCache.set(key, (ids = Uint32Array.from([...new Set([...spellings.values()].flat())])));
    return ids;
  }

  /** Every single-token spelling of each letter (`A`, `▁A`, ...), found once per letter set. */
  letterSpellings(letters: string[]): Map<string, Token[]> {
    const key = letters.join(",");
    const cached = this.letterTokenCache.get(key);
    if (cached) return cached;
    const index = this.vocabularyByText();
    const found = spellingsInVocabulary(
      letters,
      letters.flatMap((l) => index.get(l) ?? []),
    );
    this.letterTokenCache.set(key, found);
    return found;
  }

  /** Every ordinary token with its text, grouped by the text trimmed: one pass over the vocabulary per backend. */
  private vocabularyByText(): Map<string, (readonly [Token, string])[]> {
    if (this.tokensByText) return this.tokensByText;
    const index = new Map<string, (readonly [Token, string])[]>();
    for (const token of this.model.iterateAllTokens()) {
      if (this.model.isSpecialToken(token)) continue;
      const text = this.model.detokenize([token], false);
      const trimmed = text.trim();
      let list = index.get(trimmed);
      if (!list) index.set(trimmed, (list = []));
      list.push([token, text]);
    }
    this.tokensByText = index;
    return index;
  }

  /** A token's text as it reads inside a word sequence (a word-start marker shows as a leading space). */
  tokenText(token: number): string {
    return this.spellingText(token as Token);
  }

  private spellingText(token: Token): string {
    let text = this.spellingTexts.get(token);
    if (text === undefined) this.spellingTexts.set(token, (text = this.detokenizedSpelling(token)));
    return text;
  }

  private detokenizedSpelling(token: Token): string {
    // Detokenize after a neutral token so a word-start marker shows as a leading space.
    const anchor = this.model.tokenize("x", false);
    const withAnchor = this.model.detokenize([...anchor, token], true);
    const alone = this.model.detokenize(anchor, true);
    return withAnchor.startsWith(alone) ? withAnchor.slice(alone.length) : this.model.detokenize([token], true);
  }

  async generate(prompt: PreparedPrompt, opts: GenerateOptions, laneIndex = 0): Promise<Generation> {
    return this.chatGenerate(prompt, opts, laneIndex);
  }

  /**
   * Generate an answer constrained at decoding time by a JSON schema (node-llama-cpp's
   * JSON-schema grammar, built once per schema). Like `generate`, always from an empty
   * sequence; `temperature` 0 is greedy, otherwise sampling is seeded by `seed`. The grammar
   * guarantees the shape but not that the JSON is closed: an answer cut at `maxTokens` comes
   * back with finishReason "maxTokens".
   */
  async generateJson(
    prompt: PreparedPrompt,
    schema: object,
    opts: GenerateOptions,
    laneIndex = 0,
  ): Promise<Generation> {
    const schemaKey = JSON.stringify(schema);
    let grammar = this.grammarCache.get(schemaKey);
    if (!grammar) {
      grammar = await this.llama.createGrammarForJsonSchema(schema as never);
      this.grammarCache.set(schemaKey, grammar);
    }
    return this.chatGenerate(prompt, opts, laneIndex, grammar);
  }

  /**
   * One answer on a lane: the prepared tokens (the same prompt letters are read from), then
   * tokens sampled until an end-of-generation token or `maxTokens`. Always from an empty
   * sequence: the same prompt is then evaluated in the same batches every time, so a greedy
   * answer does not depend on what ran before. A thinking block the model writes anyway comes
   * back as thoughts.
   */
  private async chatGenerate(
    prompt: PreparedPrompt,
    opts: GenerateOptions,
    laneIndex: number,
    grammar?: LlamaGrammar,
  ): Promise<Generation> {
    const lane = this.lanes[laneIndex % this.lanes.length]!;
    return this.exclusive(lane, async () => {
      await lane.sequence.clearHistory();
      lane.evaluatedEnds = [];
      if (prompt.tokens.length + opts.maxTokens > this.context.contextSize) {
        throw new QuestionFailedError({
          reason: `prompt of ${prompt.tokens.length} tokens plus ${opts.maxTokens} answer tokens does not fit the context of ${this.context.contextSize}; raise contextSize in models.yaml`,
          status: null,
        });
      }
      const grammarEvaluationState = grammar
        ? new LlamaGrammarEvaluationState({ model: this.model, grammar })
        : undefined;
      const generated: Token[] = [];
      let hitCap = true;
      if (opts.maxTokens > 0) {
        const iterator = lane.sequence.evaluate(prompt.tokens as Token[], {
          temperature: opts.temperature,
          seed: opts.seed,
          ...(grammarEvaluationState ? { grammarEvaluationState } : {}),
        });
        for await (const token of iterator) {
          if (this.model.isEogToken(token)) {
            hitCap = false;
            break;
          }
          generated.push(token);
          if (generated.length >= opts.maxTokens) break;
        }
        await iterator.return();
      }
      // Special tokens are written out only where they can delimit thoughts (reasoning models); an
      // ordinary model's stray control token is not text (as llama-server writes answers).
      const { text, thoughts } = splitThoughts(
        this.model.detokenize(generated, this.handling !== "none"),
        this.handling,
      );
      this.counters.evaluations += 1;
      this.counters.evaluatedTokens += prompt.tokens.length;
      this.counters.generatedTokens += generated.length;
      return {
        text,
        ...(thoughts ? { thoughts } : {}),
        generatedTokens: generated.length,
        finishReason: hitCap ? "maxTokens" : "stop",
        evaluatedTokens: prompt.tokens.length,
      };
    });
  }

  /**
   * The model file is still the one loaded: same device, inode, size, mtime and ctime.
   * llama.cpp reads the weights through mmap, so a file rewritten in place (`cp other.gguf
   * model.gguf`) changes the weights under a running model; a file replaced by rename keeps
   * the old weights mapped but is no longer the file the digest names. Either way the run stops.
   */
  verifyModel(): void {
    const now = fileIdentity(this.info.model.path!);
    if (now !== this.loadedIdentity)
      throw new UserError(
        `model file ${this.info.model.path} changed during the run (${now === undefined ? "it is gone" : "rewritten or replaced"}); the answer in progress was not kept: restore the file and run again with --resume, or start a new run for the new model`,
      );
  }

  async close(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/** `sequences` as a number: an explicit one kept, `auto` chosen from the GPU and its free VRAM (sequences.ts). */
async function sequencesFor(opts: LlamaCppOptions, llama: Llama, model: LlamaModel): Promise<SequencesChoice> {
  if (opts.sequences !== "auto" || !llama.gpu || model.gpuLayers === 0) {
    return chooseSequences(opts.sequences, {
      gpu: llama.gpu,
      gpuLayers: model.gpuLayers,
      freeVramBytes: 0,
      contextVramBytes: () => Infinity,
    });
  }
  const free = (await llama.getVramState()).free;
  const vram: number[] = [];
  for (let n = 1; n <= MAX_AUTO_SEQUENCES; n++) {
    const estimate = await model.fileInsights.estimateContextResourceRequirementsV2({
      contextSize: opts.contextSize,
      modelGpuLayers: model.gpuLayers,
      batchSize: opts.batchSize,
      sequences: n,
      flashAttention: opts.flashAttention,
      // Sliding-window models keep their whole context (load: exact prefix reuse).
      swaFullCache: model.fileInsights.swaSize !== undefined,
    });
    vram.push(estimate.gpuVram);
    if (estimate.gpuVram > free) break;
  }
  return chooseSequences("auto", {
    gpu: llama.gpu,
    gpuLayers: model.gpuLayers,
    freeVramBytes: free,
    contextVramBytes: (n) => vram[n - 1] ?? Infinity,
  });
}

/**
 * Which reasoning special tokens the vocabulary has: `<think>`/`</think>` (Qwen3-style) or
 * harmony's `<|channel|>`/`<|message|>` (GPT-OSS). A special token: control, or user-defined
 * (llama.cpp marks harmony's tokens so), never an ordinary piece that happens to spell the text.
 */
function reasoningTokens(model: LlamaModel): { think: boolean; harmony: boolean } {
  const isSingleSpecial = (text: string) => {
    const t = model.tokenize(text, true);
    if (t.length !== 1) return false;
    const attributes = model.getTokenAttributes(t[0]!);
    return attributes.control || attributes.userDefined;
  };
  return {
    harmony: isSingleSpecial("<|channel|>") && isSingleSpecial("<|message|>"),
    think: isSingleSpecial("<think>") && isSingleSpecial("</think>"),
  };
}

/** The GGUF's chat template, if it has one valuelens can render; otherwise why not. */
function ggufTemplate(model: LlamaModel): { template: ChatTemplate | null; templateNote: string } {
  const source = (model.fileInfo.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer?.chat_template;
  if (typeof source !== "string" || source.trim() === "")
    return { template: null, templateNote: "the GGUF has no chat template" };
  try {
    return {
      template: new ChatTemplate(source, model.tokens.bosString ?? "", model.tokens.eosString ?? "", "gguf"),
      templateNote: "",
    };
  } catch (err) {
    return { template: null, templateNote: `the GGUF's chat template could not be rendered: ${oneLine(err)}` };
  }
}

function textOf(text: LlamaText): string {
  return text.values
    .map((v) =>
      typeof v === "string" ? v : "value" in (v as object) ? String((v as { value: unknown }).value) : `<${String(v)}>`,
    )
    .join("");
}

/**
 * A GGUF file starts with the magic "GGUF" and a format version (2 or 3 for llama.cpp).
 * Checked before loading, so a file that is not a GGUF model gets a clear one-line error
 * (and node-llama-cpp's parser never warns about it on the console).
 */
function checkGgufHeader(file: string, bytes: number): void {
  const head = Buffer.alloc(24);
  let n = 0;
  const fd = openSync(file, "r");
  try {
    n = readSync(fd, head, 0, 24, 0);
  } finally {
    closeSync(fd);
  }
  const what = "re-download or rebuild it, or pass a .gguf model file";
  if (n < 24)
    throw new UserError(`cannot load model ${file}: the file is ${bytes} bytes, too short for a GGUF file; ${what}`);
  if (head.toString("latin1", 0, 4) !== "GGUF")
    throw new UserError(`cannot load model ${file}: not a GGUF file (it does not start with "GGUF"); ${what}`);
  const version = head.readUInt32LE(4);
  if (version !== 2 && version !== 3) {
    throw new UserError(
      `cannot load model ${file}: unsupported GGUF version ${version} (llama.cpp reads versions 2 and 3), so the file is corrupt or not a model; ${what}`,
    );
  }
  // Counts a file of this size cannot hold (a tensor's description takes at least 33 bytes, a
  // key-value pair 13): node-llama-cpp's own reader would loop over them for minutes.
  const tensors = head.readBigUInt64LE(8);
  const pairs = head.readBigUInt64LE(16);
  if (tensors * 33n > BigInt(bytes) || pairs * 13n > BigInt(bytes))
    throw new UserError(
      `cannot load model ${file}: the file is corrupt or incomplete (its header declares ${tensors} tensors and ${pairs} metadata keys, more than a file of ${bytes} bytes can hold); ${what}`,
    );
}

/** A file's device, inode, size, mtime and ctime (undefined: gone). */
function fileIdentity(file: string): string | undefined {
  try {
    const st = statSync(file, { bigint: true });
    return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(":");
  } catch {
    return undefined;
  }
}

/** The largest contextSize valuelens accepts whatever the model (2^24 tokens). */
const MAX_CONTEXT_SIZE = 2 ** 24;

/**
 * contextSize within the model's training context (`<arch>.context_length`, read from the
 * file's first megabytes with valuelens' own GGUF reader) and MAX_CONTEXT_SIZE, before
 * llama.cpp allocates it: `contextSize: 1e12` would grow to gigabytes and ignore SIGTERM.
 */
async function checkContextSize(file: string, name: string, contextSize: number): Promise<void> {
  const fix = `lower contextSize in its models.yaml entry`;
  if (!Number.isSafeInteger(contextSize) || contextSize < 1 || contextSize > MAX_CONTEXT_SIZE)
    throw new UserError(
      `model "${name}": contextSize ${contextSize} is not a token count valuelens can allocate (1 to ${MAX_CONTEXT_SIZE}); ${fix}`,
    );
  let trained: number | undefined;
  try {
    // general.* first, then the architecture's keys: stop at its context length.
    const meta = parseGgufMetadata(await readFilePrefix(file, 4 << 20), {
      stopAfter: (key) => key.endsWith(".context_length"),
    });
    const arch = meta.metadata.find(([k]) => k === "general.architecture")?.[1].value as string | undefined;
    const value = meta.metadata.find(([k]) => k === `${arch}.context_length`)?.[1].value;
    trained = typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : undefined;
  } catch {
    trained = undefined; // a header llama.cpp will judge itself
  }
  if (trained !== undefined && trained > 0 && contextSize > trained)
    throw new UserError(
      `model "${name}": contextSize ${contextSize} is more than the ${trained} tokens ${file} was trained for; ${fix} (at most ${trained})`,
    );
}

/** The most telling llama.cpp log line of a failed load, without its function-name prefixes. */
function loadFailureDetail(logs: readonly string[]): string | undefined {
  const clean = logs
    .map((l) =>
      l
        .trim()
        .replace(/^\w+:\s*/, "")
        .replace(/^error loading model:\s*/, "")
        .replace(/^\w+:\s*/, ""),
    )
    .filter((l) => l !== "" && !/^failed to load model/i.test(l));
  return clean[0]?.split("\n")[0];
}

function oneLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split("\n")[0] ?? "";
}
