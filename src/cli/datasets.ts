import path from "node:path";
import { Command } from "commander";
import { fetchVia } from "../datasets/fetch.js";
import { SUITES } from "../suites/registry.js";
import { UserError } from "../util/errors.js";
import { datasetFlag, loadSuiteDataset } from "./common.js";

/** The suites whose dataset `datasets info` describes, by name. */
const DESCRIBED = SUITES.filter((s) => s.datasetInfo !== undefined);

function checkName(name: string, known: readonly string[]): void {
  if (!known.includes(name)) throw new UserError(`unknown dataset "${name}" (valuelens knows: ${known.join(", ")})`);
}

export function datasetsCommand(): Command {
  const cmd = new Command("datasets").description("the VIA dataset");
  cmd
    .command("fetch")
    .description("download the released VIA CSV at a pinned commit, check its sha256 and unpack it")
    .argument("<name>", "via")
    .option("--dir <dir>", "where to keep it", path.join("datasets", "cache"))
    .action(async (name: string, flags: { dir: string }) => {
      checkName(name, ["via"]);
      const file = await fetchVia({ cacheDir: path.resolve(flags.dir) });
      process.stdout.write(
        `${path.relative(process.cwd(), file)}\nuse it with: valuelens run --via ${path.relative(process.cwd(), file)} ...\n`,
      );
    });
  const info = cmd
    .command("info")
    .description("rows, usable actions, excluded rows by reason, complete (value, polarity) pairs")
    .argument("<name>", DESCRIBED.map((s) => s.name).join(" | "));
  for (const suite of DESCRIBED)
    info.option(`${suite.dataset.option} <file>`, `${suite.dataset.what} (default: the shipped sample)`);
  info.option("--json", "print JSON").action((name: string, flags: Record<string, unknown>) => {
    checkName(
      name,
      DESCRIBED.map((s) => s.name),
    );
    const suite = DESCRIBED.find((s) => s.name === name)!;
    const { dataset, label } = loadSuiteDataset(suite, datasetFlag(suite, flags));
    const described = suite.datasetInfo!(dataset);
    if (flags.json) {
      process.stdout.write(JSON.stringify(described.json) + "\n");
      return;
    }
    process.stdout.write(`${label}\n${described.lines.map((line) => `  ${line}\n`).join("")}`);
  });
  return cmd;
}
