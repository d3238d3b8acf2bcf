import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { call, createWorker, errorOf, harness, type Harness } from "./helpers.ts";

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe("runtime, health, diagnostics", () => {
  test("GET /healthz answers {ok:true} and nothing else", async () => {
    const result = await call(h.app, "GET", "/healthz");
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ ok: true });
  });

  test("GET /v1/runtime reports the summary with limits and profiles", async () => {
    await createWorker(h.app);
    const result = await call(h.app, "GET", "/v1/runtime");
    expect(result.status).toBe(200);
    const runtime = result.body.runtime;
    expect(runtime.runtime_id).toBe("rt-test");
    expect(runtime.status).toBe("running");
    expect(runtime.workers.total).toBe(1);
    expect(runtime.limits.max_body_bytes).toBe(4096);
    expect(runtime.profiles.map((p: { name: string }) => p.name).sort()).toEqual(["echo", "slow", "stuck"]);
  });

  test("GET /v1/diagnostics lists what the runtime recorded", async () => {
    await createWorker(h.app, { config_bundle: { id: "bundle-1" } });
    const result = await call(h.app, "GET", "/v1/diagnostics");
    expect(result.status).toBe(200);
    expect(result.body.diagnostics.map((d: { code: string }) => d.code)).toContain("config_bundle_unresolved");
  });

  test("a closed runtime answers 503 runtime_unavailable; its summary says closed", async () => {
    await createWorker(h.app, { worker_id: "w" });
    await h.close();
    errorOf(await call(h.app, "POST", "/v1/workers", { json: {} }), 503, "runtime_unavailable");
    errorOf(await call(h.app, "GET", "/v1/workers/w"), 503, "runtime_unavailable");
    errorOf(await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "x" } }), 503, "runtime_unavailable");
    errorOf(await call(h.app, "GET", "/v1/events/stream"), 503, "runtime_unavailable");
    const summary = await call(h.app, "GET", "/v1/runtime");
    expect(summary.status).toBe(200);
    expect(summary.body.runtime.status).toBe("closed");
    expect((await call(h.app, "GET", "/healthz")).status).toBe(200);
  });
});

describe("workers catalog", () => {
  test("POST /v1/workers creates with 201, `{}` gives an assistant on the default profile", async () => {
    const result = await call(h.app, "POST", "/v1/workers", { json: {} });
    expect(result.status).toBe(201);
    expect(result.body.worker.intent).toEqual({ kind: "assistant" });
    expect(result.body.worker.profile).toEqual({ name: "echo", backend: "echo" });
    expect(result.body.worker.worker_ref.runtime_id).toBe("rt-test");
  });

  test("POST /v1/workers maps create failures onto §9 statuses", async () => {
    await createWorker(h.app, { worker_id: "dup" });
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { worker_id: "dup" } }), 409, "worker_exists");
    errorOf(
      await call(h.app, "POST", "/v1/workers", { json: { profile: { kind: "named", value: "nope" } } }),
      400,
      "unknown_profile",
    );
    errorOf(
      await call(h.app, "POST", "/v1/workers", { json: { requested_capabilities: [{ name: "shell" }] } }),
      422,
      "unsupported_capability",
    );
  });

  test("POST /v1/workers beyond limits.max_workers is 429 worker_limit_reached", async () => {
    const small = await harness({}, { max_workers: 1 });
    try {
      await createWorker(small.app);
      errorOf(await call(small.app, "POST", "/v1/workers", { json: {} }), 429, "worker_limit_reached");
    } finally {
      await small.close();
    }
  });

  test("GET /v1/workers pages by worker_id and filters by status", async () => {
    for (const id of ["a", "b", "c"]) await createWorker(h.app, { worker_id: id });
    await call(h.app, "POST", "/v1/workers/b/stop");
    const first = await call(h.app, "GET", "/v1/workers?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.workers.map((w: any) => w.worker_ref.worker_id)).toEqual(["a", "b"]);
    expect(first.body.next_after).toBe("b");
    const second = await call(h.app, "GET", `/v1/workers?limit=2&after=${first.body.next_after}`);
    expect(second.body.workers.map((w: any) => w.worker_ref.worker_id)).toEqual(["c"]);
    expect(second.body.next_after).toBeNull();
    const stopped = await call(h.app, "GET", "/v1/workers?status=stopped");
    expect(stopped.body.workers.map((w: any) => w.worker_ref.worker_id)).toEqual(["b"]);
  });

  test("GET /v1/workers refuses bad query values", async () => {
    errorOf(await call(h.app, "GET", "/v1/workers?limit=501"), 400, "limit_too_large");
    errorOf(await call(h.app, "GET", "/v1/workers?limit=0"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers?status=busy"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers?after=..%2Fx"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers?colour=red"), 400, "invalid_request");
  });

  test("GET /v1/workers/:id returns the detail; unknown is 404 worker_not_found", async () => {
    await createWorker(h.app, { worker_id: "w1", display_name: "Helper" });
    const result = await call(h.app, "GET", "/v1/workers/w1");
    expect(result.status).toBe(200);
    expect(result.body.worker.display_ref).toBe("Helper@rt-test");
    expect(result.body.worker.transcript_items).toBe(0);
    const missing = errorOf(await call(h.app, "GET", "/v1/workers/w2"), 404, "worker_not_found");
    expect(missing.details).toEqual({ worker_id: "w2" });
  });

  test("DELETE /v1/workers/:id removes an idle worker, refuses a running one", async () => {
    await createWorker(h.app, { worker_id: "gone" });
    const deleted = await call(h.app, "DELETE", "/v1/workers/gone");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: { runtime_id: "rt-test", worker_id: "gone" } });
    errorOf(await call(h.app, "GET", "/v1/workers/gone"), 404, "worker_not_found");
    errorOf(await call(h.app, "DELETE", "/v1/workers/gone"), 404, "worker_not_found");

    await createWorker(h.app, { worker_id: "busy", profile: { kind: "named", value: "stuck" } });
    const ack = await call(h.app, "POST", "/v1/workers/busy/input", { json: { kind: "user", content: "x" } });
    const busy = errorOf(await call(h.app, "DELETE", "/v1/workers/busy"), 409, "worker_busy");
    expect(busy.details).toEqual({ active_run_id: ack.body.ack.run_id });
  });
});

