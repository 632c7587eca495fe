/**
 * llama.cpp's own server (`llama-server`) on its native API: the same engine as the embedded
 * backend, on another machine or with another build (CUDA, ROCm, Metal).
 *
 * The same question reaches the model as the same tokens as on the embedded backend:
 * valuelens renders the prompt itself from the server's chat template (`/props`) with the
 * pinned variables (src/templates/), has the server tokenize that text (`/tokenize`: BOS added
 * where the vocabulary asks, special tokens parsed, as the embedded backend does), and sends the
 * tokens to `/completion`. The server's own chat rendering and output parsing are never used,
 * so a date change, a template default or a tool-call parser cannot change or break an answer.
 *
 * Letters: the prompt is evaluated segment by segment in the lane's server slot (`id_slot`,
 * `cache_prompt`, `n_predict: 0` for each segment but the last), exactly the batches the
 * embedded backend evaluates, so the numbers agree with it; a segment still cached in the slot
 * from the previous question is not sent again. The last request reads the next-token
 * distribution with `n_probs`: first the top `N_PROBS_FIRST` tokens; spellings of a letter not
 * among them count as 0 only while together they could move no probability by more than
 * `LEFT_OUT_SHIFT_LIMIT` (the record carries the bound), else the whole vocabulary is read
 * (`readTopK`). Letter spellings come from the server's vocabulary (every token's text, read once).
 *
 * Generation: the prompt is evaluated afresh (not from the slot's cache), then greedy answers are decoded one token per request (the
 * server reports its most probable next token; see `greedySteps`), so the server's output
 * parser never sees the answer and the answer does not depend on what the slot held before.
 * Answers constrained by a JSON schema are sampled by the server in one request.
 *
 * The cache key: the server reports no weights digest, so the model is identified by its path,
 * size and shape (`/v1/models`), the template's sha256 and the server build; `digest:` in the
 * models.yaml entry pins it instead.
 */
import { z } from "zod";
import { digestOf } from "../util/hash.js";
import { UserError } from "../util/errors.js";
import type {
  Backend,
  BackendInfo,
  EvaluationCounters,
  GenerateOptions,
  Generation,
  LeftOutSpellings,
  LetterScores,
  PreparedPrompt,
  PrepareOptions,
} from "./backend.js";
import { newCounters, QuestionFailedError } from "./backend.js";
import { renormalizationShiftBound, scoreSpellings, spellingsInVocabulary } from "./tokenLetters.js";
import { parseReply, type ServerClient, serverClient, trimSlash, type ServerConnectionOptions } from "./http/client.js";
import { ChatTemplate } from "../templates/chatTemplate.js";
import {
  commonPrefixLength,
  reasoningHandling,
  renderQuestion,
  segmentTokenEnds,
  splitThoughts,
  type ReasoningHandling,
} from "../templates/prompt.js";

/** Top tokens asked for first; the whole vocabulary only when the spellings not among them could matter (readTopK). */
export const N_PROBS_FIRST = 256;

/**
 * The most the letter spellings left out of a top-K read may move a renormalized probability or
 * the score (their bound, `renormalizationShiftBound`); above it the whole vocabulary is read.
 */
export const LEFT_OUT_SHIFT_LIMIT = 1e-6;

/**
 * What a top-K read of the next-token distribution gives the letters. Every spelling returned:
 * read. Some not returned: each has probability at most the K-th returned one's (the server
 * returns the K most probable), so together at most d = min(spellings x p_K, 1 - returned total),
 * which moves a renormalized probability or the score by at most d / (M + d) (M: the letter mass
 * read). Within LEFT_OUT_SHIFT_LIMIT they are counted as 0 and the bound is recorded
 * (`leftOut`); beyond it (always when no letter mass was read, M = 0, or the list came back
 * shorter than K) the whole vocabulary is fetched.
 */
