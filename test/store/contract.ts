import { afterEach, describe, expect, test } from "bun:test";
import type { Runtime, RuntimeEvent, StoredEvent } from "../../src/index.ts";
import { converse, expectCode, until, type StoreHarness } from "./helpers.ts";

/**
 * What every RuntimeStore must do, observed through the Runtime API: data survives a restart
 * (clean close, then reopen) and a crash (the process dies with a run active), counters and ids
 * continue without reuse or gaps, retention expires old cursors, and a store refuses another
 * runtime's id. `make` builds a fresh harness per test.
 */
export function storeContract(make: () => StoreHarness): void {
  const name = make().name;
  describe(`store contract: ${name}`, () => {
    let harness: StoreHarness;
    const open: Runtime[] = [];
    const track = (runtime: Runtime) => (open.push(runtime), runtime);
    afterEach(async () => {
      for (const runtime of open.splice(0)) await runtime.close();
      await harness?.cleanup();
    });

    test("workers, statuses, counters, transcripts and runs survive a restart", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "alice", display_name: "Alice", intent: { kind: "task", objective: "count" } });
      await first.createWorker({ worker_id: "bob" });
      await first.createWorker({ worker_id: "carol" });
      await first.sendInput("alice", { kind: "system", content: "be brief" });
      for (let i = 0; i < 3; i++) await converse(first, "alice", `question ${i}`);
      await converse(first, "bob", "hi bob");
      await first.stopWorker("bob", "enough");
      await first.deleteWorker("carol");
      const before = await first.getWorker("alice");
      const runsBefore = (await first.listRuns("alice")).runs;
      await first.close();

      const second = track(await harness.open());
      const alice = await second.getWorker("alice");
      expect(alice).toMatchObject({
        status: "idle",
        display_name: "Alice",
        intent: { kind: "task", objective: "count" },
        transcript_items: 7,
        run_count: 3,
      });
      expect(alice.created_at).toBe(before.created_at);
      expect(await second.getWorker("bob")).toMatchObject({ status: "stopped", stopped_reason: "enough", transcript_items: 2, run_count: 1 });
      await expectCode(second.getWorker("carol"), "worker_not_found");
      expect((await second.listWorkers()).workers.map((w) => w.worker_ref.worker_id)).toEqual(["alice", "bob"]);

      const page = await second.transcript("alice", { start: 0, limit: 100 });
      expect(page.items.map((e) => [e.sequence, e.role, e.content])).toEqual([
        [0, "system", "be brief"],
        [1, "user", "question 0"],
        [2, "assistant", "question 0"],
        [3, "user", "question 1"],
        [4, "assistant", "question 1"],
        [5, "user", "question 2"],
        [6, "assistant", "question 2"],
      ]);
      expect((await second.transcript("alice", { tail: 2 })).items.map((e) => e.sequence)).toEqual([5, 6]);
      expect((await second.listRuns("alice")).runs).toEqual(runsBefore);
      const run = runsBefore[1]!;
      expect(await second.getRun("alice", run.run_id)).toEqual(run);

      // Counters continue: the next entries and runs follow on without reuse or gaps.
      const ack = await converse(second, "alice", "after restart");
      expect(ack.transcript_sequence).toBe(7);
      expect((await second.getWorker("alice")).run_count).toBe(4);
      await expectCode(second.sendInput("bob", { kind: "user", content: "x" }), "worker_stopped");
      await second.restoreWorker("bob");
      expect((await converse(second, "bob", "back")).transcript_sequence).toBe(2);
    });

    test("event ids continue after a restart, never reused, every stored event still readable", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "w" });
      await converse(first, "w", "one");
      const before = (await first.readEvents({ after: 0 }, 256)).events;
      const lastBefore = before[before.length - 1]!.id;
      await first.close();

      const second = track(await harness.open());
      await converse(second, "w", "two");
      const all = await readAllEvents(second);
      const ids = all.map((e) => e.id!);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      expect(all.slice(0, before.length)).toEqual(before);
      const kinds = all.map((e) => e.kind);
      expect(kinds).toContain("runtime_stopped");
      expect(kinds.lastIndexOf("runtime_started")).toBeGreaterThan(kinds.indexOf("runtime_stopped"));
      expect(all.find((e) => e.kind === "runtime_stopped")!.id).toBe(lastBefore + 1);
      expect((await second.summary()).last_event_id).toBe(ids[ids.length - 1]!);
      // Filter by worker after the restart too.
      const mine = (await second.readEvents({ after: 0, worker_id: "w" }, 256)).events;
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((e) => e.worker_ref?.worker_id === "w")).toBe(true);
    });

    test("a run active when the process dies is interrupted on restart, with an event and a diagnostic", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "held", profile: { kind: "named", value: "hold" } });
      await first.createWorker({ worker_id: "calm" });
      await converse(first, "calm", "fine");
      const ack = await first.sendInput("held", { kind: "user", content: "never finishes" });
      expect((await first.getWorker("held")).status).toBe("running");
      const lastBefore = (await first.summary()).last_event_id;

      const second = track(await harness.crash(first));
      const held = await second.getWorker("held");
      expect(held.status).toBe("idle");
      expect(held.transcript_items).toBe(1);
      expect(held.run_count).toBe(1);
      const run = await second.getRun("held", ack.run_id!);
      expect(run.status).toBe("interrupted");
      expect(run.error?.code).toBe("interrupted");
      const events = await readAllEvents(second);
      expect(events.some((e) => e.kind === "run_interrupted" && e.run_id === ack.run_id)).toBe(true);
      expect(events.filter((e) => e.id! > lastBefore).map((e) => e.kind)).toContain("runtime_started");
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      const diagnostics = await second.diagnostics();
      expect(diagnostics.some((d) => d.code === "run_interrupted" && d.run_id === ack.run_id)).toBe(true);
      expect((await second.getWorker("calm")).transcript_items).toBe(2);

      // The worker takes input again and the transcript continues at the next sequence.
      await second.createWorker({ worker_id: "later" });
      const next = await second.sendInput("held", { kind: "system", content: "again" });
      expect(next.transcript_sequence).toBe(1);
      expect(next.event_id!).toBeGreaterThan(lastBefore);
    });

    test("a run active at a clean shutdown is interrupted and stays so", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "held", profile: { kind: "named", value: "hold" } });
      const ack = await first.sendInput("held", { kind: "user", content: "long" });
      await first.close();
      const second = track(await harness.open());
      const run = await second.getRun("held", ack.run_id!);
      expect(run.status).toBe("interrupted");
      expect(run.partial).toBe(true);
      const page = await second.transcript("held", {});
      expect(page.items.map((e) => [e.role, e.content, e.partial])).toEqual([
        ["user", "long", false],
        ["assistant", "partial", true],
      ]);
      expect((await second.getWorker("held")).status).toBe("idle");
    });

    test("concurrent inputs on many workers are all there after a restart", async () => {
      harness = make();
      const first = await harness.open();
      const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
      await Promise.all(ids.map((worker_id) => first.createWorker({ worker_id })));
      await Promise.all(
        ids.map(async (id) => {
          for (let i = 0; i < 5; i++) await converse(first, id, `${id}-${i}`);
        }),
      );
      await first.close();
      const second = track(await harness.open());
      for (const id of ids) {
        const page = await second.transcript(id, { limit: 100 });
        expect(page.total_items).toBe(10);
        expect(page.items.filter((e) => e.role === "user").map((e) => e.content)).toEqual([0, 1, 2, 3, 4].map((i) => `${id}-${i}`));
        expect((await second.listRuns(id)).runs.map((r) => r.status)).toEqual(Array(5).fill("completed"));
      }
    });

    test("retention expires old cursors, before and after a restart", async () => {
      harness = make();
      const limits = { max_retained_events: 20 };
      const first = await harness.open({ limits });
      await first.createWorker({ worker_id: "r" });
      for (let i = 0; i < 20; i++) await converse(first, "r", `m${i}`);
      const last = (await first.summary()).last_event_id;
      expect(last).toBeGreaterThan(60);
      await expectCode(first.readEvents({ after: 0 }, 10), "cursor_expired");
      // The newest max_retained_events are always readable, in order, without gaps.
      const recent = (await first.readEvents({ after: last - 20 }, 256)).events;
      expect(recent.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => last - 19 + i));
      await first.close();

      const second = track(await harness.open({ limits }));
      await expectCode(second.readEvents({ after: 0 }, 10), "cursor_expired");
      const expired = await expectCode(second.readEvents({ after: 1 }, 10), "cursor_expired");
      const oldest = expired.details!.oldest_event_id as number;
      const fromOldest = (await second.readEvents({ after: oldest - 1 }, 256)).events;
      expect(fromOldest[0]!.id).toBe(oldest);
      await expectCode(second.readEvents({ after: oldest - 2 }, 10), "cursor_expired");
      expect(fromOldest.map((e) => e.id)).toEqual(Array.from({ length: fromOldest.length }, (_, i) => oldest + i));
      expect(fromOldest[fromOldest.length - 1]!.kind).toBe("runtime_started");
    });

    test("a store of one runtime refuses to open as another, naming both ids", async () => {
      harness = make();
      const first = await harness.open({ runtime_id: "rt-first" });
      await first.close();
      const error = await expectCode(harness.open({ runtime_id: "rt-second" }), "store_runtime_mismatch");
      expect(error.message).toContain("rt-first");
      expect(error.message).toContain("rt-second");
      // Without a configured id the stored one is used.
      const again = track(await harness.open());
      expect(again.runtime_id).toBe("rt-first");
    });

    test("a generated runtime id is kept across restarts", async () => {
      harness = make();
      const first = await harness.open();
      const id = first.runtime_id;
      expect(id).toMatch(/^rt-[0-9a-f]{16}$/);
      await first.close();
      expect(track(await harness.open()).runtime_id).toBe(id);
    });

    test("diagnostics survive a restart", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "d", config_bundle: { id: "bundle-1" } });
      const before = await first.diagnostics();
      expect(before.some((d) => d.code === "config_bundle_unresolved")).toBe(true);
      await first.close();
      const second = track(await harness.open());
      const after = await second.diagnostics();
      expect(after.slice(0, before.length)).toEqual(before);
    });

    test("a deleted worker's id can be used again, starting empty", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "again" });
      await converse(first, "again", "old life");
      await first.deleteWorker("again");
      await first.createWorker({ worker_id: "again", display_name: "new" });
      await first.close();
      const second = track(await harness.open());
      const worker = await second.getWorker("again");
      expect(worker).toMatchObject({ display_name: "new", transcript_items: 0, run_count: 0 });
      expect((await second.transcript("again", {})).items).toEqual([]);
      expect((await second.listRuns("again")).runs).toEqual([]);
      expect((await converse(second, "again", "new life")).transcript_sequence).toBe(0);
    });

    test("non-ASCII content survives a crash and pages at every offset", async () => {
      harness = make();
      const first = await harness.open();
      await first.createWorker({ worker_id: "intl", display_name: "Grüße 世界" });
      const texts = Array.from({ length: 40 }, (_, i) => `${i}: héllo 世界 🎉 ${"ß".repeat(i)} \u2028 "quoted" \\ \n`);
      for (const text of texts) await first.sendInput("intl", { kind: "system", content: text });
      const second = track(await harness.crash(first));
      expect((await second.getWorker("intl")).display_name).toBe("Grüße 世界");
      for (let start = 0; start < 40; start += 3) {
        const page = await second.transcript("intl", { start, limit: 5 });
        expect(page.items.map((e) => e.content)).toEqual(texts.slice(start, start + 5));
      }
      expect((await second.sendInput("intl", { kind: "system", content: "ñ" })).transcript_sequence).toBe(40);
    });

    test("live subscribers see events committed by the store, once each", async () => {
      harness = make();
      const runtime = track(await harness.open());
      const subscription = runtime.subscribe({ after: 0 });
      await runtime.createWorker({ worker_id: "s" });
      await converse(runtime, "s", "watch");
      const seen: RuntimeEvent[] = [];
      const iterator = subscription[Symbol.asyncIterator]();
      await until(async () => {
        const next = await iterator.next();
        if (!next.done && next.value.id !== null) seen.push(next.value);
        return seen.some((e) => e.kind === "run_completed");
      }, "run_completed on the subscription");
      await iterator.return?.();
      const ids = seen.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      const stored = (await runtime.readEvents({ after: 0 }, 256)).events.filter((e) => e.id <= ids[ids.length - 1]!);
      expect(seen).toEqual(stored);
    });
  });
}

export async function readAllEvents(runtime: Runtime): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let after = 0;
  for (;;) {
    const batch = await runtime.readEvents({ after }, 256);
    out.push(...batch.events);
    if (!batch.has_more) return out;
    after = batch.next_after;
  }
}