describe("input and runs", () => {
  test("POST input answers 202 {ack} and the run executes in the background", async () => {
    await createWorker(h.app, { worker_id: "w" });
    const result = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "hello" } });
    expect(result.status).toBe(202);
    expect(Object.keys(result.body)).toEqual(["ack"]);
    const ack = result.body.ack;
    expect(ack.worker_ref).toEqual({ runtime_id: "rt-test", worker_id: "w" });
    expect(ack.transcript_sequence).toBe(0);
    expect(typeof ack.run_id).toBe("string");
    const run = await call(h.app, "GET", `/v1/workers/w/runs/${ack.run_id}?wait=30`);
    expect(run.status).toBe(200);
    expect(run.body.run.status).toBe("completed");
  });

  test("?wait= answers 200 {ack, run} once the run ended", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "slow" } });
    const result = await call(h.app, "POST", "/v1/workers/w/input?wait=30", { json: { kind: "user", content: "hi" } });
    expect(result.status).toBe(200);
    expect(result.body.run.run_id).toBe(result.body.ack.run_id);
    expect(result.body.run.status).toBe("completed");
    expect(result.body.run.output_sequence).toBe(1);
    const transcript = await call(h.app, "GET", "/v1/workers/w/transcript");
    expect(transcript.body.transcript.items.map((i: any) => [i.role, i.content])).toEqual([
      ["user", "hi"],
      ["assistant", "hi"],
    ]);
  });

  test("?wait= answers 202 {ack} when the deadline passes first", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    const result = await call(h.app, "POST", "/v1/workers/w/input?wait=1", { json: { kind: "user", content: "hi" } });
    expect(result.status).toBe(202);
    expect(Object.keys(result.body)).toEqual(["ack"]);
    const run = await call(h.app, "GET", `/v1/workers/w/runs/${result.body.ack.run_id}?wait=0`);
    expect(run.status).toBe(200);
    expect(run.body.run.status).toBe("running");
  });

  test("system input is stored without a run, ?wait= or not", async () => {
    await createWorker(h.app, { worker_id: "w" });
    const result = await call(h.app, "POST", "/v1/workers/w/input?wait=5", { json: { kind: "system", content: "be brief" } });
    expect(result.status).toBe(202);
    expect(result.body.ack.run_id).toBeNull();
    expect(result.body.ack.transcript_sequence).toBe(0);
  });

  test("?wait= values are validated: whole seconds 0..300 only", async () => {
    await createWorker(h.app, { worker_id: "w" });
    const input = { json: { kind: "user", content: "hi" } };
    for (const wait of ["301", "-1", "abc", "", "1e2", "0x10", "1.5", "Infinity", "%201"]) {
      errorOf(await call(h.app, "POST", `/v1/workers/w/input?wait=${wait}`, input), 400, "invalid_request");
    }
    errorOf(await call(h.app, "POST", "/v1/workers/w/input?wait=1&wait=2", input), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers/w/runs/r-1?wait=301"), 400, "invalid_request");
  });

  test("exactly one of 50 concurrent inputs is accepted; the rest are 409 worker_busy", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: `m${i}` } }),
      ),
    );
    const accepted = results.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    const runId = accepted[0]!.body.ack.run_id;
    const refused = results.filter((r) => r.status !== 202);
    expect(refused).toHaveLength(49);
    for (const result of refused) expect(errorOf(result, 409, "worker_busy").details).toEqual({ active_run_id: runId });
  });

  test("input to a stopped worker is 409 worker_stopped; unknown worker 404", async () => {
    await createWorker(h.app, { worker_id: "w" });
    await call(h.app, "POST", "/v1/workers/w/stop");
    errorOf(await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "x" } }), 409, "worker_stopped");
    errorOf(await call(h.app, "POST", "/v1/workers/nope/input", { json: { kind: "user", content: "x" } }), 404, "worker_not_found");
  });

  test("GET runs lists runs with paging; GET runs/:id 404s an unknown run", async () => {
    await createWorker(h.app, { worker_id: "w" });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await call(h.app, "POST", "/v1/workers/w/input?wait=30", { json: { kind: "user", content: `m${i}` } });
      ids.push(result.body.run.run_id);
    }
    const page = await call(h.app, "GET", "/v1/workers/w/runs?limit=2");
    expect(page.status).toBe(200);
    expect(page.body.runs.map((r: any) => r.run_id)).toEqual(ids.slice(0, 2));
    expect(page.body.next_after).toBe(ids[1]);
    const rest = await call(h.app, "GET", `/v1/workers/w/runs?after=${ids[1]}`);
    expect(rest.body.runs.map((r: any) => r.run_id)).toEqual([ids[2]]);
    expect(rest.body.next_after).toBeNull();
    const one = await call(h.app, "GET", `/v1/workers/w/runs/${ids[0]}`);
    expect(one.body.run.status).toBe("completed");
    errorOf(await call(h.app, "GET", "/v1/workers/w/runs/r-unknown"), 404, "run_not_found");
    errorOf(await call(h.app, "GET", "/v1/workers/w/runs/r-unknown?wait=1"), 404, "run_not_found");
    errorOf(await call(h.app, "GET", "/v1/workers/w/runs?limit=501"), 400, "limit_too_large");
    errorOf(await call(h.app, "GET", "/v1/workers/nope/runs"), 404, "worker_not_found");
  });

  test("GET runs/:id?wait= returns the run once it ended", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "slow" } });
    const accepted = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "x" } });
    const result = await call(h.app, "GET", `/v1/workers/w/runs/${accepted.body.ack.run_id}?wait=30`);
    expect(result.status).toBe(200);
    expect(result.body.run.status).toBe("completed");
  });
});

