import { afterAll, describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, builtinBackends, type RuntimeLogger } from "../../src/index.ts";
import { FakeProvider } from "../execution/fake-provider.ts";

/**
 * A failed run is logged once, at warn, with its error code and the backend's own status (a
 * program's exit code, a provider's HTTP status), and never with content: the stderr tail and
 * the provider's answer can echo the input.
 */
const SECRET = "SECRET-CONTENT-7c1e";
const provider = FakeProvider.start(() => new Response(JSON.stringify({ error: { message: `overloaded: ${SECRET}` } }), { status: 503 }));
afterAll(() => provider.stop());

function capture(): { logger: RuntimeLogger; lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields: Record<string, unknown> = {}) => void lines.push({ level, message, fields });
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

describe("failed runs in the log", () => {
  test("error code and exit code of a command, HTTP status of a provider; no content", async () => {
    const { logger, lines } = capture();
    const runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: builtinBackends,
      logger,
      profiles: {
        exits: { backend: "command", command: ["sh", "-c", `echo ${SECRET} >&2; exit 3`] },
        provider: { backend: "openai", base_url: provider.baseUrl, model: "m" },
      },
    });
    try {
      for (const profile of ["exits", "provider"]) {
        await runtime.createWorker({ worker_id: profile, profile: { kind: "named", value: profile } });
        const { run_id } = await runtime.sendInput(profile, { kind: "user", content: `input ${SECRET}` });
        expect((await runtime.waitRun(profile, run_id!, 30_000)).status).toBe("failed");
      }
    } finally {
      await runtime.close();
    }
    const failures = lines.filter((line) => line.message.includes("failed"));
    expect(failures.map(({ level, fields }): Record<string, unknown> => ({ level, ...fields, run_id: typeof fields.run_id }))).toEqual([
      { level: "warn", code: "run_failed", worker_id: "exits", run_id: "string", error_code: "exit_code", exit_code: 3 },
      { level: "warn", code: "run_failed", worker_id: "provider", run_id: "string", error_code: "provider_error", http_status: 503 },
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });
});
