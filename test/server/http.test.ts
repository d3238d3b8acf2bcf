import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import type { Ack, ErrorCode, Run, WorkerDetail } from "../../src/index.ts";
import type { App } from "../../src/server/index.ts";
import { harness, until, type Harness } from "./helpers.ts";

const TOKEN = "http-test-token";
let h: Harness;
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(async () => {
  h = await harness({ token: TOKEN, heartbeat_ms: 50 });
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: h.app.fetch, idleTimeout: 30 });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.stop(true);
  await h.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

describe("over a real socket", () => {
  test("a Content-Length over the limit is refused 413 before the body is used", async () => {
    const response = await fetch(`${base}/v1/workers`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ display_name: "x".repeat(10_000) }),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("payload_too_large");
  });

  test("a client that disconnects from the event stream frees its subscription", async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/v1/events/stream`, { headers: auth, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain(": connected");
    expect(h.runtime.subscriberCount).toBe(1);
    controller.abort();
    await until(() => h.runtime.subscriberCount === 0, "the server to free the subscription");
  });

  test("an Eden treaty client over the URL is typed by App", async () => {
    const api = treaty<App>(base, { headers: auth });
    const created = await api.v1.workers.post({ worker_id: "typed", display_name: "Typed" });
    expect(created.status).toBe(201);
    expect(created.data?.worker.display_ref).toBe("Typed@rt-test");
    const sent = await api.v1.workers({ worker_id: "typed" }).input.post({ kind: "user", content: "hi" }, { query: { wait: 30 } });
    expect(sent.status).toBe(200);
    const run = sent.data && "run" in sent.data ? sent.data.run : null;
    expect(run?.status).toBe("completed");
    // The types come from the route schemas: a drift between App and the core types fails tsc.
    expectTypeOf(created.data!.worker).toEqualTypeOf<WorkerDetail>();
    expectTypeOf(sent.data!.ack).toEqualTypeOf<Ack>();
    expectTypeOf(run!).toEqualTypeOf<Run>();
    const missing = await api.v1.workers({ worker_id: "nope" }).get();
    expect(missing.status).toBe(404);
    const code: ErrorCode | undefined = missing.error?.status === 404 ? missing.error.value.error.code : undefined;
    expect(code).toBe("worker_not_found");
    const unauthorized = await treaty<App>(base).v1.runtime.get();
    expect(unauthorized.status).toBe(401);
  });
});