export function readTopK(
  top: ReadonlyMap<number, { p: number }>,
  spellings: ReadonlyMap<string, readonly number[]>,
  topK: number,
  vocabSize: number,
): { fetchAll: boolean; leftOut?: LeftOutSpellings } {
  const wanted = new Set([...spellings.values()].flat());
  const missing = [...wanted].filter((id) => !top.has(id)).length;
  if (missing === 0 || topK >= vocabSize) return { fetchAll: false };
  const ps = [...top.values()].map((t) => t.p);
  if (ps.length < topK) return { fetchAll: true }; // a list cut short bounds nothing
  const tokenBound = Math.min(...ps);
  const returned = ps.reduce((a, b) => a + b, 0);
  const massBound = Math.min(missing * tokenBound, Math.max(0, 1 - returned));
  let mass = 0;
  for (const id of wanted) mass += top.get(id)?.p ?? 0;
  if (renormalizationShiftBound(mass, massBound) > LEFT_OUT_SHIFT_LIMIT) return { fetchAll: true };
  return { fetchAll: false, leftOut: { spellings: missing, topK, tokenBound, massBound } };
}

export interface LlamaServerOptions extends ServerConnectionOptions {
  name: string;
  /** e.g. http://127.0.0.1:8080 (the server's root, not /v1). */
  baseUrl: string;
  /** Pins the model's identity in the cache key (e.g. the GGUF's sha256). */
  digest?: string;
}

const PropsReply = z.object({
  chat_template: z.string(),
  bos_token: z.string().nullish(),
  eos_token: z.string().nullish(),
  total_slots: z.number().int().positive(),
  model_path: z.string().nullish(),
  build_info: z.string().nullish(),
  default_generation_settings: z.object({ n_ctx: z.number().int().positive() }).passthrough().nullish(),
});
const ModelsReply = z.object({
  data: z
    .array(
      z.object({
        id: z.string(),
        meta: z
          .object({
            n_vocab: z.number().int().positive(),
            n_params: z.number().nullish(),
            size: z.number().nullish(),
            n_embd: z.number().nullish(),
            ftype: z.string().nullish(),
          })
          .passthrough(),
      }),
    )
    .min(1),
});
const TokenizeReply = z.object({ tokens: z.array(z.number().int()) });
const TopToken = z.object({
  id: z.number().int(),
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()).nullish(),
});
const CompletionReply = z.object({
  content: z.string(),
  stop_type: z.string().nullish(),
  tokens_predicted: z.number().nullish(),
  tokens_evaluated: z.number().nullish(),
  timings: z.object({ cache_n: z.number().nullish(), prompt_n: z.number().nullish() }).passthrough().nullish(),
  completion_probabilities: z.array(z.object({ top_logprobs: z.array(TopToken) })).nullish(),
});

/** A fixed prompt whose next-token distribution fingerprints a server's weights. */
const CANARY_PROMPT = "The value-action gap of a language model is";
/** Top tokens of the canary kept and compared. */
const CANARY_TOP = 20;
/** How often the canary is read again during a run. */
const CANARY_EVERY_MS = 30_000;
/** Largest change of a canary probability taken for the same weights (batching and slots move the last digits). */
const CANARY_TOLERANCE = 1e-3;

/** The canary's top tokens: id and probability, most probable first. */
type Canary = { id: number; p: number }[];

async function readCanary(http: ServerClient, lane: Lane, tokens: number[]): Promise<Canary> {
  const r = await http.retryOn(lane.endpoint, () =>
    postJson(
      http,
      lane.endpoint,
      "/completion",
      {
        prompt: tokens,
        n_predict: 1,
        n_probs: CANARY_TOP,
        temperature: 0,
        cache_prompt: false,
        id_slot: lane.slot,
        stream: false,
      },
      CompletionReply,
    ),
  );
  const list = r.completion_probabilities?.[0]?.top_logprobs ?? [];
  return list.map((t) => ({ id: t.id, p: Math.exp(t.logprob) }));
}

/** The canary in the cache key: its top tokens with probabilities rounded to 1e-4. */
function canaryFingerprint(c: Canary): string {
  return digestOf(c.map((t) => [t.id, Math.round(t.p * 1e4) / 1e4]));
}

/** How two canaries differ beyond CANARY_TOLERANCE, or undefined when they do not. */
function canaryDifference(a: Canary, b: Canary): string | undefined {
  const pb = new Map(b.map((t) => [t.id, t.p]));
  const floor = Math.min(a.at(-1)?.p ?? 0, b.at(-1)?.p ?? 0);
  for (const t of a) {
    const q = pb.get(t.id);
    // A token missing from the other top list had at most the other list's last probability.
    if (q === undefined ? t.p - floor > CANARY_TOLERANCE : Math.abs(q - t.p) > CANARY_TOLERANCE)
      return `token ${t.id}: ${t.p.toFixed(4)} then ${q === undefined ? "not in the top" : q.toFixed(4)}`;
  }
  if (a.length !== b.length) return `${a.length} then ${b.length} top tokens`;
  return undefined;
}

