import { describe, expect, test } from "bun:test";
import { EVENT_KINDS, type Runtime, type StoredEvent } from "../../src/index.ts";
import { expectCode, openRuntime } from "./helpers.ts";

/** Produces `n` stored events, one per system input, spread over the given worker ids. */
async function produce(runtime: Runtime, workers: string[], n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runtime.sendInput(workers[i % workers.length]!, { kind: "system", content: `c${i}` });
}

async function readAll(runtime: Runtime, cursor: { after?: number; worker_id?: string }, limit: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let after = cursor.after ?? 0;
  for (;;) {
    const batch = await runtime.readEvents({ ...cursor, after }, limit);
    out.push(...batch.events);
    expect(batch.next_after).toBeGreaterThanOrEqual(after);
    after = batch.next_after;
    if (!batch.has_more) return out;
  }
}

describe("event log (§6.2)", () => {
  test("ids start at 1 and increase by one per stored event; every event has the documented shape", async () => {
    const runtime = await openRuntime({ runtime_id: "rt-events" });
    await runtime.createWorker({ worker_id: "a" });
    const ack = await runtime.sendInput("a", { kind: "user", content: "hi" });
    await runtime.waitRun("a", ack.run_id!, 20_000);
    await runtime.stopWorker("a");
    await runtime.restoreWorker("a");
    await runtime.deleteWorker("a");
    const batch = await runtime.readEvents({});
    expect(batch.runtime_id).toBe("rt-events");
    expect(batch.events.map((e) => e.id)).toEqual(Array.from({ length: batch.events.length }, (_, i) => i + 1));
    expect(batch.events.map((e) => e.kind)).toEqual([
      "runtime_started",
      "worker_created",
      "worker_input_accepted",
      "run_started",
      "run_completed",
      "worker_stopped",
      "worker_restored",
      "worker_deleted",
    ]);
    for (const event of batch.events) {
      expect(Object.keys(event).sort()).toEqual(["created_at", "data", "id", "kind", "run_id", "worker_ref"]);
      expect(EVENT_KINDS).toContain(event.kind);
      expect(Number.isNaN(Date.parse(event.created_at))).toBe(false);
      expect(typeof event.data).toBe("object");
    }
    expect(batch.events[0]!.worker_ref).toBeNull();
    expect(batch.next_after).toBe(8);
    expect(batch.has_more).toBe(false);
    expect((await runtime.summary()).last_event_id).toBe(8);
    await runtime.close();
  });

  test("paging with next_after and has_more reads every event exactly once", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, ["a"], 40);
    const whole = (await runtime.readEvents({}, 256)).events;
    expect(whole).toHaveLength(42);
    for (const size of [1, 3, 7, 42, 100]) {
      const paged = await readAll(runtime, {}, size);
      expect(paged).toEqual(whole);
    }
    const page = await runtime.readEvents({ after: 10 }, 5);
    expect(page.events.map((e) => e.id)).toEqual([11, 12, 13, 14, 15]);
    expect(page).toMatchObject({ next_after: 15, has_more: true });
    const last = await runtime.readEvents({ after: 40 }, 5);
    expect(last.events.map((e) => e.id)).toEqual([41, 42]);
    expect(last).toMatchObject({ next_after: 42, has_more: false });
    // At the head: nothing yet, and the cursor stays where it is.
    expect(await runtime.readEvents({ after: 42 })).toMatchObject({ events: [], next_after: 42, has_more: false });
    await runtime.close();
  });

  test("a worker_id filter returns only that worker's events, with working paging", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await runtime.createWorker({ worker_id: "b" });
    await produce(runtime, ["a", "b", "b"], 30);
    const onlyB = await readAll(runtime, { worker_id: "b" }, 4);
    expect(onlyB).toHaveLength(21);
    expect(onlyB.every((e) => e.worker_ref?.worker_id === "b")).toBe(true);
    expect(onlyB.map((e) => e.id)).toEqual([...onlyB.map((e) => e.id)].sort((x, y) => x - y));
    const onlyA = (await runtime.readEvents({ worker_id: "a" })).events;
    expect(onlyA).toHaveLength(11);
    expect((await runtime.readEvents({ worker_id: "nobody" })).events).toEqual([]);
    await runtime.close();
  });

  test("limit and cursor validation", async () => {
    const runtime = await openRuntime({ limits: { max_event_batch_items: 10 } });
    const err = await expectCode(runtime.readEvents({}, 11), "limit_too_large");
    expect(err.details).toEqual({ max: 10 });
    expect((await runtime.readEvents({}, 10)).events).toHaveLength(1);
    // The default page size never exceeds the configured maximum.
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, ["a"], 20);
    expect((await runtime.readEvents({})).events).toHaveLength(10);
    for (const limit of [0, -1, 1.5, Number.NaN]) await expectCode(runtime.readEvents({}, limit), "invalid_request");
    for (const after of [-1, 0.5, Number.NaN, "3" as never]) await expectCode(runtime.readEvents({ after }), "invalid_request");
    await runtime.close();
  });

  test("ephemeral output deltas are never stored and take no id", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    for (let i = 0; i < 5; i++) {
      const ack = await runtime.sendInput("a", { kind: "user", content: `m${i}` });
      await runtime.waitRun("a", ack.run_id!, 20_000);
    }
    const events = (await runtime.readEvents({}, 256)).events;
    const kinds: string[] = events.map((e) => e.kind);
    expect(kinds).not.toContain("run_output_delta");
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    await runtime.close();
  });

  test("retention prunes old events; reading after a pruned id fails cursor_expired, from a retained cursor it works", async () => {
    const runtime = await openRuntime({ limits: { max_retained_events: 10 } });
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, ["a"], 28);
    // 30 events: ids 21..30 are retained.
    const expired = await expectCode(runtime.readEvents({ after: 0 }), "cursor_expired");
    expect(expired.details).toEqual({ oldest_event_id: 21 });
    await expectCode(runtime.readEvents({ after: 19 }), "cursor_expired");
    await expectCode(runtime.readEvents({ after: 5, worker_id: "a" }), "cursor_expired");
    await expectCode(() => runtime.subscribe({ after: 19 }), "cursor_expired");
    const fromOldest = await runtime.readEvents({ after: 20 });
    expect(fromOldest.events.map((e) => e.id)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect((await runtime.readEvents({ after: 25 }, 3)).events.map((e) => e.id)).toEqual([26, 27, 28]);
    // Later events keep being retained and the window moves on.
    await produce(runtime, ["a"], 5);
    await expectCode(runtime.readEvents({ after: 20 }), "cursor_expired");
    expect((await runtime.readEvents({ after: 25 })).events.map((e) => e.id)).toEqual([26, 27, 28, 29, 30, 31, 32, 33, 34, 35]);
    await runtime.close();
  });
});
