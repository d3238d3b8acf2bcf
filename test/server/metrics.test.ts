import { afterEach, describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, builtinBackends, type StoreHealth } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { openingFetch } from "../../src/server/opening.ts";
import { Counter, Histogram, Registry } from "../../src/server/metrics/registry.ts";
import { parseExposition, type Exposition } from "./exposition-parser.ts";
import { call, createWorker, errorOf, harness, until, type Harness } from "./helpers.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function scrape(app: Harness["app"], headers: Record<string, string> = {}): Promise<Exposition> {
  const response = await app.handle(new Request("http://localhost/metrics", { headers }));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await response.text());
}

describe("/metrics", () => {
  test("counters and histograms follow the actions performed, parsed by a real exposition parser", async () => {
    h = await harness();
    const before = await scrape(h.app);
    expect(before.types.get("yoi_workers")).toBe("gauge");
    expect(before.types.get("yoi_runs_started_total")).toBe("counter");
    expect(before.types.get("yoi_http_request_duration_seconds")).toBe("histogram");

    const a = await createWorker(h.app);
    const b = await createWorker(h.app, { profile: { kind: "named", value: "slow" } });
    for (const worker of [a, a, b]) {
      const result = await call(h.app, "POST", `/v1/workers/${worker}/input?wait=10`, { json: { kind: "user", content: "hello" } });
      expect(result.status).toBe(200);
    }
    await call(h.app, "POST", `/v1/workers/${b}/stop`, { json: {} });
    errorOf(await call(h.app, "GET", "/v1/workers/nobody"), 404, "worker_not_found");
    for (let i = 0; i < 3; i++) expect((await call(h.app, "GET", `/v1/workers/${a}`)).status).toBe(200);

    const after = await scrape(h.app);
    expect(after.value("yoi_workers", { status: "idle" })).toBe(1);
    expect(after.value("yoi_workers", { status: "stopped" })).toBe(1);
    expect(after.value("yoi_runs_started_total", { profile: "echo" })).toBe(2);
    expect(after.value("yoi_runs_started_total", { profile: "slow" })).toBe(1);
    expect(after.value("yoi_runs_ended_total", { profile: "echo", status: "completed" })).toBe(2);
    expect(after.value("yoi_runs_ended_total", { profile: "slow", status: "completed" })).toBe(1);
    expect(after.value("yoi_run_duration_seconds", { profile: "slow", status: "completed" })).toBe(1);
    expect(after.value("yoi_first_delta_latency_seconds", { profile: "echo" })).toBe(2);
    // The slow profile waits 50 ms before its reply: its first delta cannot come sooner.
    expect(after.sum("yoi_first_delta_latency_seconds", { profile: "slow" })).toBeGreaterThanOrEqual(0.045);
    // Requests by route template, never by raw path (ids would make unbounded series).
    expect(after.value("yoi_http_requests_total", { method: "POST", route: "/v1/workers", status: "201" })).toBe(2);
    expect(after.value("yoi_http_requests_total", { method: "POST", route: "/v1/workers/:worker_id/input", status: "200" })).toBe(3);
    expect(after.value("yoi_http_requests_total", { method: "GET", route: "/v1/workers/:worker_id", status: "200" })).toBe(3);
    expect(after.value("yoi_http_requests_total", { method: "GET", route: "/v1/workers/:worker_id", status: "404" })).toBe(1);
    expect(after.value("yoi_http_requests_total", { method: "GET", route: "/metrics", status: "200" })).toBe(1);
    expect(after.value("yoi_http_request_duration_seconds", { method: "GET", route: "/v1/workers/:worker_id" })).toBe(4);
    const lastEventId = (await call(h.app, "GET", "/v1/runtime")).body.runtime.last_event_id;
    expect(after.value("yoi_last_event_id")).toBe(lastEventId);
    expect(after.value("process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(after.value("process_open_fds")).toBeGreaterThan(0);
    for (const name of ["yoi_store_batch_size", "yoi_store_fsync_duration_seconds", "yoi_store_journal_bytes", "yoi_event_loop_lag_seconds"]) {
      expect(after.types.has(name)).toBe(true);
    }
  });

  test("event stream subscribers are counted while open, and a dropped (overflowed) one is counted", async () => {
    h = await harness({ sse_queue_limit: 2 });
    const worker = await createWorker(h.app);
    // A stream nobody reads falls behind by more than its queue of 2 and is dropped.
    const stalled = await h.app.handle(new Request("http://localhost/v1/events/stream"));
    expect((await scrape(h.app)).value("yoi_sse_subscribers")).toBe(1);
    for (let i = 0; i < 6; i++) await call(h.app, "POST", `/v1/workers/${worker}/input`, { json: { kind: "system", content: `c${i}` } });
    const text = await stalled.text();
    expect(text).toContain("event: overflow");
    await until(() => h!.runtime.subscriberCount === 0, "streams to close");
    const after = await scrape(h.app);
    expect(after.value("yoi_sse_subscribers")).toBe(0);
    expect(after.value("yoi_sse_dropped_subscribers_total")).toBe(1);
  });

  test("needs the token like any route; the registry escapes label values and writes cumulative buckets", async () => {
    h = await harness({ token: "t" });
    errorOf(await call(h.app, "GET", "/metrics"), 401, "unauthorized");
    await scrape(h.app, { authorization: "Bearer t" });

    const registry = new Registry();
    const counter = registry.register(new Counter("x_total", "help with \\ and\nnewline", ["label"]));
    counter.inc(['quote " backslash \\ newline \n']);
    const histogram = registry.register(new Histogram("y_seconds", "y", [], [0.1, 1]));
    for (const value of [0.05, 0.5, 5]) histogram.observe(value);
    const parsed = parseExposition(await registry.exposition());
    expect(parsed.samples[0]!.labels).toEqual({ label: 'quote " backslash \\ newline \n' });
    const buckets = parsed.samples.filter((sample) => sample.name === "y_seconds_bucket").map((sample) => [sample.labels.le, sample.value]);
    expect(buckets).toEqual([["0.1", 1], ["1", 2], ["+Inf", 3]]);
    expect(parsed.value("y_seconds")).toBe(3);
    expect(() => parseExposition("bad line here\n")).toThrow();
    expect(() => registry.register(new Counter("x_total", "again"))).toThrow();
  });
});

describe("/readyz", () => {
  test("opening, ready, store cannot write, closing: 503 with the cause until ready; /healthz stays live", async () => {
    // While the runtime opens, the process answers through openingFetch.
    const opening = openingFetch(new Request("http://localhost/readyz"));
    expect(opening.status).toBe(503);
    expect(await opening.json()).toEqual({ ready: false, cause: "opening" });
    expect((await openingFetch(new Request("http://localhost/healthz")).json())).toEqual({ ok: true });
    const busy = openingFetch(new Request("http://localhost/v1/workers"));
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect((await busy.json()).error.code).toBe("runtime_unavailable");
    expect(openingFetch(new Request("http://localhost/readyz", { headers: { origin: "http://x" } })).status).toBe(403);

    // A store whose writes fail (disk full) says so through the optional health signal.
    let health: StoreHealth = { writable: true };
    const store = Object.assign(new MemoryStore(), { health: () => health });
    const runtime = await Runtime.open({ store, backends: builtinBackends, runtime_id: "rt-ready" });
    const app = createApp(runtime, { token: "t" });
    const ready = async () => {
      const result = await call(app, "GET", "/readyz");
      return { status: result.status, body: result.body };
    };
    expect(await ready()).toEqual({ status: 200, body: { ready: true } });
    health = { writable: false, cause: "disk_full" };
    expect(await ready()).toEqual({ status: 503, body: { ready: false, cause: "disk_full" } });
    expect((await call(app, "GET", "/healthz")).status).toBe(200);
    health = { writable: true };
    expect(await ready()).toEqual({ status: 200, body: { ready: true } });

    const closing = runtime.close();
    expect(await ready()).toEqual({ status: 503, body: { ready: false, cause: "closing" } });
    await closing;
    expect(await ready()).toEqual({ status: 503, body: { ready: false, cause: "closed" } });
    expect((await call(app, "GET", "/healthz")).status).toBe(200);
  });
});