interface Lane {
  endpoint: string;
  slot: number;
  /** What this valuelens process evaluated into the slot: tokens and segment ends. */
  tokens: number[];
  evaluatedEnds: number[];
  busy: Promise<unknown>;
}

/** A prepared prompt's text and where its segments end (characters), for tokenizing on the server. */
interface PendingPrompt {
  text: string;
  charEnds: number[];
}

const PREFIX_CACHE_SIZE = 512;
/** Logit bias that makes the server sample the plain token (probabilities are read before sampling, unbiased). */
const PIN_BIAS = 1e6;

export class LlamaServerBackend implements Backend {
  readonly counters: EvaluationCounters = newCounters();
  readonly reusesPrefixes = true;
  private readonly pending = new WeakMap<PreparedPrompt, PendingPrompt>();
  private readonly tokenCache = new Map<string, number[]>();
  private readonly spellingCache = new Map<string, Map<string, number[]>>();

  private constructor(
    readonly info: BackendInfo,
    private readonly http: ServerClient,
    private readonly lanes: Lane[],
    private readonly template: ChatTemplate,
    private readonly handling: ReasoningHandling,
    private readonly addBos: boolean,
    /** Every token's text (index = token id), for letter spellings. */
    private readonly vocab: string[],
    /** Every token's bytes (index = token id), for generated text. */
    private readonly vocabBytes: Buffer[],
    /** End-of-generation tokens. */
    private readonly eog: ReadonlySet<number>,
    /** A token of plain ASCII text, what the server is made to sample during greedy steps. */
    private readonly plainToken: number,
    private readonly nCtx: number,
  ) {}

  get laneCount(): number {
    return this.lanes.length;
  }

