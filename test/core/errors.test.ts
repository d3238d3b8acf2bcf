import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ERROR_CODES, MemoryStore, Runtime, RuntimeError, builtinBackends, isRuntimeError } from "../../src/index.ts";
import { expectCode, openRuntime, scriptedBackend } from "./helpers.ts";

/** §9's table plus the two store codes named in §2 and §8, and the workspace codes of issue 11. */
const SPEC_CODES = [
  "invalid_request", "invalid_json", "invalid_worker_id", "limit_too_large", "unknown_profile", "wrong_runtime",
  "unauthorized", "forbidden_origin", "insufficient_scope", "worker_not_found", "run_not_found", "route_not_found", "method_not_allowed",
  "cursor_expired", "worker_exists", "worker_busy", "worker_stopped", "no_pending_permission", "payload_too_large", "unsupported_media_type",
  "unsupported_capability", "unsupported_operation", "idempotency_key_reused", "worker_limit_reached", "store_corrupt", "store_io", "internal",
  "runtime_unavailable", "store_locked", "store_runtime_mismatch",
  "unknown_workspace", "invalid_workspace_ref", "workspace_dirty",
];

describe("RuntimeError (§9)", () => {
  test("ERROR_CODES is exactly the SPEC's codes", () => {
    expect([...ERROR_CODES].sort() as string[]).toEqual([...SPEC_CODES].sort());
  });

  test("toJSON is {code, message} plus details only when there are some", () => {
    const plain = new RuntimeError("worker_not_found", "worker w1 does not exist");
    expect(plain).toBeInstanceOf(Error);
    expect(plain.name).toBe("RuntimeError");
    expect(isRuntimeError(plain)).toBe(true);
    expect(isRuntimeError(new Error("x"))).toBe(false);
    expect(plain.toJSON()).toEqual({ code: "worker_not_found", message: "worker w1 does not exist" });
    expect(Object.keys(plain.toJSON())).toEqual(["code", "message"]);
    expect(JSON.parse(JSON.stringify(plain))).toEqual({ code: "worker_not_found", message: "worker w1 does not exist" });

    const detailed = new RuntimeError("worker_busy", "busy", { active_run_id: "r-1" });
    expect(detailed.toJSON()).toEqual({ code: "worker_busy", message: "busy", details: { active_run_id: "r-1" } });
    // Never a stack trace in the serialised form.
    expect(JSON.stringify(detailed)).not.toContain("at ");
  });

  test("errors from the runtime serialise the same way", async () => {
    const runtime = await openRuntime();
    const { worker_ref } = await runtime.createWorker({ profile: { kind: "named", value: "hold" } });
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "x" });
    const error = await runtime.sendInput(worker_ref, { kind: "user", content: "y" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: "worker_busy",
      message: expect.any(String),
      details: { active_run_id: ack.run_id },
    });
    await runtime.close();
  });
});

describe("malformed arguments (regressions found by the property test below)", () => {
  test("null or non-object queries fail invalid_request", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "w1" });
    for (const bad of [null, [], "x", 3]) {
      await expectCode(runtime.listWorkers(bad as never), "invalid_request");
      await expectCode(runtime.listRuns("w1", bad as never), "invalid_request");
      await expectCode(runtime.transcript("w1", bad as never), "invalid_request");
      await expectCode(runtime.readEvents(bad as never), "invalid_request");
      await expectCode(() => runtime.subscribe(bad as never), "invalid_request");
    }
    await expectCode(() => runtime.subscribe({ signal: {} as never }), "invalid_request");
    expect(runtime.subscriberCount).toBe(0);
    await runtime.close();
  });

  test("a missing or malformed run id is run_not_found, also on an idle worker", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "w1" });
    for (const bad of [undefined, null, Object.create(null), 5, ""]) {
      await expectCode(runtime.getRun("w1", bad as never), "run_not_found");
      await expectCode(runtime.waitRun("w1", bad as never, 0), "run_not_found");
    }
    await runtime.close();
  });

  test("a worker_ref whose runtime_id cannot even be printed fails wrong_runtime", async () => {
    const runtime = await openRuntime();
    await expectCode(runtime.getWorker({ runtime_id: Object.create(null), worker_id: "w1" }), "wrong_runtime");
    await runtime.close();
  });

  test("a backend throwing a value that cannot be printed still ends its run failed", async () => {
    const runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: [
        ...builtinBackends,
        scriptedBackend("odd", async function* () {
          throw Object.create(null);
        }),
      ],
      profiles: { odd: { backend: "odd" } },
      default_profile: "odd",
    });
    const { worker_ref } = await runtime.createWorker({});
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "x" });
    const run = await runtime.waitRun(worker_ref, ack.run_id!, 20_000);
    expect(run).toMatchObject({ status: "failed", error: { code: "backend_error" } });
    expect((await runtime.getWorker(worker_ref)).status).toBe("idle");
    await runtime.close();
  });
});

