import type { Question } from "../questions/question.js";
import { suiteOfProtocol } from "../suites/registry.js";

/**
 * Prefix grouping: consecutive questions with the same prefix key (the suite's `prefixKey`: VIA
 * groups one task, country and topic, whose questions share the scenario context; the dilemma
 * suite one persona, dilemma and task) share their leading segments, and the repeats of a
 * question share all but the last. A group runs on one lane in order, so the lane's KV cache
 * keeps the shared segments.
 */
export function prefixGroups(questions: readonly Question[]): Question[][] {
  const groups: Question[][] = [];
  let key: string | undefined;
  for (const q of questions) {
    const k = suiteOfProtocol(q.protocol).suite.prefixKey(q);
    if (k !== key) {
      groups.push([]);
      key = k;
    }
    groups[groups.length - 1]!.push(q);
  }
  return groups;
}

/**
 * Below this many prefix groups per lane, groups are split so every lane has work (and the
 * last groups do not leave lanes idle): a lane then takes the repeats of one question at a
 * time (consecutive questions whose segments are the same but for the last). Each lane
 * evaluates a split group's first segment once, so the cost is (lanes - 1) x that segment
 * per group (bench/run.ts measures evaluated tokens against the minimum).
 */
export const SPLIT_BELOW_GROUPS_PER_LANE = 4;

/** The units lanes take in turn: whole prefix groups, or, with few groups per lane, their questions' repeats. */
export function laneUnits(questions: readonly Question[], lanes: number): Question[][] {
  const groups = prefixGroups(questions);
  if (lanes <= 1 || groups.length >= SPLIT_BELOW_GROUPS_PER_LANE * lanes) return groups;
  return groups.flatMap(splitGroup);
}

function splitGroup(group: Question[]): Question[][] {
  const units: Question[][] = [];
  let key: string | undefined;
  for (const q of group) {
    // A one-segment prompt shares nothing a lane keeps: each is its own unit.
    const k = q.segments.length > 1 ? [q.system ?? "", ...q.segments.slice(0, -1)].join("\u0000") : undefined;
    if (k === undefined || k !== key) units.push([]);
    key = k;
    units[units.length - 1]!.push(q);
  }
  return units;
}