describe("lifecycle", () => {
  test("cancel stops the active run; with none it reports cancelled_run_id null", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    const accepted = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "x" } });
    const runId = accepted.body.ack.run_id;
    const cancelled = await call(h.app, "POST", "/v1/workers/w/cancel", { json: { reason: "enough" } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.ack.cancelled_run_id).toBe(runId);
    expect(cancelled.body.ack.status).toBe("idle");
    const run = await call(h.app, "GET", `/v1/workers/w/runs/${runId}`);
    expect(run.body.run.status).toBe("cancelled");
    const again = await call(h.app, "POST", "/v1/workers/w/cancel");
    expect(again.status).toBe(200);
    expect(again.body.ack.cancelled_run_id).toBeNull();
  });

  test("stop cancels the active run and is idempotent; restore returns to idle", async () => {
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    const accepted = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "x" } });
    const stopped = await call(h.app, "POST", "/v1/workers/w/stop", { json: { reason: "maintenance" } });
    expect(stopped.status).toBe(200);
    expect(stopped.body.ack.status).toBe("stopped");
    expect(stopped.body.ack.cancelled_run_id).toBe(accepted.body.ack.run_id);
    const detail = await call(h.app, "GET", "/v1/workers/w");
    expect(detail.body.worker.stopped_reason).toBe("maintenance");
    const twice = await call(h.app, "POST", "/v1/workers/w/stop");
    expect(twice.status).toBe(200);
    expect(twice.body.ack.status).toBe("stopped");
    const restored = await call(h.app, "POST", "/v1/workers/w/restore");
    expect(restored.status).toBe(200);
    expect(restored.body.ack.status).toBe("idle");
    const input = await call(h.app, "POST", "/v1/workers/w/input?wait=0", { json: { kind: "system", content: "ok" } });
    expect(input.status).toBe(202);
  });

  test("lifecycle routes 404 an unknown worker and validate the reason", async () => {
    for (const action of ["stop", "cancel", "restore"]) {
      errorOf(await call(h.app, "POST", `/v1/workers/nope/${action}`), 404, "worker_not_found");
    }
    await createWorker(h.app, { worker_id: "w" });
    errorOf(await call(h.app, "POST", "/v1/workers/w/stop", { json: { reason: 5 } }), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers/w/cancel", { json: { reason: "x".repeat(1001) } }), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers/w/restore", { json: { reason: "x" } }), 400, "invalid_request");
  });
});

