import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { MemoryStore, Runtime, builtinBackends } from "../../src/index.ts";
import { listen, type Listener } from "../../src/platform/index.ts";
import { createApp } from "../../src/server/index.ts";

let runtime: Runtime;
let listener: Listener;

beforeAll(async () => {
  runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: "rt-target" });
  const app = createApp(runtime, {});
  listener = await listen((request) => app.fetch(request), { hostname: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await listener.stop(true);
  await runtime.close();
});

/** Sends a raw request line (clients like fetch or curl would normalise the target first). */
function raw(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(listener.port, "127.0.0.1", () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("end", () => resolve({ status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) }));
    socket.on("error", reject);
  });
}

describe("request targets, as sent raw (issue 12 point 8)", () => {
  test("a fragment is ignored, as after a query", async () => {
    for (const target of ["/healthz#x", "/healthz?x#y"]) {
      const answer = await raw(target);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ ok: true });
    }
    expect((await raw("/v1/runtime#frag")).status).toBe(200);
  });

  test("dot segments are resolved as URLs resolve them: /v1/workers/. is /v1/workers/", async () => {
    const dot = await raw("/v1/workers/.");
    const plain = await raw("/v1/workers/");
    expect(dot.status).toBe(plain.status);
    expect(dot.body).toBe(plain.body);
    expect((await raw("/v1/workers/./nobody")).status).toBe(404);
  });
});
