import { describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, builtinBackends, type RuntimeLogger, type RuntimeOptions } from "../../src/index.ts";
import { expectCode, openRuntime, scriptedBackend } from "./helpers.ts";

/** A logger that keeps every line it is given, message and fields, as one string each. */
function recordingLogger(): { logger: RuntimeLogger; lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string, fields?: Record<string, unknown>) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines };
}

describe("edges of the core API", () => {
  test("an event cursor past the last id is refused (it comes from another store), not answered empty", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const last = (await runtime.summary()).last_event_id;
    expect((await runtime.readEvents({ after: last })).events).toEqual([]);
    const error = await expectCode(runtime.readEvents({ after: last + 1 }), "invalid_request");
    expect(error.details).toEqual({ last_event_id: last });
    await expectCode(() => runtime.subscribe({ after: last + 1000 }), "invalid_request");
    await runtime.close();
  });

  test("an empty display name labels the worker by its id", async () => {
    const runtime = await openRuntime({ runtime_id: "rt-x", display_name: "" });
    const worker = await runtime.createWorker({ worker_id: "w1", display_name: "" });
    expect(worker.display_ref).toBe("w1@rt-x");
    await runtime.close();
  });

  test("Runtime.open without backends or store fails with a RuntimeError, not a TypeError", async () => {
    await expectCode(Runtime.open({ store: new MemoryStore() } as unknown as RuntimeOptions), "invalid_request");
    await expectCode(Runtime.open({ backends: builtinBackends } as unknown as RuntimeOptions), "invalid_request");
    await expectCode(Runtime.open(null as unknown as RuntimeOptions), "invalid_request");
  });

  test("a failed run's log line names the error code, never the program's stderr (which can echo the input)", async () => {
    const leaky = scriptedBackend("leaky", async function* (context) {
      throw new Error(`could not handle: ${context.input}`);
    });
    const { logger, lines } = recordingLogger();
    const runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: [...builtinBackends, leaky],
      profiles: { leaky: { backend: "leaky" } },
      logger,
    });
    await runtime.createWorker({ worker_id: "l", profile: { kind: "named", value: "leaky" } });
    const ack = await runtime.sendInput("l", { kind: "user", content: "SECRET-INPUT-4711" });
    const run = await runtime.waitRun("l", ack.run_id!, 10_000);
    expect(run.status).toBe("failed");
    // The diagnostic itself keeps the cause for the operator who asks for it.
    const diagnostic = (await runtime.diagnostics()).find((d) => d.code === "run_failed");
    expect(diagnostic?.message).toContain("SECRET-INPUT-4711");
    expect(lines.some((line) => line.includes(`run ${run.run_id} failed`))).toBe(true);
    expect(lines.filter((line) => line.includes("SECRET-INPUT-4711"))).toEqual([]);
    await runtime.close();
  });
});
