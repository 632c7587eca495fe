import path from "node:path";
import { Command } from "commander";
import { fetchVia } from "../datasets/fetch.js";
import { viaInfo } from "../suites/via/dataset.js";
import { UserError } from "../util/errors.js";
import { loadDataset } from "./common.js";

function checkName(name: string): void {
  if (name !== "via") throw new UserError(`unknown dataset "${name}" (valuelens knows: via)`);
}

export function datasetsCommand(): Command {
  const cmd = new Command("datasets").description("the VIA dataset");
  cmd
    .command("fetch")
    .description("download the released VIA CSV at a pinned commit, check its sha256 and unpack it")
    .argument("<name>", "via")
    .option("--dir <dir>", "where to keep it", path.join("datasets", "cache"))
    .action(async (name: string, flags: { dir: string }) => {
      checkName(name);
      const file = await fetchVia({ cacheDir: path.resolve(flags.dir) });
      process.stdout.write(
        `${path.relative(process.cwd(), file)}\nuse it with: valuelens run --via ${path.relative(process.cwd(), file)} ...\n`,
      );
    });
  cmd
    .command("info")
    .description("rows, usable actions, excluded rows by reason, complete (value, polarity) pairs")
    .argument("<name>", "via")
    .option("--via <path>", "VIA CSV (default: the shipped sample)")
    .option("--json", "print JSON")
    .action(async (name: string, flags: { via?: string; json?: boolean }) => {
      checkName(name);
      const { dataset, label } = await loadDataset(flags.via);
      const info = viaInfo(dataset);
      if (flags.json) {
        process.stdout.write(JSON.stringify(info) + "\n");
        return;
      }
      process.stdout.write(
        `${label}\n  rows             ${info.rows}\n  usable actions   ${info.usableActions}\n  complete pairs   ${info.completePairs}\n`,
      );
      for (const [reason, n] of Object.entries(info.excluded))
        process.stdout.write(`  excluded: ${reason.padEnd(12)} ${n}\n`);
    });
  return cmd;
}