  static async open(opts: LlamaServerOptions): Promise<LlamaServerBackend> {
    const http = serverClient(opts);
    const endpoints = http.endpoints;
    const props = await Promise.all(endpoints.map((e) => http.getJson("/props", PropsReply, e)));
    const models = await Promise.all(endpoints.map((e) => http.getJson("/v1/models", ModelsReply, e)));
    const first = props[0]!;
    const model = models[0]!.data[0]!;
    for (let i = 1; i < endpoints.length; i++) {
      if (
        props[i]!.chat_template !== first.chat_template ||
        models[i]!.data[0]!.meta.n_vocab !== model.meta.n_vocab ||
        props[i]!.build_info !== first.build_info
      ) {
        throw new UserError(
          `${endpoints[i]} serves another model, template or build than ${endpoints[0]}; list only servers of one model in "endpoints" of "${opts.name}"`,
        );
      }
    }
    let template: ChatTemplate;
    try {
      template = new ChatTemplate(first.chat_template, first.bos_token ?? "", first.eos_token ?? "", "server");
    } catch (err) {
      throw new UserError(
        `${endpoints[0]}: the server's chat template cannot be rendered by valuelens (${String((err as Error).message).split("\n")[0]}); start the server with --chat-template-file`,
      );
    }
    const tokenize = (content: string, parseSpecial = true) =>
      http
        .retryOn(endpoints[0]!, () =>
          postJson(
            http,
            endpoints[0]!,
            "/tokenize",
            { content, add_special: false, parse_special: parseSpecial },
            TokenizeReply,
          ),
        )
        .then((r) => r.tokens);
    // BOS: the vocabulary adds it when tokenizing with add_special.
    const withSpecial = await http.retryOn(endpoints[0]!, () =>
      postJson(
        http,
        endpoints[0]!,
        "/tokenize",
        { content: "a", add_special: true, parse_special: true },
        TokenizeReply,
      ),
    );
    const plain = await tokenize("a");
    const addBos =
      withSpecial.tokens.length > plain.length &&
      commonPrefixLength(withSpecial.tokens.slice(1), plain) === plain.length;
    // A special token of the vocabulary: one token when special tokens are parsed. (llama.cpp
    // matches user-defined tokens, as Qwen3's <think> and harmony's <|channel|> are, even
    // without parsing, so the unparsed tokenization cannot tell them from ordinary pieces.)
    const isSpecial = async (text: string) => (await tokenize(text, true)).length === 1;
    const handling = reasoningHandling({
      harmony: (await isSpecial("<|channel|>")) && (await isSpecial("<|message|>")),
      think: (await isSpecial("<think>")) && (await isSpecial("</think>")),
    });
    const nVocab = model.meta.n_vocab;
    const { texts: vocab, bytes: vocabBytes } = await readVocabulary(
      http,
      endpoints[0]!,
      nVocab,
      withSpecial.tokens[0] ?? 0,
      plain[0] ?? 0,
    );
    // End of generation: EOS and the end-of-turn tokens llama.cpp itself treats so, where they are special tokens.
    const eog = new Set<number>();
    for (const text of [first.eos_token ?? "", ...EOG_TEXTS]) {
      if (text && (await isSpecial(text))) eog.add((await tokenize(text, true))[0]!);
    }
    const lanes: Lane[] = [];
    for (const [i, endpoint] of endpoints.entries()) {
      const slots = Math.min(props[i]!.total_slots, opts.concurrency);
      for (let slot = 0; slot < slots; slot++)
        lanes.push({ endpoint, slot, tokens: [], evaluatedEnds: [], busy: Promise.resolve() });
    }
    const concurrentSlots = Math.max(...endpoints.map((_, i) => Math.min(props[i]!.total_slots, opts.concurrency)));
    if (concurrentSlots > 1)
      process.stderr.write(
        `warning: ${opts.name}: llama-server answers ${concurrentSlots} requests at once (slots), so probabilities differ between runs in their last digits; concurrency: 1 in the models.yaml entry (or -np 1) makes records repeat bit for bit\n`,
      );
    // The canary: the full top of one fixed prompt's next-token distribution, per server. The
    // weights, not the reported path, decide it (two models at one path, same shape, differ).
    const canaryTokens = await tokenize(CANARY_PROMPT, false);
    const canaries: Canary[] = [];
    for (const endpoint of endpoints) {
      const lane = lanes.find((l) => l.endpoint === endpoint)!;
      canaries.push(await readCanary(http, lane, canaryTokens));
    }
    for (let i = 1; i < canaries.length; i++)
      if (canaryDifference(canaries[0]!, canaries[i]!) !== undefined)
        throw new UserError(
          `${endpoints[i]} answers the canary prompt otherwise than ${endpoints[0]}: they serve different weights; list only servers of one model in "endpoints" of "${opts.name}"`,
        );
    const canary = canaryFingerprint(canaries[0]!);
    const identity = {
      modelPath: first.model_path ?? model.id,
      nVocab,
      nParams: model.meta.n_params ?? null,
      size: model.meta.size ?? null,
      ftype: model.meta.ftype ?? null,
      template: template.info.sha256,
      build: first.build_info ?? null,
    };
    const sha256 = opts.digest
      ? /^[0-9a-f]{64}$/i.test(opts.digest)
        ? opts.digest.toLowerCase()
        : digestOf({ pinned: opts.digest })
      : digestOf(identity);
    const info: BackendInfo = {
      engine: "llama-server",
      engineVersion: `llama-server ${first.build_info ?? "(build not reported)"}`,
      model: {
        name: opts.name,
        path: `${trimSlash(opts.baseUrl)} (${first.model_path ?? model.id})`,
        sha256,
        bytes: model.meta.size ?? undefined,
        description: opts.digest
          ? "digest pinned in models.yaml"
          : "identified by the server's model path, size, shape, template and build",
      },
      outputOptions: {
        template: template.info,
        letterMethod: "logprobs",
        nProbs: `${N_PROBS_FIRST}, else the whole vocabulary when the spellings left out could move a probability by more than ${LEFT_OUT_SHIFT_LIMIT}`,
        ...(opts.digest ? {} : { identity }),
        // What the weights answer to a fixed prompt (canary): in the key beside the reported identity.
        canary,
        // Requests in flight per server, only when above 1 (one at a time keeps the old keys):
        // the server batches concurrent requests, and their last digits depend on timing.
        ...(concurrentSlots > 1 ? { concurrentSlots } : {}),
      },
      otherOptions: {
        endpoints,
        slots: lanes.length,
        serverSlots: props.map((p) => p.total_slots),
        timeoutMs: opts.timeoutMs,
        retries: opts.retries,
      },
      chatWrapper: `the server's chat template rendered by valuelens (sha256 ${template.info.sha256.slice(0, 12)}), pinned variables ${JSON.stringify(template.info.pinned)}; tokens sent to /completion`,
      reasoning: handling,
      hardware: { server: "llama-server", endpoints: endpoints.length, slots: lanes.length },
      letterMethod: "logprobs",
    };
    const nCtx = Math.min(...props.map((p) => p.default_generation_settings?.n_ctx ?? Infinity));
    const backend = new LlamaServerBackend(
      info,
      http,
      lanes,
      template,
      handling,
      addBos,
      vocab,
      vocabBytes,
      eog,
      plain[0] ?? 0,
      nCtx,
    );
    backend.canary = { tokens: canaryTokens, reference: canaries[0]!, checkedAt: Date.now() };
    return backend;
  }