/**
 * Whatever a caller passes, every public method either succeeds or fails with a RuntimeError whose
 * code is in ERROR_CODES: never a TypeError from poking at a malformed argument.
 */
describe("arbitrary arguments never escape as anything but RuntimeError", () => {
  const junk = fc.oneof(
    fc.anything(),
    fc.constantFrom(null, undefined, "", ".", "..", "a/b", "w1", -1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, [], {}),
    fc.record({ runtime_id: fc.constantFrom("rt", "other", 5, null), worker_id: fc.constantFrom("w1", "..", 7, null, undefined) }),
  );
  const calls: Array<[string, (runtime: Runtime, a: unknown, b: unknown, c: unknown) => unknown]> = [
    ["createWorker", (r, a) => r.createWorker(a as never)],
    ["getWorker", (r, a) => r.getWorker(a as never)],
    ["listWorkers", (r, a) => r.listWorkers(a as never)],
    ["sendInput", (r, a, b) => r.sendInput(a as never, b as never)],
    ["sendInput to w1", (r, _a, b) => r.sendInput("w1", b as never)],
    ["stopWorker", (r, a, b) => r.stopWorker(a as never, b as never)],
    ["cancelRun", (r, a, b) => r.cancelRun(a as never, b as never)],
    ["restoreWorker", (r, a) => r.restoreWorker(a as never)],
    ["deleteWorker", (r, a) => r.deleteWorker(a as never)],
    ["waitRun", (r, a, b, c) => r.waitRun(a as never, b as never, c as never)],
    ["waitRun on w1", (r, _a, b, c) => r.waitRun("w1", b as never, c as never)],
    ["getRun", (r, a, b) => r.getRun(a as never, b as never)],
    ["listRuns", (r, a, b) => r.listRuns(a as never, b as never)],
    ["listRuns of w1", (r, _a, b) => r.listRuns("w1", b as never)],
    ["transcript", (r, a, b) => r.transcript(a as never, b as never)],
    ["transcript of w1", (r, _a, b) => r.transcript("w1", b as never)],
    ["readEvents", (r, a, b) => r.readEvents(a as never, b as never)],
    ["subscribe", (r, a) => r.subscribe(a as never).return()],
  ];

  for (const [name, call] of calls) {
    test(name, async () => {
      const runtime = await openRuntime({ runtime_id: "rt" });
      await runtime.createWorker({ worker_id: "w1" });
      await fc.assert(
        fc.asyncProperty(junk, junk, junk, async (a, b, c) => {
          try {
            await call(runtime, a, b, c);
          } catch (error) {
            if (!(error instanceof RuntimeError)) throw error;
            expect(ERROR_CODES).toContain(error.code);
          }
          // Let any run that was started end before the next case.
          await runtime.cancelRun("w1").catch(() => undefined);
          if ((await runtime.getWorker("w1").catch(() => null))?.status === "stopped") await runtime.restoreWorker("w1");
          if (!(await runtime.getWorker("w1").catch(() => null))) await runtime.createWorker({ worker_id: "w1" });
        }),
        { numRuns: 300 },
      );
      await runtime.close();
    });
  }
});