describe("transcript and events", () => {
  test("GET transcript pages with start/limit and tail; validates bounds", async () => {
    await createWorker(h.app, { worker_id: "w" });
    for (let i = 0; i < 3; i++) await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "system", content: `s${i}` } });
    const page = await call(h.app, "GET", "/v1/workers/w/transcript?start=1&limit=1");
    expect(page.status).toBe(200);
    expect(page.body.transcript).toMatchObject({ start: 1, limit: 1, total_items: 3, next_start: 2 });
    expect(page.body.transcript.items.map((i: any) => i.content)).toEqual(["s1"]);
    const tail = await call(h.app, "GET", "/v1/workers/w/transcript?tail=2");
    expect(tail.body.transcript.items.map((i: any) => i.content)).toEqual(["s1", "s2"]);
    expect(tail.body.transcript.next_start).toBeNull();
    errorOf(await call(h.app, "GET", "/v1/workers/w/transcript?limit=257"), 400, "limit_too_large");
    errorOf(await call(h.app, "GET", "/v1/workers/w/transcript?start=1&tail=1"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers/w/transcript?start=-1"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers/nope/transcript"), 404, "worker_not_found");
  });

  test("GET /v1/events polls stored events after a cursor, per worker or all", async () => {
    await createWorker(h.app, { worker_id: "a" });
    await createWorker(h.app, { worker_id: "b" });
    const all = await call(h.app, "GET", "/v1/events");
    expect(all.status).toBe(200);
    const batch = all.body.events;
    expect(batch.runtime_id).toBe("rt-test");
    expect(batch.events.map((e: any) => e.kind)).toEqual(["runtime_started", "worker_created", "worker_created"]);
    expect(batch.next_after).toBe(3);
    const after = await call(h.app, "GET", "/v1/events?after=1&limit=1");
    expect(after.body.events.events.map((e: any) => e.id)).toEqual([2]);
    expect(after.body.events.has_more).toBe(true);
    const onlyB = await call(h.app, "GET", "/v1/events?worker_id=b");
    expect(onlyB.body.events.events.map((e: any) => e.worker_ref.worker_id)).toEqual(["b"]);
    errorOf(await call(h.app, "GET", "/v1/events?limit=257"), 400, "limit_too_large");
    errorOf(await call(h.app, "GET", "/v1/events?after=-1"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/events?worker_id=..%2Fetc"), 400, "invalid_worker_id");
  });

  test("GET /v1/events after a pruned id is 410 cursor_expired", async () => {
    const small = await harness({}, { max_retained_events: 3 });
    try {
      for (let i = 0; i < 5; i++) await createWorker(small.app);
      const expired = errorOf(await call(small.app, "GET", "/v1/events?after=0"), 410, "cursor_expired");
      expect(typeof expired.details.oldest_event_id).toBe("number");
    } finally {
      await small.close();
    }
  });
});