  /** The canary read at open, and when it was last read again (verifyModel). */
  private canary: { tokens: number[]; reference: Canary; checkedAt: number } | undefined;

  /**
   * Every CANARY_EVERY_MS, before an answer is kept: the canary prompt again, on the lane that
   * answered (whose slot tracking starts afresh). A changed distribution means the server now
   * serves other weights: the run stops in one line, this answer not kept.
   */
  async verifyModel(laneIndex = 0): Promise<void> {
    const c = this.canary;
    if (!c || Date.now() - c.checkedAt < CANARY_EVERY_MS) return;
    const lane = this.lanes[laneIndex % this.lanes.length]!;
    const now = await readCanary(this.http, lane, c.tokens);
    lane.tokens = [];
    lane.evaluatedEnds = [];
    c.checkedAt = Date.now();
    const difference = canaryDifference(c.reference, now);
    if (difference !== undefined)
      throw new UserError(
        `${lane.endpoint} now serves other weights than when the run started (its answer to the canary prompt changed: ${difference}); the answer in progress was not kept: restart the server with the run's model and run again with --resume, or start a new run`,
      );
  }

  /** The prompt text (rendered here, tokenized on the server when it is asked). */
  prepare(segments: string[], opts: PrepareOptions): PreparedPrompt {
    const q = renderQuestion(this.template, segments, {
      system: opts.system,
      handling: this.handling,
      addBos: this.addBos,
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.answerPrefix !== undefined ? { answerPrefix: opts.answerPrefix } : {}),
    });
    const prepared: PreparedPrompt = {
      text: q.text,
      tokens: [],
      segmentEnds: [],
      userMessage: segments.join(""),
      system: opts.system,
      mode: opts.mode,
      ...(opts.history ? { history: opts.history } : {}),
      ...(opts.answerPrefix !== undefined ? { answerPrefix: opts.answerPrefix } : {}),
    };
    this.pending.set(prepared, { text: q.text, charEnds: q.segmentCharEnds });
    return prepared;
  }

  /** Tokens and segment boundaries of a prepared prompt, from the server's tokenizer. */
  async tokensOf(prompt: PreparedPrompt, endpoint: string): Promise<{ tokens: number[]; segmentEnds: number[] }> {
    if (prompt.tokens.length > 0) return { tokens: prompt.tokens, segmentEnds: prompt.segmentEnds };
    const pending = this.pending.get(prompt) ?? { text: prompt.text, charEnds: [] };
    const tokens = await this.tokenize(pending.text, endpoint);
    const prefixes = await Promise.all(pending.charEnds.map((c) => this.tokenize(pending.text.slice(0, c), endpoint)));
    const segmentEnds = segmentTokenEnds(tokens, pending.charEnds, (_c) => prefixes.shift()!);
    return { tokens, segmentEnds };
  }

  private async tokenize(text: string, endpoint: string): Promise<number[]> {
    const hit = this.tokenCache.get(text);
    if (hit) return hit;
    const r = await this.http.retryOn(endpoint, () =>
      postJson(
        this.http,
        endpoint,
        "/tokenize",
        { content: text, add_special: true, parse_special: true },
        TokenizeReply,
      ),
    );
    if (this.tokenCache.size >= PREFIX_CACHE_SIZE) this.tokenCache.delete(this.tokenCache.keys().next().value!);
    this.tokenCache.set(text, r.tokens);
    return r.tokens;
  }

  async scoreLetters(prompt: PreparedPrompt, letters: string[], laneIndex = 0): Promise<LetterScores> {
    const lane = this.lanes[laneIndex % this.lanes.length]!;
    return this.exclusive(lane, () => this.scoreOnLane(lane, prompt, letters));
  }

  private exclusive<T>(lane: Lane, fn: () => Promise<T>): Promise<T> {
    const run = lane.busy.then(fn, fn);
    lane.busy = run.catch(() => {});
    return run;
  }

  private async scoreOnLane(lane: Lane, prompt: PreparedPrompt, letters: string[]): Promise<LetterScores> {
    const { tokens, segmentEnds } = await this.tokensOf(prompt, lane.endpoint);
    if (tokens.length >= this.nCtx) {
      throw new QuestionFailedError({
        reason: `prompt of ${tokens.length} tokens does not fit the server's context of ${this.nCtx} per slot; start llama-server with a larger -c (or fewer -np slots)`,
        status: null,
      });
    }
    // Reuse whole segments this lane evaluated into its slot with the same tokens.
    let reuse = 0;
    for (const end of segmentEnds.slice(0, -1)) {
      if (
        !lane.evaluatedEnds.includes(end) ||
        end > lane.tokens.length ||
        commonPrefixLength(lane.tokens, tokens, end) < end
      )
        break;
      reuse = end;
    }
    lane.evaluatedEnds = lane.evaluatedEnds.filter((e) => e <= reuse);
    lane.tokens = tokens.slice(0, reuse);
    try {
      for (const end of segmentEnds.slice(0, -1)) {
        if (end <= reuse || end >= tokens.length) continue;
        await this.complete(lane, { prompt: tokens.slice(0, end), n_predict: 0 });
        lane.evaluatedEnds.push(end);
        lane.tokens = tokens.slice(0, end);
      }
      const spellings = this.letterSpellings(letters);
      let nProbs = Math.min(N_PROBS_FIRST, this.vocab.length);
      let top = await this.lastTokenProbs(lane, tokens, nProbs);
      let read = readTopK(top, spellings, nProbs, this.vocab.length);
      if (read.fetchAll) {
        // The whole vocabulary: every spelling is read, none left out.
        nProbs = this.vocab.length;
        top = await this.lastTokenProbs(lane, tokens, nProbs);
        read = { fetchAll: false };
      }
      lane.evaluatedEnds.push(tokens.length);
      lane.tokens = tokens;
      this.counters.evaluations += 1;
      this.counters.evaluatedTokens += tokens.length - reuse;
      this.counters.reusedTokens += reuse;
      return {
        ...this.lettersFrom(top, spellings, letters, nProbs, segmentEnds.length, tokens.length - reuse, reuse),
        ...(read.leftOut ? { leftOut: read.leftOut } : {}),
      };
    } catch (err) {
      lane.tokens = [];
      lane.evaluatedEnds = [];
      throw err;
    }
  }

  /** The next-token probabilities after the whole prompt (top `nProbs`, by token id). */
  private async lastTokenProbs(
    lane: Lane,
    tokens: number[],
    nProbs: number,
  ): Promise<Map<number, { p: number; text: string }>> {
    const r = await this.complete(lane, { prompt: tokens, n_predict: 1, n_probs: nProbs, temperature: 0 });
    const list = r.completion_probabilities?.[0]?.top_logprobs;
    if (!list || list.length === 0)
      throw new UserError(
        `${lane.endpoint}/completion returned no token probabilities; is this llama-server build too old for n_probs?`,
      );
    return new Map(list.map((t) => [t.id, { p: Math.exp(t.logprob), text: t.token }]));
  }

  private lettersFrom(
    top: Map<number, { p: number; text: string }>,
    spellings: Map<string, number[]>,
    letters: string[],
    nProbs: number,
    segments: number,
    evaluatedTokens: number,
    reusedTokens: number,
  ): LetterScores {
    const { probs, mass, perLetter } = scoreSpellings(
      letters,
      spellings,
      (id) => top.get(id)?.p ?? 0,
      (id) => this.vocab[id] ?? String(id),
    );
    let topToken = { text: "", p: 0 };
    for (const [id, t] of top) if (t.p > topToken.p) topToken = { text: this.vocab[id] ?? t.text, p: t.p };
    return {
      probs,
      mass,
      perLetter,
      topToken,
      method: `segments/${segments}:n-probs:${nProbs === this.vocab.length ? "all" : nProbs}`,
      evaluatedTokens,
      reusedTokens,
    };
  }

  /** Every single-token spelling of each letter (token text trimmed = the letter), from the server's vocabulary. */
  letterSpellings(letters: string[]): Map<string, number[]> {
    const key = letters.join(",");
    const cached = this.spellingCache.get(key);
    if (cached) return cached;
    const found = spellingsInVocabulary(
      letters,
      this.vocab.map((text, id) => [id, text] as const),
    );
    this.spellingCache.set(key, found);
    return found;
  }

  /** A token's text (from the server's vocabulary). */
  tokenText(token: number): string {
    return this.vocab[token] ?? "";
  }

  async generate(prompt: PreparedPrompt, opts: GenerateOptions, laneIndex = 0): Promise<Generation> {
    return this.generation(prompt, opts, laneIndex);
  }

  /** Generation constrained by a JSON schema (the server's `json_schema` grammar). */
  async generateJson(
    prompt: PreparedPrompt,
    schema: object,
    opts: GenerateOptions,
    laneIndex = 0,
  ): Promise<Generation> {
    return this.generation(prompt, opts, laneIndex, schema);
  }

  private async generation(
    prompt: PreparedPrompt,
    opts: GenerateOptions,
    laneIndex: number,
    schema?: object,
  ): Promise<Generation> {
    const lane = this.lanes[laneIndex % this.lanes.length]!;
    return this.exclusive(lane, async () => {
      const { tokens } = await this.tokensOf(prompt, lane.endpoint);
      if (tokens.length + opts.maxTokens > this.nCtx) {
        throw new QuestionFailedError({
          reason: `prompt of ${tokens.length} tokens plus ${opts.maxTokens} answer tokens does not fit the server's context of ${this.nCtx} per slot; start llama-server with a larger -c`,
          status: null,
        });
      }
      // Evaluated afresh (the first request does not reuse the slot's cache), so the answer does not depend on what it held.
      lane.tokens = [];
      lane.evaluatedEnds = [];
      const greedy = opts.temperature === 0 && !schema;
      const { raw, generatedTokens, hitCap } = greedy
        ? await this.greedySteps(lane, tokens, opts.maxTokens)
        : await this.sampled(lane, tokens, opts, schema);
      const { text, thoughts } = splitThoughts(raw, this.handling);
      this.counters.evaluations += 1;
      this.counters.evaluatedTokens += tokens.length;
      this.counters.generatedTokens += generatedTokens;
      return {
        text,
        ...(thoughts ? { thoughts } : {}),
        generatedTokens,
        finishReason: hitCap ? "maxTokens" : "stop",
        evaluatedTokens: tokens.length,
      };
    });
  }

  /**
   * Greedy decoding one token per request: the server evaluates the prompt (then one token at a
   * time, from its slot cache) and reports the most probable next token (`n_probs: 1`, read
   * before sampling), which valuelens appends. What the server itself samples is pinned to a
   * plain ASCII token by `logit_bias` and discarded, so the server's output parser (which
   * rejects an answer that is not valid UTF-8, e.g. one cut inside a character) never sees the
   * model's answer. Stops at an end-of-generation token or `maxTokens`.
   */
  private async greedySteps(
    lane: Lane,
    tokens: number[],
    maxTokens: number,
  ): Promise<{ raw: string; generatedTokens: number; hitCap: boolean }> {
    const out: number[] = [];
    for (let i = 0; i < maxTokens; i++) {
      const r = await this.complete(lane, {
        prompt: [...tokens, ...out],
        n_predict: 1,
        n_probs: 1,
        temperature: 0,
        cache_prompt: i > 0,
      });
      const next = r.completion_probabilities?.[0]?.top_logprobs[0]?.id;
      if (next === undefined)
        throw new UserError(
          `${lane.endpoint}/completion returned no token probabilities; is this llama-server build too old for n_probs?`,
        );
      if (this.eog.has(next)) return { raw: this.textOf(out), generatedTokens: out.length, hitCap: false };
      out.push(next);
    }
    return { raw: this.textOf(out), generatedTokens: out.length, hitCap: true };
  }

  /** One request that samples the whole answer (a JSON schema's grammar keeps it valid text). */
  private async sampled(
    lane: Lane,
    tokens: number[],
    opts: GenerateOptions,
    schema?: object,
  ): Promise<{ raw: string; generatedTokens: number; hitCap: boolean }> {
    const r = await this.complete(
      lane,
      {
        prompt: tokens,
        n_predict: opts.maxTokens,
        temperature: opts.temperature,
        seed: opts.seed ?? 0,
        cache_prompt: false,
        ...(schema ? { json_schema: schema } : {}),
      },
      { pinSampled: false },
    );
    return { raw: r.content, generatedTokens: r.tokens_predicted ?? 0, hitCap: r.stop_type === "limit" };
  }

  /** The text of generated tokens (their bytes joined, then decoded once). */
  private textOf(tokens: number[]): string {
    return Buffer.concat(tokens.map((t) => this.vocabBytes[t] ?? Buffer.alloc(0))).toString("utf8");
  }

  /**
   * One `/completion` request on the lane's slot (prompt caching on unless asked otherwise).
   * Unless the answer itself is wanted (`sampled`), what the server samples is pinned to a plain
   * ASCII token: valuelens reads probabilities, and the server's output parser fails on a token
   * that is not whole UTF-8 (HTTP 500), which a byte-fallback token can be.
   */
  private complete(
    lane: Lane,
    body: Record<string, unknown>,
    opts: { pinSampled?: boolean } = {},
  ): Promise<z.infer<typeof CompletionReply>> {
    const pin = opts.pinSampled === false ? {} : { logit_bias: [[this.plainToken, PIN_BIAS]] };
    return this.http.retryOn(lane.endpoint, () =>
      postJson(
        this.http,
        lane.endpoint,
        "/completion",
        { cache_prompt: true, id_slot: lane.slot, stream: false, ...pin, ...body },
        CompletionReply,
      ),
    );
  }

  async close(): Promise<void> {}
}

