import { expect, test } from "bun:test";
import { isLongLived } from "../../src/server/index.ts";
import { harness } from "./helpers.ts";

const request = (path: string) => new Request(`http://127.0.0.1:38800${path}`);

test("isLongLived marks the event stream and ?wait= requests only", () => {
  expect(isLongLived(request("/v1/events/stream"))).toBe(true);
  expect(isLongLived(request("/v1/events/stream?after=5&worker_id=w"))).toBe(true);
  expect(isLongLived(request("/v1/workers/w/input?wait=30"))).toBe(true);
  expect(isLongLived(request("/v1/workers/w/runs/r-1?wait=5"))).toBe(true);
  expect(isLongLived(request("/v1/workers/w/input"))).toBe(false);
  expect(isLongLived(request("/v1/events?after=5"))).toBe(false);
  expect(isLongLived(request("/v1/workers?after=await"))).toBe(false);
  expect(isLongLived(request("/healthz"))).toBe(false);
});

test("a ?wait= request outlives a short idle timeout when the adapter lifts it", async () => {
  const h = await harness();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 1,
    fetch(req, srv) {
      if (isLongLived(req)) srv.timeout(req, 0);
      return h.app.fetch(req);
    },
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    await post("/v1/workers", { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    const accepted = await (await post("/v1/workers/w/input", { kind: "user", content: "x" })).json();
    // Quiet for 3 s on a server whose idle timeout is 1 s.
    const waited = await fetch(`${base}/v1/workers/w/runs/${accepted.ack.run_id}?wait=3`);
    expect(waited.status).toBe(200);
    expect((await waited.json()).run.status).toBe("running");
  } finally {
    await server.stop(true);
    await h.close();
  }
});
