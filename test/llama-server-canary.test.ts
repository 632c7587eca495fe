// A fingerprint for servers (issue 22): llama-server reports a model's path, size and shape,
// not its weights. Two models with the same path, size and shape used to share cache keys
// (184 of 184 answers from the cache, all of the other model). The canary (a fixed prompt's
// top-20 next-token distribution) is now in the key, and a server whose canary changes
// mid-run stops the run.
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LlamaServerBackend } from "../src/backends/llamaServer.js";
import { writeTestModel } from "../src/gguf/index.js";
import { llamaServerBinary, NO_LLAMA_SERVER, startLlamaServer } from "./helpers/llamaServer.js";
import { tinyModelPath } from "./helpers/models.js";

const haveServer = llamaServerBinary() !== undefined;
if (!haveServer) console.warn(NO_LLAMA_SERVER);

describe.skipIf(!haveServer)("llama-server canary", () => {
  it("other weights at the same path, size and shape: another cache key, and a run that was using the server stops", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "vl-canary-"));
    const model = path.join(work, "model.gguf");
    const other = path.join(work, "other.gguf");
    copyFileSync(await tinyModelPath(), model);
    await writeTestModel({ shape: "tiny", type: "f16", seed: 2, out: other });
    const open = (url: string) =>
      LlamaServerBackend.open({
        name: "s",
        baseUrl: url,
        endpoints: [url],
        concurrency: 1,
        timeoutMs: 60_000,
        retries: 0,
      });

    const first = await startLlamaServer(model, { ctx: 1024 });
    const port = Number(new URL(first.url).port);
    const a = await open(first.url);
    await first.stop();
    copyFileSync(other, model); // the same path, size and shape; other weights
    const second = await startLlamaServer(model, { ctx: 1024, port });
    try {
      const b = await open(second.url);
      expect(b.info.outputOptions.identity).toEqual(a.info.outputOptions.identity); // what the server reports
      expect(b.info.outputOptions.canary).not.toEqual(a.info.outputOptions.canary); // what the weights answer
      // The backend opened on the first server, now talking to the second, after its check interval.
      (a as unknown as { canary: { checkedAt: number } }).canary.checkedAt = 0;
      await expect(a.verifyModel(0)).rejects.toThrow(/now serves other weights .*canary prompt changed/);
      // The second server checked against itself: unchanged.
      (b as unknown as { canary: { checkedAt: number } }).canary.checkedAt = 0;
      await expect(b.verifyModel(0)).resolves.toBeUndefined();
    } finally {
      await second.stop();
    }
  }, 60_000);
});
