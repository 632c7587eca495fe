/**
 * Questions: what is asked of the model, built from the dataset and the protocol wording.
 *
 * A question is one prompt on one repeat. Its id is stable (a pure function of protocol,
 * task, scenario, value or variant, and repeat), so records, resume, shards and the option
 * order all key on it.
 */
import type { ViaDataset } from "./dataset.js";
import { viaPairs } from "./dataset.js";
import { actionLettersPrompt, statedLettersPrompt } from "../../protocol/letters.js";
import { ACTION_VARIANTS, renderActionPrompt, renderStatedPrompt } from "./paper.js";
import { VALUES } from "../../protocol/values.js";
import type { RunPersona } from "../../personas/runPersonas.js";
import { optionOrder } from "../../questions/optionOrder.js";
import type { Protocol, Question, Task } from "../../questions/question.js";

/** The paper's 4-point scale for stated values, 0 = strongly agree .. 3 = strongly disagree. */
export const STATED_SCALE = ["strongly agree", "agree", "disagree", "strongly disagree"] as const;
/** Action option keys: the action that expresses the value, and the one that resists it. */
export type ActionKey = "positive" | "negative";

export interface QuestionFilter {
  countries?: string[];
  topics?: string[];
  values?: string[];
}

export interface BuildOptions {
  protocol: Protocol;
  tasks: Task[];
  repeats: number;
  seed: number;
  filter: QuestionFilter;
  /** Paper protocol variants per task. */
  statedVariants: number[];
  actionVariants: number[];
  /** Keep only the first N base questions (before repeats) of each task. */
  limit?: number;
  statedMaxTokens: number;
  actionMaxTokens: number;
  /** The persona of each country's scenarios (`--persona`); absent or null = none. */
  personaFor?: (country: string) => RunPersona | null;
}

export const DEFAULT_STATED_VARIANTS = [0, 1, 2, 3, 4, 5, 6, 7];
/** The released evaluation used Task-2 variant 5 only. */
export const DEFAULT_ACTION_VARIANTS = [5];

/** The value stem, scenario and question key shared by every repeat of a question. */
export function baseId(q: Pick<Question, "protocol" | "task" | "country" | "topic" | "value" | "variant">): string {
  const what = q.value ?? `variant${q.variant}`;
  const variant = q.value !== null && q.variant !== null ? `/v${q.variant}` : "";
  return `${q.protocol}/${q.task}/${q.country}/${q.topic}/${what}${variant}`;
}

/**
 * All questions of a run, in evaluation order: task, country, topic, value, repeat, so that
 * consecutive questions share their leading segments (prefix reuse in the KV cache).
 */
export function buildQuestions(dataset: ViaDataset, opts: BuildOptions): Question[] {
  const out: Question[] = [];
  for (const task of opts.tasks) {
    const bases = task === "stated" ? statedBases(dataset, opts) : actionBases(dataset, opts);
    const limited = opts.limit === undefined ? bases : bases.slice(0, opts.limit);
    for (const base of limited) out.push(...base());
  }
  return out;
}

type BaseQuestion = () => Question[];

function inFilter(list: string[] | undefined, item: string): boolean {
  return !list || list.includes(item);
}

/** The (country, topic, value) cells of the dataset that pass the filter, in dataset order. */
function cells(dataset: ViaDataset, filter: QuestionFilter) {
  return viaPairs(dataset).filter(
    (p) =>
      inFilter(filter.countries, p.country) && inFilter(filter.topics, p.topic) && inFilter(filter.values, p.value),
  );
}

