/**
 * Questions of the dilemma suite (the 6-point protocol): for every persona and dilemma, the
 * value question ("stated") and the action question, each repeated with a fresh option order.
 *
 * Option orders are balanced over cycles of six repeats (every option in every position once;
 * src/questions/optionOrder.ts) and seeded by the dilemma and the question, NOT the persona:
 * on a given repeat every persona sees the same order, so a persona-vs-baseline difference is
 * never an option-order difference.
 *
 * Evaluation order: persona, dilemma, question, repeat, so that consecutive questions share
 * the system message, the dilemma and the question stem (prefix reuse in the KV cache).
 */
import type { Dilemma } from "./schema.js";
import type { RunPersona } from "../../personas/runPersonas.js";
import { actionQuestionPrompt, SIXPOINT_OPTIONS, valueQuestionPrompt } from "./sixpoint.js";
import { optionOrder } from "../../questions/optionOrder.js";
import type { Question, Task } from "../../questions/question.js";

export interface DilemmaBuildOptions {
  tasks: Task[];
  repeats: number;
  seed: number;
  personas: readonly RunPersona[];
  /** Keep only dilemmas of these topics / values (absent = all). */
  topics?: readonly string[];
  values?: readonly string[];
  /** Keep only the first N dilemmas (after the filter). */
  limit?: number;
}

/** The dilemmas a run asks: those passing the topic/value filter, in file order, the first `limit`. */
export function selectDilemmas(
  dilemmas: readonly Dilemma[],
  opts: Pick<DilemmaBuildOptions, "topics" | "values" | "limit">,
): Dilemma[] {
  const kept = dilemmas.filter(
    (d) => (!opts.topics || opts.topics.includes(d.topic)) && (!opts.values || opts.values.includes(d.value)),
  );
  return opts.limit === undefined ? kept : kept.slice(0, opts.limit);
}

/** The option-order key of a dilemma question (shared by all personas). */
function orderKey(task: Task, d: Dilemma): string {
  return `sixpoint/${task}/${d.id}`;
}

export function buildDilemmaQuestions(dilemmas: readonly Dilemma[], opts: DilemmaBuildOptions): Question[] {
  const out: Question[] = [];
  const selected = selectDilemmas(dilemmas, opts);
  for (const persona of opts.personas) {
    for (const d of selected) {
      for (const task of opts.tasks) {
        const options = SIXPOINT_OPTIONS[task];
        for (let repeat = 0; repeat < opts.repeats; repeat++) {
          const order = optionOrder(options.length, repeat, opts.seed, orderKey(task, d));
          const prompt = task === "stated" ? valueQuestionPrompt(d, order) : actionQuestionPrompt(d, order);
          out.push({
            id: `sixpoint/${task}/${persona.ref.id}/${d.id}/r${repeat}`,
            protocol: "sixpoint",
            task,
            country: persona.ref.country ?? "",
            topic: d.topic,
            value: d.value,
            variant: null,
            repeat,
            segments: prompt.segments,
            order: order.map((i) => options[i]!),
            letters: prompt.letters,
            dilemma: d.id,
            persona: persona.ref,
            ...(persona.system !== undefined ? { system: persona.system } : {}),
          });
        }
      }
    }
  }
  return out;
}
