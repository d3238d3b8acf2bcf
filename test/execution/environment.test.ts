import { describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, RuntimeError, builtinBackends, type ProfileConfig } from "../../src/index.ts";

// Backends get their environment when they are built: RuntimeOptions.env when the embedder gives
// one, else the process environment.

async function open(profiles: Record<string, ProfileConfig>, env?: Record<string, string | undefined>): Promise<Runtime> {
  return Runtime.open({ store: new MemoryStore(), backends: builtinBackends, profiles, env });
}

async function reply(runtime: Runtime, profile: string): Promise<string> {
  const worker = await runtime.createWorker({ profile: { kind: "named", value: profile } });
  const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
  const run = await runtime.waitRun(worker.worker_ref, ack.run_id!, 20_000);
  expect(run.status).toBe("completed");
  const page = await runtime.transcript(worker.worker_ref, { tail: 1 });
  return page.items[0]!.content;
}

const printHome: ProfileConfig = { backend: "command", command: ["sh", "-c", 'printf "%s|%s" "$HOME" "$SECRET"'], input: "stdin" };

describe("backend environment", () => {
  test("a command child inherits PATH, HOME and LANG from RuntimeOptions.env, nothing else", async () => {
    const runtime = await open({ home: printHome }, { PATH: process.env.PATH, HOME: "/injected-home", SECRET: "not passed" });
    try {
      expect(await reply(runtime, "home")).toBe("/injected-home|");
    } finally {
      await runtime.close();
    }
  });

  test("without RuntimeOptions.env the process environment is used", async () => {
    const runtime = await open({ home: printHome });
    try {
      expect(await reply(runtime, "home")).toBe(`${process.env.HOME ?? ""}|`);
    } finally {
      await runtime.close();
    }
  });

  test("an openai profile reads api_key_env from the injected environment", async () => {
    const profile: ProfileConfig = { backend: "openai", base_url: "http://127.0.0.1:9/v1", model: "m", api_key_env: "YOI_TEST_INJECTED_KEY" };
    delete process.env.YOI_TEST_INJECTED_KEY;
    const missing = await open({ llm: profile }, { PATH: process.env.PATH }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(RuntimeError);
    expect((missing as RuntimeError).code).toBe("invalid_request");
    expect((missing as RuntimeError).message).toContain("YOI_TEST_INJECTED_KEY");
    const runtime = await open({ llm: profile }, { YOI_TEST_INJECTED_KEY: "k" });
    expect((await runtime.summary()).profiles.map((p) => p.name)).toContain("llm");
    await runtime.close();
  });
});
