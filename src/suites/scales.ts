/** Scores on ordered answer scales, shared by the suites' letter scores. */

/** Expected index on an ordered scale, divided by its last index: 0 = first option .. 1 = last. */
export function expectedPosition(scale: readonly string[], optionProbs: Record<string, number>): number {
  let expected = 0;
  scale.forEach((label, position) => (expected += position * (optionProbs[label] ?? 0)));
  return expected / (scale.length - 1);
}
