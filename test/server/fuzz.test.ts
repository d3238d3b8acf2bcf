import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, RuntimeError, builtinBackends } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { call, errorOf } from "./helpers.ts";

// ---------------------------------------------------------------- regressions found by fuzzing

describe("regressions found by fuzzing", () => {
  let runtime: Runtime;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: "rt-regress" });
    app = createApp(runtime);
    await runtime.createWorker({ worker_id: "w" });
  });
  afterAll(() => runtime.close());

  test("a Host of under 4 characters (`Host: x`, `Host: api`) still routes every path", async () => {
    // Elysia's default assumed a host of at least 4 characters and cut the path at the wrong
    // "/": GET /v1/workers/w answered 405 and POST .../input 405 "POST is not allowed".
    for (const host of ["x", "db", "api", "a.bc", "localhost"]) {
      const worker = await app.handle(new Request(`http://${host}/v1/workers/w`));
      expect(worker.status).toBe(200);
      expect((await worker.json()).worker.worker_ref.worker_id).toBe("w");
      const transcript = await app.handle(new Request(`http://${host}/v1/workers/w/transcript?limit=1`));
      expect(transcript.status).toBe(200);
      const input = await app.handle(
        new Request(`http://${host}/v1/workers/w/input`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "system", content: "hi" }),
        }),
      );
      expect(input.status).toBe(202);
      const missing = await app.handle(new Request(`http://${host}/v1/workers/nope`));
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe("worker_not_found");
    }
  });

  test("a page cursor that is not an id is invalid_request, not a TypeError", async () => {
    for (const after of [Object.create(null), Symbol("x"), 5, {}, [], "", "a/b"]) {
      for (const list of [() => runtime.listWorkers({ after }), () => runtime.listRuns("w", { after })]) {
        let caught: unknown;
        try {
          await list();
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(RuntimeError);
        expect((caught as RuntimeError).code).toBe("invalid_request");
      }
    }
    // A cursor that next_after hands out still pages.
    expect((await runtime.listWorkers({ after: "a" })).workers.map((w) => w.worker_ref.worker_id)).toEqual(["w"]);
    errorOf(await call(app, "GET", "/v1/workers?after=%00"), 400, "invalid_request");
  });
});
