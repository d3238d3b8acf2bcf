import { describe, expect, test } from "bun:test";
import {
  EventSubscription,
  MemoryStore,
  SubscriptionOverflowError,
  type Runtime,
  type RuntimeEvent,
} from "../../src/index.ts";
import { SlowStore, eventLoopIdle, expectCode, openRuntime, sleep, until } from "./helpers.ts";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function produce(runtime: Runtime, worker: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runtime.sendInput(worker, { kind: "system", content: `c${i}` });
}

/** Reads stored events until one satisfies `last` (ephemeral events skipped); leaves the subscription open. */
async function collect(subscription: EventSubscription, last: (e: RuntimeEvent) => boolean): Promise<RuntimeEvent[]> {
  const out: RuntimeEvent[] = [];
  for (;;) {
    const result = await subscription.next();
    if (result.done) throw new Error(`subscription ended after ${out.length} events`);
    if (result.value.id === null) continue;
    out.push(result.value);
    if (last(result.value)) return out;
  }
}

describe("subscribe (§3, §6.2)", () => {
  test("without a cursor it follows live events only", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, "a", 5);
    const head = (await runtime.summary()).last_event_id;
    const subscription = runtime.subscribe();
    expect(runtime.subscriberCount).toBe(1);
    await produce(runtime, "a", 3);
    const events = await collect(subscription, (e) => e.id === head + 3);
    expect(events.map((e) => e.id)).toEqual([head + 1, head + 2, head + 3]);
    expect(subscription.lastEventId).toBe(head + 3);
    await runtime.close();
  });

  test("takeQueued hands out what is queued at once, in order, and moves the resume point", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const head = (await runtime.summary()).last_event_id;
    const subscription = runtime.subscribe();
    expect(subscription.takeQueued(10)).toEqual([]);
    await produce(runtime, "a", 5);
    const first = await subscription.next();
    expect(first.value?.id).toBe(head + 1);
    const rest = subscription.takeQueued(3);
    expect(rest.map((e) => e.id)).toEqual([head + 2, head + 3, head + 4]);
    expect(subscription.lastEventId).toBe(head + 4);
    expect((await subscription.next()).value?.id).toBe(head + 5);
    expect(subscription.takeQueued(10)).toEqual([]);
    await subscription.return();
    await runtime.close();
  });

  test("with a cursor it replays stored events, then follows live ones", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, "a", 600); // more than one replay batch
    const subscription = runtime.subscribe({ after: 0 });
    const replayed = await collect(subscription, (e) => e.id === 602);
    expect(replayed.map((e) => e.id)).toEqual(range(1, 602));
    expect(replayed).toEqual((await runtime.readEvents({ after: 0 }, 256)).events.concat(
      (await runtime.readEvents({ after: 256 }, 256)).events,
      (await runtime.readEvents({ after: 512 }, 256)).events,
    ));
    await produce(runtime, "a", 2);
    const live = await collect(subscription, (e) => e.id === 604);
    expect(live.map((e) => e.id)).toEqual([603, 604]);
    await subscription.return();
    await runtime.close();
  });

  for (const [name, makeStore] of [
    ["memory store", () => new MemoryStore()],
    ["store with slow commits and reads", () => new SlowStore(2)],
  ] as const) {
    test(`no loss and no duplicates when subscribing mid-burst of 1,000 events (${name})`, async () => {
      const runtime = await openRuntime({ store: makeStore() });
      const workers = ["w0", "w1", "w2", "w3"];
      for (const id of workers) await runtime.createWorker({ worker_id: id });
      const base = (await runtime.summary()).last_event_id;
      // 1,000 stored events from four concurrent producers, plus live-only output deltas from runs.
      const producing = Promise.all([
        ...workers.slice(0, 3).map((id) => produce(runtime, id, 300)),
        (async () => {
          for (let i = 0; i < 50; i++) {
            const ack = await runtime.sendInput("w3", { kind: "user", content: `u${i}` });
            await runtime.waitRun("w3", ack.run_id!, 20_000);
          }
        })(),
      ]);
      // Subscribers join at different moments, each from a cursor somewhat behind the head,
      // so each one replays while events keep arriving. Some read as they go, some only later.
      const subscribers: Array<{ after: number; worker_id?: string; done: Promise<RuntimeEvent[]> }> = [];
      const isSentinel = (e: RuntimeEvent) => e.kind === "worker_created" && e.worker_ref?.worker_id === "sentinel";
      for (let k = 0; k < 12; k++) {
        await until(async () => (await runtime.summary()).last_event_id >= base + k * 80, "the burst to progress");
        const head = (await runtime.summary()).last_event_id;
        const after = k % 4 === 0 ? 0 : Math.max(0, head - 1 - ((k * 37) % 120));
        const worker_id = k % 5 === 1 ? "w1" : undefined;
        const subscription = runtime.subscribe({ after, worker_id });
        const lazy = k % 3 === 2;
        const done = (async () => {
          if (lazy) await producing;
          // A filtered subscriber never sees the sentinel; it stops at its worker's last event instead.
          return collect(subscription, worker_id ? (e) => e.kind === "worker_stopped" : isSentinel);
        })().finally(() => subscription.return());
        subscribers.push({ after, worker_id, done });
        // Jitter between subscribers (not a wait): some start in the same turn, some a timer later.
        await sleep(k % 2);
      }
      await producing;
      await runtime.stopWorker("w1");
      await runtime.createWorker({ worker_id: "sentinel" });
      const final = (await runtime.summary()).last_event_id;
      expect(final).toBe(base + 900 + 50 * 3 + 2);

      for (const { after, worker_id, done } of subscribers) {
        const ids = (await done).map((e) => e.id!);
        if (worker_id) {
          const expected = [];
          let cursor = after;
          for (;;) {
            const batch = await runtime.readEvents({ after: cursor, worker_id }, 256);
            expected.push(...batch.events.map((e) => e.id));
            cursor = batch.next_after;
            if (!batch.has_more) break;
          }
          expect(ids).toEqual(expected);
        } else {
          expect(ids).toEqual(range(after + 1, final));
        }
      }
      expect(runtime.subscriberCount).toBe(0);
      await runtime.close();
    });
  }

  test("a worker_id filter delivers only that worker's events, live deltas included", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await runtime.createWorker({ worker_id: "b" });
    const subscription = runtime.subscribe({ worker_id: "b" });
    await produce(runtime, "a", 3);
    const ack = await runtime.sendInput("b", { kind: "user", content: "hello b" });
    await runtime.waitRun("b", ack.run_id!, 20_000);
    await produce(runtime, "a", 3);
    const seen: RuntimeEvent[] = [];
    for await (const event of subscription) {
      seen.push(event);
      if (event.kind === "run_completed") break;
    }
    expect(seen.every((e) => e.worker_ref?.worker_id === "b")).toBe(true);
    expect(seen.map((e) => e.kind)).toEqual(["worker_input_accepted", "run_started", "run_output_delta", "run_completed"]);
    await runtime.close();
  });

  test("a consumer that does not read overflows with SubscriptionOverflowError carrying where to resume", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const head = (await runtime.summary()).last_event_id;
    const stalled = runtime.subscribe({ queue_limit: 5 });
    const reader = runtime.subscribe({ queue_limit: 5 });
    await produce(runtime, "a", 2);
    expect((await reader.next()).value?.id).toBe(head + 1);
    expect((await reader.next()).value?.id).toBe(head + 2);
    // The reader now stops reading too; both fall behind.
    await produce(runtime, "a", 10);
    expect(runtime.subscriberCount).toBe(0);
    let error: unknown;
    try {
      await stalled.next();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SubscriptionOverflowError);
    expect((error as SubscriptionOverflowError).last_event_id).toBe(head);
    const readerError = await reader.next().catch((e: unknown) => e);
    expect(readerError).toBeInstanceOf(SubscriptionOverflowError);
    expect((readerError as SubscriptionOverflowError).last_event_id).toBe(head + 2);
    // After the error the subscription is finished.
    expect(await reader.next()).toEqual({ value: undefined, done: true });
    // Resuming from last_event_id loses nothing.
    const resumed = runtime.subscribe({ after: (readerError as SubscriptionOverflowError).last_event_id });
    const rest = await collect(resumed, (e) => e.id === head + 12);
    expect(rest.map((e) => e.id)).toEqual(range(head + 3, head + 12));
    await runtime.close();
  });

  test("next() calls made before earlier ones settled are answered in order", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const head = (await runtime.summary()).last_event_id;
    const subscription = runtime.subscribe();
    const pending = [subscription.next(), subscription.next(), subscription.next()];
    await produce(runtime, "a", 3);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.value?.id)).toEqual([head + 1, head + 2, head + 3]);
    // Pending calls at the end are all released.
    const tail = [subscription.next(), subscription.next()];
    await subscription.return();
    expect(await Promise.all(tail)).toEqual([
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
    await runtime.close();
  });

  test("a replay backlog larger than queue_limit does not overflow a consumer that keeps reading", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    await produce(runtime, "a", 300);
    for (const queue_limit of [1, 10, 300]) {
      const subscription = runtime.subscribe({ after: 0, queue_limit });
      const events = await collect(subscription, (e) => e.id === 301);
      expect(events.map((e) => e.id)).toEqual(range(1, 301));
      await subscription.return();
    }
    await runtime.close();
  });

  test("break and return() free the subscription", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const subscription = runtime.subscribe({ after: 0 });
    expect(runtime.subscriberCount).toBe(1);
    for await (const event of subscription) {
      expect(event.id).toBe(1);
      break;
    }
    expect(runtime.subscriberCount).toBe(0);
    expect(await subscription.next()).toEqual({ value: undefined, done: true });

    const other = runtime.subscribe();
    expect(runtime.subscriberCount).toBe(1);
    expect(await other.return()).toEqual({ value: undefined, done: true });
    expect(runtime.subscriberCount).toBe(0);
    // Events after return() are not queued anywhere.
    await produce(runtime, "a", 3);
    expect(await other.next()).toEqual({ value: undefined, done: true });
    await runtime.close();
  });

  test("a next() pending on an idle subscription is released by return() at once", async () => {
    const runtime = await openRuntime();
    const subscription = runtime.subscribe();
    const pending = subscription.next();
    let settled = false;
    void pending.then(() => (settled = true));
    await eventLoopIdle();
    // Idle: nothing to deliver, so next() is still waiting when return() comes.
    expect(settled).toBe(false);
    await subscription.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(runtime.subscriberCount).toBe(0);
    await runtime.close();
  });

  test("an AbortSignal ends the subscription, pending next() included", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "a" });
    const controller = new AbortController();
    const subscription = runtime.subscribe({ signal: controller.signal });
    const pending = subscription.next();
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(runtime.subscriberCount).toBe(0);

    const already = runtime.subscribe({ after: 0, signal: AbortSignal.abort() });
    expect(await already.next()).toEqual({ value: undefined, done: true });
    expect(runtime.subscriberCount).toBe(0);
    await runtime.close();
  });

  test("cursor and option validation", async () => {
    const runtime = await openRuntime();
    for (const after of [-1, 1.5, Number.NaN, "0" as never]) await expectCode(() => runtime.subscribe({ after }), "invalid_request");
    for (const queue_limit of [0, -1, 1.5, Number.NaN]) {
      await expectCode(() => runtime.subscribe({ queue_limit }), "invalid_request");
    }
    expect(runtime.subscriberCount).toBe(0);
    await runtime.close();
  });
});
