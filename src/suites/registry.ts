/**
 * The suite registry: every benchmark valuelens runs, one line each. The engine and the CLI
 * find a suite here by its name, or by the `protocol` tag its configs and records carry.
 */
import type { RunConfig } from "../records/manifest.js";
import { UserError } from "../util/errors.js";
import { dilemmaSuite } from "./dilemmas/index.js";
import { predictSuite } from "./predict/index.js";
import type { AnySuite, Elicitation } from "./suite.js";
import { viaSuite } from "./via/index.js";

export const SUITES: readonly AnySuite[] = [viaSuite, dilemmaSuite, predictSuite];

export const SUITE_NAMES: readonly string[] = SUITES.map((s) => s.name);

/** The suite called `name` (`run --suite`). */
export function suiteNamed(name: string): AnySuite {
  const suite = SUITES.find((s) => s.name === name);
  if (!suite) throw new UserError(`--suite: unknown suite "${name}" (use ${SUITE_NAMES.join(", ")})`);
  return suite;
}

/** The suite and elicitation a stored `protocol` tag stands for. */
export function suiteOfProtocol(protocol: string): { suite: AnySuite; elicitation: Elicitation } {
  for (const suite of SUITES)
    for (const [elicitation, tag] of Object.entries(suite.protocols))
      if (tag === protocol) return { suite, elicitation: elicitation as Elicitation };
  throw new UserError(
    `unknown protocol "${protocol}" (this valuelens knows ${SUITES.flatMap((s) => Object.values(s.protocols)).join(", ")}); the run was made by another version of valuelens`,
  );
}

/** The suite of a run config. */
export function suiteOf(config: Pick<RunConfig, "protocol">): AnySuite {
  return suiteOfProtocol(config.protocol).suite;
}

/** How a run config's questions are answered. */
export function elicitationOf(config: Pick<RunConfig, "protocol">): Elicitation {
  return suiteOfProtocol(config.protocol).elicitation;
}