async function postJson<S extends z.ZodType>(
  http: ServerClient,
  endpoint: string,
  path: string,
  body: unknown,
  schema: S,
): Promise<z.output<S>> {
  const url = endpoint + path;
  const res = await http.fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...http.opts.headers },
    body: JSON.stringify(body),
  });
  return parseReply(url, await res.text(), schema);
}

/** Texts llama.cpp treats as end of generation when they are special tokens (llama-vocab.cpp). */
const EOG_TEXTS = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<|return|>",
  "<|call|>",
  "<|eom_id|>",
  "<EOT>",
  "<｜end▁of▁sentence｜>",
  "<end_of_utterance>",
];

/** Every token's text and bytes, from one full next-token distribution (n_probs = the vocabulary size). */
async function readVocabulary(
  http: ServerClient,
  endpoint: string,
  nVocab: number,
  anyToken: number,
  plainToken: number,
): Promise<{ texts: string[]; bytes: Buffer[] }> {
  const r = await http.retryOn(endpoint, () =>
    postJson(
      http,
      endpoint,
      "/completion",
      {
        prompt: [anyToken],
        n_predict: 1,
        n_probs: nVocab,
        temperature: 0,
        cache_prompt: false,
        id_slot: 0,
        logit_bias: [[plainToken, PIN_BIAS]],
      },
      CompletionReply,
    ),
  );
  const list = r.completion_probabilities?.[0]?.top_logprobs ?? [];
  if (list.length < nVocab)
    throw new UserError(
      `${endpoint}: the server returned ${list.length} of ${nVocab} token probabilities; valuelens needs a llama-server that honours n_probs up to the vocabulary size`,
    );
  const texts = new Array<string>(nVocab).fill("");
  const bytes = new Array<Buffer>(nVocab).fill(Buffer.alloc(0));
  for (const t of list) {
    bytes[t.id] = t.bytes ? Buffer.from(t.bytes) : Buffer.from(t.token, "utf8");
    texts[t.id] = bytes[t.id]!.toString("utf8");
  }
  return { texts, bytes };
}
