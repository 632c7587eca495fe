// llama-server's slots (issue 22): requests answered at once are batched together by the
// server, so their last digits depend on timing. The slot count goes into the manifest, the
// number of requests in flight (above 1) into the cache key and the run's notes, with a warning.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LlamaServerBackend } from "../src/backends/llamaServer.js";
import { runNotes } from "../src/runner/run.js";
import { testConfig } from "./helpers/config.js";
import { llamaServerBinary, NO_LLAMA_SERVER, startLlamaServer, type RunningServer } from "./helpers/llamaServer.js";
import { tinyModelPath } from "./helpers/models.js";

const haveServer = llamaServerBinary() !== undefined;
if (!haveServer) console.warn(NO_LLAMA_SERVER);

describe.skipIf(!haveServer)("llama-server slots", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startLlamaServer(await tinyModelPath(), { slots: 2, ctx: 1024 });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const open = (concurrency: number) =>
    LlamaServerBackend.open({
      name: "tiny-server",
      baseUrl: server.url,
      endpoints: [server.url],
      concurrency,
      timeoutMs: 60_000,
      retries: 1,
    });

  it("two requests at once: in the key, the manifest and the notes, with a warning; one at a time keeps the key", async () => {
    const warn = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const two = await open(2);
      expect(two.info.outputOptions.concurrentSlots).toBe(2);
      expect(two.info.otherOptions).toMatchObject({ slots: 2, serverSlots: [2] });
      expect(warn.mock.calls.map((c) => String(c[0])).join("")).toMatch(
        /tiny-server: llama-server answers 2 requests at once .* concurrency: 1/,
      );
      expect(runNotes(testConfig({}), two.info).join(" ")).toContain("llama-server answered 2 requests at once");
      warn.mockClear();
      const one = await open(1);
      expect(one.info.outputOptions.concurrentSlots).toBeUndefined();
      expect(one.info.otherOptions).toMatchObject({ slots: 1, serverSlots: [2] });
      expect(warn).not.toHaveBeenCalled();
      expect(runNotes(testConfig({}), one.info).join(" ")).not.toContain("requests at once");
      await two.close();
      await one.close();
    } finally {
      warn.mockRestore();
    }
  });
});