function statedBases(dataset: ViaDataset, opts: BuildOptions): BaseQuestion[] {
  const bases: BaseQuestion[] = [];
  if (opts.protocol === "letters") {
    for (const cell of cells(dataset, opts.filter)) {
      bases.push(() =>
        repeats(opts, (repeat) => {
          const proto = {
            protocol: "letters" as const,
            task: "stated" as const,
            country: cell.country,
            topic: cell.topic,
            value: cell.value,
            variant: null,
          };
          const id = baseId(proto);
          const order = optionOrder(STATED_SCALE.length, repeat, opts.seed, id);
          const prompt = statedLettersPrompt({
            country: cell.country,
            topic: cell.topic,
            value: cell.value,
            optionOrder: order,
          });
          return {
            ...proto,
            id: `${id}/r${repeat}`,
            repeat,
            segments: prompt.segments,
            order: order.map((i) => STATED_SCALE[i]!),
            letters: prompt.letters,
            ...personaFields(opts, cell.country),
          };
        }),
      );
    }
    return bases;
  }
  // Paper protocol: one prompt per (country, topic, variant) that rates all 56 values.
  const scenarios = uniqueScenarios(cells(dataset, opts.filter));
  for (const { country, topic } of scenarios) {
    for (const variant of opts.statedVariants) {
      bases.push(() => {
        const proto = { protocol: "paper" as const, task: "stated" as const, country, topic, value: null, variant };
        const id = baseId(proto);
        return [
          {
            ...proto,
            id: `${id}/r0`,
            repeat: 0,
            segments: [renderStatedPrompt(country, topic, variant)],
            order: [],
            maxTokens: opts.statedMaxTokens,
            ...personaFields(opts, country),
          },
        ];
      });
    }
  }
  return bases;
}

function actionBases(dataset: ViaDataset, opts: BuildOptions): BaseQuestion[] {
  const bases: BaseQuestion[] = [];
  for (const cell of cells(dataset, opts.filter)) {
    const viaRows = { positive: cell.positive.row, negative: cell.negative.row };
    const text: Record<ActionKey, string> = { positive: cell.positive.action, negative: cell.negative.action };
    if (opts.protocol === "letters") {
      bases.push(() =>
        repeats(opts, (repeat) => {
          const proto = {
            protocol: "letters" as const,
            task: "action" as const,
            country: cell.country,
            topic: cell.topic,
            value: cell.value,
            variant: null,
          };
          const id = baseId(proto);
          const keys: ActionKey[] = ["negative", "positive"];
          const order = optionOrder(2, repeat, opts.seed, id).map((i) => keys[i]!);
          const prompt = actionLettersPrompt({
            country: cell.country,
            topic: cell.topic,
            value: cell.value,
            actions: order.map((k) => text[k]),
          });
          return {
            ...proto,
            id: `${id}/r${repeat}`,
            repeat,
            segments: prompt.segments,
            order,
            letters: prompt.letters,
            viaRows,
            ...personaFields(opts, cell.country),
          };
        }),
      );
      continue;
    }
    for (const variant of opts.actionVariants) {
      bases.push(() => {
        const proto = {
          protocol: "paper" as const,
          task: "action" as const,
          country: cell.country,
          topic: cell.topic,
          value: cell.value,
          variant,
        };
        const id = baseId(proto);
        // The paper's code passes the negative action as option1; variants with order 1 show it second.
        const reverse = ACTION_VARIANTS[variant]![1] === 1;
        const prompt = renderActionPrompt({
          country: cell.country,
          topic: cell.topic,
          value: cell.value,
          option1: text.negative,
          option2: text.positive,
          variant,
        });
        const order: ActionKey[] = reverse ? ["positive", "negative"] : ["negative", "positive"];
        return [
          {
            ...proto,
            id: `${id}/r0`,
            repeat: 0,
            segments: [prompt],
            order,
            viaRows,
            maxTokens: opts.actionMaxTokens,
            ...personaFields(opts, cell.country),
          },
        ];
      });
    }
  }
  return bases;
}

/** The persona fields of a question on a country's scenario (none when the run has no persona). */
function personaFields(opts: BuildOptions, country: string): Pick<Question, "persona" | "system"> {
  const p = opts.personaFor?.(country);
  return p ? { persona: p.ref, ...(p.system !== undefined ? { system: p.system } : {}) } : {};
}

function repeats(opts: BuildOptions, make: (repeat: number) => Question): Question[] {
  return Array.from({ length: opts.repeats }, (_, r) => make(r));
}

function uniqueScenarios(list: { country: string; topic: string }[]): { country: string; topic: string }[] {
  const seen = new Set<string>();
  const out: { country: string; topic: string }[] = [];
  for (const { country, topic } of list) {
    const key = `${country}\u0000${topic}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ country, topic });
    }
  }
  return out;
}

/** Number of values the paper's stated prompt asks about. */
export const PAPER_VALUE_COUNT = VALUES.length;
