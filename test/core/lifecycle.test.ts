import { describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, RuntimeError, TERMINAL_RUN_STATUSES, type RuntimeEvent } from "../../src/index.ts";
import { GatedStore, Probe, SlowStore, eventLoopIdle, expectCode, openRuntime, until } from "./helpers.ts";

const HOLD = { kind: "named", value: "hold" } as const;
const SLOW = { kind: "named", value: "slow" } as const;

describe("single flight (§5)", () => {
  for (const [name, profile] of [
    ["a run that stays active", HOLD],
    ["a run that ends at once", { kind: "builtin", value: "echo" } as const],
  ] as const) {
    test(`exactly one of 50 concurrent inputs is accepted (${name})`, async () => {
      const runtime = await openRuntime();
      const worker = await runtime.createWorker({ profile });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => runtime.sendInput(worker.worker_ref, { kind: "user", content: `input ${i}` })),
      );
      const accepted = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason);
      expect(accepted).toHaveLength(1);
      expect(refused).toHaveLength(49);
      const run_id = accepted[0]!.run_id;
      expect(run_id).toMatch(/^r-/);
      for (const error of refused) {
        expect(error).toBeInstanceOf(RuntimeError);
        expect(error.code).toBe("worker_busy");
        expect(error.details).toEqual({ active_run_id: run_id });
      }
      // One input and one run in the transcript; nothing from the refused inputs.
      await runtime.cancelRun(worker.worker_ref);
      const transcript = await runtime.transcript(worker.worker_ref);
      expect(transcript.items.filter((e) => e.role === "user")).toHaveLength(1);
      expect((await runtime.listRuns(worker.worker_ref)).runs).toHaveLength(1);
      expect((await runtime.getWorker(worker.worker_ref)).run_count).toBe(1);
      await runtime.close();
    });
  }

  test("exactly one of 50 concurrent inputs wins on a store whose writes take time", async () => {
    const runtime = await openRuntime({ store: new SlowStore(3) });
    const worker = await runtime.createWorker({ profile: HOLD });
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" })),
      );
      const accepted = results.filter((r) => r.status === "fulfilled");
      expect(accepted).toHaveLength(1);
      const ack = await runtime.cancelRun(worker.worker_ref);
      expect(ack.cancelled_run_id).toBe((accepted[0] as PromiseFulfilledResult<{ run_id: string }>).value.run_id);
    }
    expect((await runtime.listRuns(worker.worker_ref)).runs.map((r) => r.status)).toEqual(Array(5).fill("cancelled"));
    await runtime.close();
  });

  test("input while running fails worker_busy, system input included; after the run it is accepted", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "first" });
    const running = await runtime.getWorker(worker.worker_ref);
    expect(running.status).toBe("running");
    expect(running.active_run_id).toBe(ack.run_id);
    const busy = await expectCode(runtime.sendInput(worker.worker_ref, { kind: "system", content: "ctx" }), "worker_busy");
    expect(busy.details).toEqual({ active_run_id: ack.run_id });
    await runtime.cancelRun(worker.worker_ref);
    const next = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "second" });
    expect(next.run_id).not.toBe(ack.run_id);
    await runtime.close();
  });

  test("input to a stopped worker fails worker_stopped, user and system alike", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    await runtime.stopWorker(worker.worker_ref);
    await expectCode(runtime.sendInput(worker.worker_ref, { kind: "user", content: "hi" }), "worker_stopped");
    await expectCode(runtime.sendInput(worker.worker_ref, { kind: "system", content: "hi" }), "worker_stopped");
    expect((await runtime.transcript(worker.worker_ref)).total_items).toBe(0);
    await runtime.close();
  });

  test("input sent while a stop is in progress fails worker_stopped", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const worker = await runtime.createWorker({ profile: HOLD });
    await runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    const stopping = runtime.stopWorker(worker.worker_ref);
    await expectCode(runtime.sendInput(worker.worker_ref, { kind: "user", content: "y" }), "worker_stopped");
    await stopping;
    await runtime.close();
  });
});

describe("input validation (§5)", () => {
  test("system input is appended as context and starts no run", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "system", content: "You are terse." });
    expect(ack).toMatchObject({ worker_ref: worker.worker_ref, status: "idle", run_id: null, transcript_sequence: 0 });
    expect(typeof ack.event_id).toBe("number");
    const detail = await runtime.getWorker(worker.worker_ref);
    expect(detail.status).toBe("idle");
    expect(detail.run_count).toBe(0);
    expect(detail.transcript_items).toBe(1);
    expect((await runtime.listRuns(worker.worker_ref)).runs).toEqual([]);
    const [entry] = (await runtime.transcript(worker.worker_ref)).items;
    expect(entry).toMatchObject({ sequence: 0, role: "system", content: "You are terse.", run_id: null, partial: false, event_id: ack.event_id });
    const events = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events;
    expect(events.map((e) => e.kind)).toEqual(["worker_created", "worker_input_accepted"]);
    expect(events[1]).toMatchObject({ id: ack.event_id, run_id: null, data: { role: "system", transcript_sequence: 0 } });
    await runtime.close();
  });

  test("content must be a non-empty string and the request carries only kind and content", async () => {
    const runtime = await openRuntime();
    const ref = (await runtime.createWorker({})).worker_ref;
    const bad: unknown[] = [
      { kind: "user", content: "" },
      { kind: "system", content: "" },
      { kind: "user" },
      { content: "hi" },
      { kind: "assistant", content: "hi" },
      { kind: "user", content: 5 },
      { kind: "user", content: ["hi"] },
      { kind: "user", content: "hi", extra: true },
      null,
      "hi",
    ];
    for (const input of bad) await expectCode(runtime.sendInput(ref, input as never), "invalid_request");
    expect((await runtime.getWorker(ref)).transcript_items).toBe(0);
    await runtime.close();
  });

  test("content over limits.max_input_bytes, counted in UTF-8 bytes, fails payload_too_large", async () => {
    const runtime = await openRuntime({ limits: { max_input_bytes: 12 } });
    const ref = (await runtime.createWorker({})).worker_ref;
    // Exactly at the limit: 12 ASCII bytes, 6 two-byte chars, 4 three-byte chars, 3 four-byte chars.
    for (const content of ["a".repeat(12), "é".repeat(6), "€".repeat(4), "🙂".repeat(3)]) {
      const ack = await runtime.sendInput(ref, { kind: "system", content });
      expect(ack.transcript_sequence).not.toBeNull();
    }
    // One byte over, though far fewer than 12 characters (or UTF-16 code units).
    for (const content of ["a".repeat(13), "é".repeat(6) + "a", "€".repeat(4) + "a", "🙂".repeat(3) + "a", "€".repeat(5)]) {
      const err = await expectCode(runtime.sendInput(ref, { kind: "user", content }), "payload_too_large");
      expect(err.message).toContain("max_input_bytes");
    }
    expect((await runtime.getWorker(ref)).transcript_items).toBe(4);
    expect((await runtime.getWorker(ref)).run_count).toBe(0);
    await runtime.close();
  });
});

describe("runs (§5)", () => {
  test("a run goes running → completed with the events in order and the output delta live only", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ profile: SLOW });
    const subscription = runtime.subscribe({ worker_id: worker.worker_ref.worker_id });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "hello" });
    expect(ack).toMatchObject({ worker_ref: worker.worker_ref, status: "running", transcript_sequence: 0 });
    const running = await runtime.getRun(worker.worker_ref, ack.run_id!);
    expect(running).toMatchObject({ status: "running", input_sequence: 0, output_sequence: null, finished_at: null, error: null, profile: "slow" });

    const seen: RuntimeEvent[] = [];
    for await (const event of subscription) {
      seen.push(event);
      if (event.kind === "run_completed") break;
    }
    expect(seen.map((e) => e.kind)).toEqual(["worker_input_accepted", "run_started", "run_output_delta", "run_completed"]);
    for (const event of seen) {
      expect(event.worker_ref).toEqual(worker.worker_ref);
      expect(event.run_id).toBe(ack.run_id);
    }
    const [accepted, started, delta, completed] = seen;
    expect(accepted!.id).toBe(ack.event_id);
    expect(started!.id).toBe(accepted!.id! + 1);
    expect(delta!.id).toBeNull();
    expect(delta!.data).toEqual({ delta: "hello" });
    // The delta consumes no id.
    expect(completed!.id).toBe(started!.id! + 1);

    if (completed!.kind !== "run_completed") throw new Error(`expected run_completed, got ${completed!.kind}`);
    const run = completed!.data.run;
    expect(run).toMatchObject({ run_id: ack.run_id, status: "completed", input_sequence: 0, output_sequence: 1, partial: false, error: null });
    expect(await runtime.getRun(worker.worker_ref, ack.run_id!)).toEqual(run);
    const stored = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events;
    expect(stored.map((e) => e.kind)).toEqual(["worker_created", "worker_input_accepted", "run_started", "run_completed"]);
    expect(stored.every((e) => e.id !== null)).toBe(true);
    const after = await runtime.getWorker(worker.worker_ref);
    expect(after).toMatchObject({ status: "idle", active_run_id: null, run_count: 1, transcript_items: 2 });
    expect(after.last_event_id).toBe(completed!.id!);
    await runtime.close();
  });

  test("waitRun returns the ended run, or the running run at the deadline", async () => {
    const runtime = await openRuntime();
    const hold = await runtime.createWorker({ profile: HOLD });
    const { run_id } = await runtime.sendInput(hold.worker_ref, { kind: "user", content: "x" });
    const atDeadline = await runtime.waitRun(hold.worker_ref, run_id!, 30);
    expect(atDeadline.status).toBe("running");
    expect(atDeadline.run_id).toBe(run_id!);
    expect((await runtime.waitRun(hold.worker_ref, run_id!, 0)).status).toBe("running");
    const waiting = runtime.waitRun(hold.worker_ref, run_id!, 20_000);
    await runtime.cancelRun(hold.worker_ref);
    expect((await waiting).status).toBe("cancelled");
    // An ended run is returned as it ended, whatever the timeout.
    expect((await runtime.waitRun(hold.worker_ref, run_id!, 0)).status).toBe("cancelled");

    const slow = await runtime.createWorker({ profile: SLOW });
    const ack = await runtime.sendInput(slow.worker_ref, { kind: "user", content: "x" });
    const ended = await runtime.waitRun(slow.worker_ref, ack.run_id!, 20_000);
    expect(ended.status).toBe("completed");
    expect(ended.finished_at).not.toBeNull();
    await expectCode(runtime.waitRun(slow.worker_ref, "r-unknown", 10), "run_not_found");
    await expectCode(runtime.waitRun(slow.worker_ref, "../r", 10), "run_not_found");
    await runtime.close();
  });

  test("waitRun with a timeout beyond the timer range still waits for the run", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ profile: SLOW });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    // 2^31 ms and more overflow setTimeout; the wait must not return at once with a running run.
    expect((await runtime.waitRun(worker.worker_ref, ack.run_id!, 2 ** 31)).status).toBe("completed");
    const again = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "y" });
    expect((await runtime.waitRun(worker.worker_ref, again.run_id!, Number.POSITIVE_INFINITY)).status).toBe("completed");
    await runtime.close();
  });

  test("waitRun refuses a negative or non-numeric timeout", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    for (const timeout of [-1, Number.NaN, "5" as never]) {
      await expectCode(runtime.waitRun(worker.worker_ref, ack.run_id!, timeout), "invalid_request");
    }
    await runtime.close();
  });

  test("getRun and listRuns", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: `m${i}` });
      await runtime.waitRun(worker.worker_ref, ack.run_id!, 20_000);
      ids.push(ack.run_id!);
    }
    const all = await runtime.listRuns(worker.worker_ref);
    expect(all.runs.map((r) => r.run_id)).toEqual(ids);
    expect(all.next_after).toBeNull();
    const page1 = await runtime.listRuns(worker.worker_ref, { limit: 2 });
    expect(page1.runs.map((r) => r.run_id)).toEqual(ids.slice(0, 2));
    expect(page1.next_after).toBe(ids[1]!);
    const page2 = await runtime.listRuns(worker.worker_ref, { limit: 2, after: page1.next_after! });
    expect(page2.runs.map((r) => r.run_id)).toEqual(ids.slice(2, 4));
    const page3 = await runtime.listRuns(worker.worker_ref, { limit: 2, after: page2.next_after! });
    expect(page3.runs.map((r) => r.run_id)).toEqual(ids.slice(4));
    expect(page3.next_after).toBeNull();
    await expectCode(runtime.listRuns(worker.worker_ref, { limit: 501 }), "limit_too_large");
    await expectCode(runtime.listRuns(worker.worker_ref, { limit: 0 }), "invalid_request");
    await expectCode(runtime.getRun(worker.worker_ref, "r-nope"), "run_not_found");
    // A run id belongs to its worker.
    const other = await runtime.createWorker({});
    await expectCode(runtime.getRun(other.worker_ref, ids[0]!), "run_not_found");
    await runtime.close();
  });
});

describe("runs while the store is still writing (§5)", () => {
  test("a run whose final record is not yet stored is never reported running by getRun or waitRun", async () => {
    const store = new GatedStore();
    const runtime = await openRuntime({ store });
    const worker = await runtime.createWorker({ profile: SLOW });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    // The run will end while its final commit is held back.
    store.hold();
    await until(() => store.pending > 0, "the run's final commit");
    expect((await runtime.getWorker(worker.worker_ref)).status).toBe("idle");
    expect((await runtime.getRun(worker.worker_ref, ack.run_id!)).status).toBe("completed");
    const waiting = runtime.waitRun(worker.worker_ref, ack.run_id!, 20_000);
    let settled = false;
    void waiting.then(() => (settled = true));
    // Everything the wait can do without the held commit has run once the event loop is idle
    // (the store is in memory and the gate holds the only pending work).
    await eventLoopIdle();
    // waitRun resolves once the end of the run is stored, not with a stale running record.
    expect(settled).toBe(false);
    store.release();
    expect((await waiting).status).toBe("completed");
    expect((await runtime.getRun(worker.worker_ref, ack.run_id!)).status).toBe("completed");
    await runtime.close();
  });
});

describe("operations racing an input whose commit is still pending (§5)", () => {
  async function pendingInput(profile: typeof HOLD | typeof SLOW = HOLD) {
    const store = new GatedStore();
    const probe = new Probe();
    const runtime = await openRuntime({ store, probe });
    const worker = await runtime.createWorker({ profile });
    store.hold();
    const input = runtime.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    await until(() => store.pending > 0, "the input commit");
    const { active_run_id } = await runtime.getWorker(worker.worker_ref);
    expect(active_run_id).not.toBeNull();
    return { store, probe, runtime, ref: worker.worker_ref, input, run_id: active_run_id! };
  }

  test("cancel waits for the run to start and end, then reports it cancelled", async () => {
    const { store, runtime, ref, input, run_id } = await pendingInput();
    const cancel = runtime.cancelRun(ref);
    store.release();
    expect((await input).run_id).toBe(run_id);
    expect((await cancel).cancelled_run_id).toBe(run_id);
    expect((await runtime.getRun(ref, run_id)).status).toBe("cancelled");
    expect((await runtime.getWorker(ref)).status).toBe("idle");
    await runtime.close();
  });

  test("stop cancels the run and leaves the worker stopped", async () => {
    const { store, runtime, ref, input, run_id } = await pendingInput();
    const stop = runtime.stopWorker(ref);
    store.release();
    await input;
    expect(await stop).toMatchObject({ status: "stopped", cancelled_run_id: run_id });
    expect((await runtime.getWorker(ref)).status).toBe("stopped");
    await runtime.close();
  });

  test("close interrupts the run", async () => {
    const { store, runtime, ref, input, run_id } = await pendingInput();
    const waiting = runtime.waitRun(ref, run_id, 20_000);
    const closing = runtime.close();
    store.release();
    await input;
    await closing;
    expect((await waiting).status).toBe("interrupted");
  });

  test("delete is refused while the input is pending", async () => {
    const { store, runtime, ref, input, run_id } = await pendingInput();
    const err = await expectCode(runtime.deleteWorker(ref), "worker_busy");
    expect(err.details).toEqual({ active_run_id: run_id });
    store.release();
    await input;
    await runtime.cancelRun(ref);
    await runtime.close();
  });

  test("concurrent system inputs get distinct, dense sequences stored in order", async () => {
    const runtime = await openRuntime({ store: new SlowStore(3) });
    const { worker_ref } = await runtime.createWorker({});
    const acks = await Promise.all(
      Array.from({ length: 100 }, (_, i) => runtime.sendInput(worker_ref, { kind: "system", content: `s${i}` })),
    );
    expect(acks.map((a) => a.transcript_sequence)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const page = await runtime.transcript(worker_ref, { limit: 256 });
    expect(page.items.map((e) => [e.sequence, e.content])).toEqual(acks.map((_, i) => [i, `s${i}`]));
    const ids = page.items.map((e) => e.event_id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    await runtime.close();
  });
});

describe("cancel (§5)", () => {
  test("cancel with no active run succeeds with cancelled_run_id null", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    const ack = await runtime.cancelRun(worker.worker_ref, "nothing to do");
    expect(ack).toMatchObject({ worker_ref: worker.worker_ref, status: "idle", run_id: null, cancelled_run_id: null });
    await runtime.close();
  });

  test("cancel resolves only once the backend's work stopped; the run ends cancelled with its partial output", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const worker = await runtime.createWorker({ profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "go" });
    await until(() => probe.started.has(ack.run_id!), "the run to start");
    // Let the backend's first delta reach the runtime.
    await until(async () => (await runtime.getWorker(worker.worker_ref)).status === "running", "running");
    const cancel = await runtime.cancelRun(worker.worker_ref, "changed my mind");
    expect(probe.ended.has(ack.run_id!)).toBe(true);
    expect(cancel).toMatchObject({ status: "idle", run_id: ack.run_id, cancelled_run_id: ack.run_id });
    const run = await runtime.getRun(worker.worker_ref, ack.run_id!);
    expect(run.status).toBe("cancelled");
    expect(run.error).toEqual({ code: "cancelled", message: "changed my mind" });
    expect((await runtime.getWorker(worker.worker_ref)).status).toBe("idle");
    const kinds = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events.map((e) => e.kind);
    expect(kinds.at(-1)).toBe("run_cancelled");
    await runtime.close();
  });

  test("concurrent cancels of one run all resolve after it ended and report it", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const worker = await runtime.createWorker({ profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "go" });
    const acks = await Promise.all(Array.from({ length: 10 }, () => runtime.cancelRun(worker.worker_ref)));
    expect(probe.ended.has(ack.run_id!)).toBe(true);
    for (const a of acks) expect(a.cancelled_run_id).toBe(ack.run_id);
    const cancelledEvents = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events.filter(
      (e) => e.kind === "run_cancelled",
    );
    expect(cancelledEvents).toHaveLength(1);
    await runtime.close();
  });

  test("a reason longer than 1000 characters or not a string is refused", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    await expectCode(runtime.cancelRun(worker.worker_ref, "x".repeat(1001)), "invalid_request");
    await expectCode(runtime.stopWorker(worker.worker_ref, 42 as never), "invalid_request");
    expect((await runtime.getWorker(worker.worker_ref)).status).toBe("idle");
    await runtime.close();
  });
});

describe("stop, restore, delete (§5)", () => {
  test("stop sets stopped with its reason; a second stop is a no-op success", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    const first = await runtime.stopWorker(worker.worker_ref, "maintenance");
    expect(first).toMatchObject({ status: "stopped", run_id: null, cancelled_run_id: null });
    expect(typeof first.event_id).toBe("number");
    const detail = await runtime.getWorker(worker.worker_ref);
    expect(detail).toMatchObject({ status: "stopped", stopped_reason: "maintenance" });
    const second = await runtime.stopWorker(worker.worker_ref, "again");
    expect(second).toMatchObject({ status: "stopped", event_id: null });
    expect((await runtime.getWorker(worker.worker_ref)).stopped_reason).toBe("maintenance");
    const kinds = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events.map((e) => e.kind);
    expect(kinds).toEqual(["worker_created", "worker_stopped"]);
    await runtime.close();
  });

  test("stop cancels the active run once its work stopped", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const worker = await runtime.createWorker({ profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "go" });
    const [a, b] = await Promise.all([runtime.stopWorker(worker.worker_ref), runtime.stopWorker(worker.worker_ref)]);
    expect(probe.ended.has(ack.run_id!)).toBe(true);
    expect(a).toMatchObject({ status: "stopped", cancelled_run_id: ack.run_id });
    expect(b).toEqual(a);
    expect((await runtime.getRun(worker.worker_ref, ack.run_id!)).status).toBe("cancelled");
    const kinds = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events.map((e) => e.kind);
    expect(kinds.slice(-2)).toEqual(["run_cancelled", "worker_stopped"]);
    await runtime.close();
  });

  test("restore moves stopped → idle; restoring an idle worker is a no-op success", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    const noop = await runtime.restoreWorker(worker.worker_ref);
    expect(noop).toMatchObject({ status: "idle", event_id: null });
    await runtime.stopWorker(worker.worker_ref, "pause");
    const restored = await runtime.restoreWorker(worker.worker_ref);
    expect(restored).toMatchObject({ status: "idle", run_id: null });
    expect(typeof restored.event_id).toBe("number");
    expect(await runtime.getWorker(worker.worker_ref)).toMatchObject({ status: "idle", stopped_reason: null });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "back" });
    expect((await runtime.waitRun(worker.worker_ref, ack.run_id!, 20_000)).status).toBe("completed");
    const kinds = (await runtime.readEvents({ worker_id: worker.worker_ref.worker_id })).events.map((e) => e.kind);
    expect(kinds).toContain("worker_restored");
    await runtime.close();
  });

  test("restore issued while a stop is in progress lands after it", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ profile: HOLD });
    await runtime.sendInput(worker.worker_ref, { kind: "user", content: "go" });
    const stop = runtime.stopWorker(worker.worker_ref);
    const restore = await runtime.restoreWorker(worker.worker_ref);
    expect((await stop).status).toBe("stopped");
    expect(restore.status).toBe("idle");
    expect((await runtime.getWorker(worker.worker_ref)).status).toBe("idle");
    await runtime.close();
  });

  test("delete removes an idle or stopped worker and its data; running fails worker_busy", async () => {
    const runtime = await openRuntime();
    const idle = await runtime.createWorker({ worker_id: "idle" });
    await runtime.sendInput(idle.worker_ref, { kind: "system", content: "old context" });
    expect(await runtime.deleteWorker(idle.worker_ref)).toEqual({ deleted: idle.worker_ref });
    await expectCode(runtime.getWorker("idle"), "worker_not_found");
    await expectCode(runtime.transcript("idle"), "worker_not_found");
    await expectCode(runtime.deleteWorker("idle"), "worker_not_found");
    // The id can be reused and starts from nothing.
    const reborn = await runtime.createWorker({ worker_id: "idle" });
    expect(reborn.transcript_items).toBe(0);
    expect((await runtime.transcript("idle")).items).toEqual([]);

    const stopped = await runtime.createWorker({ worker_id: "stopped" });
    await runtime.stopWorker(stopped.worker_ref);
    await runtime.deleteWorker(stopped.worker_ref);
    await expectCode(runtime.getWorker(stopped.worker_ref), "worker_not_found");

    const busy = await runtime.createWorker({ worker_id: "busy", profile: HOLD });
    const ack = await runtime.sendInput(busy.worker_ref, { kind: "user", content: "x" });
    const err = await expectCode(runtime.deleteWorker(busy.worker_ref), "worker_busy");
    expect(err.details).toEqual({ active_run_id: ack.run_id });
    expect((await runtime.getWorker(busy.worker_ref)).status).toBe("running");
    await runtime.cancelRun(busy.worker_ref);
    await runtime.deleteWorker(busy.worker_ref);

    const deleted = (await runtime.readEvents({})).events.filter((e) => e.kind === "worker_deleted");
    expect(deleted.map((e) => e.worker_ref?.worker_id)).toEqual(["idle", "stopped", "busy"]);
    await runtime.close();
  });

  test("listWorkers pages by worker id and filters by status", async () => {
    const runtime = await openRuntime();
    for (const id of ["c", "a", "e", "b", "d"]) await runtime.createWorker({ worker_id: id });
    await runtime.stopWorker("b");
    await runtime.stopWorker("d");
    const page1 = await runtime.listWorkers({ limit: 2 });
    expect(page1.workers.map((w) => w.worker_ref.worker_id)).toEqual(["a", "b"]);
    expect(page1.next_after).toBe("b");
    const page2 = await runtime.listWorkers({ limit: 2, after: "b" });
    expect(page2.workers.map((w) => w.worker_ref.worker_id)).toEqual(["c", "d"]);
    const page3 = await runtime.listWorkers({ limit: 2, after: page2.next_after! });
    expect(page3.workers.map((w) => w.worker_ref.worker_id)).toEqual(["e"]);
    expect(page3.next_after).toBeNull();
    const stopped = await runtime.listWorkers({ status: "stopped" });
    expect(stopped.workers.map((w) => w.worker_ref.worker_id)).toEqual(["b", "d"]);
    expect(stopped.next_after).toBeNull();
    expect((await runtime.listWorkers({ status: "stopped", limit: 1 })).next_after).toBe("b");
    await expectCode(runtime.listWorkers({ limit: 501 }), "limit_too_large");
    await expectCode(runtime.listWorkers({ limit: 0 }), "invalid_request");
    await expectCode(runtime.listWorkers({ status: "sleeping" as never }), "invalid_request");
    const summary = await runtime.summary();
    expect(summary.workers).toEqual({ total: 5, idle: 3, running: 0, stopped: 2, unavailable: 0 });
    await runtime.close();
  });
});

describe("summary (§3)", () => {
  test("counts workers by status and active runs", async () => {
    const runtime = await openRuntime({ runtime_id: "rt-sum", display_name: "Summary", version: "9.9.9" });
    await runtime.createWorker({ worker_id: "idle" });
    await runtime.createWorker({ worker_id: "busy1", profile: HOLD });
    await runtime.createWorker({ worker_id: "busy2", profile: HOLD });
    await runtime.createWorker({ worker_id: "off" });
    await runtime.sendInput("busy1", { kind: "user", content: "x" });
    await runtime.sendInput("busy2", { kind: "user", content: "x" });
    await runtime.stopWorker("off");
    const summary = await runtime.summary();
    expect(summary).toMatchObject({
      id: "rt-sum",
      runtime_id: "rt-sum",
      display_name: "Summary",
      store: "memory",
      status: "running",
      version: "9.9.9",
      workers: { total: 4, idle: 1, running: 2, stopped: 1, unavailable: 0 },
      active_runs: 2,
      default_profile: "echo",
    });
    expect(summary.limits.max_workers).toBe(10_000);
    expect(summary.last_event_id).toBe((await runtime.readEvents({}, 256)).next_after);
    await runtime.cancelRun("busy1");
    expect((await runtime.summary()).active_runs).toBe(1);
    await runtime.close();
    expect((await runtime.summary()).status).toBe("closed");
  });
});

describe("close and reopen (§3, §5)", () => {
  test("close interrupts active runs, is idempotent, and later calls fail runtime_unavailable", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const worker = await runtime.createWorker({ worker_id: "w1", profile: HOLD });
    const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: "go" });
    const waiting = runtime.waitRun(worker.worker_ref, ack.run_id!, 20_000);
    const subscription = runtime.subscribe({});
    await Promise.all([runtime.close(), runtime.close()]);
    await runtime.close();
    expect(probe.ended.has(ack.run_id!)).toBe(true);
    const run = await waiting;
    expect(run.status).toBe("interrupted");
    expect(run.error?.code).toBe("interrupted");
    expect((await runtime.summary()).status).toBe("closed");
    expect(runtime.subscriberCount).toBe(0);
    const kinds: string[] = [];
    // Queued events are still handed out after close: the stream ends with runtime_stopped.
    for await (const event of subscription) if (event.id !== null) kinds.push(event.kind);
    expect(kinds).toEqual(["run_interrupted", "runtime_stopped"]);

    const ref = worker.worker_ref;
    const calls: Array<() => unknown> = [
      () => runtime.createWorker({}),
      () => runtime.listWorkers(),
      () => runtime.getWorker(ref),
      () => runtime.sendInput(ref, { kind: "user", content: "x" }),
      () => runtime.stopWorker(ref),
      () => runtime.cancelRun(ref),
      () => runtime.restoreWorker(ref),
      () => runtime.deleteWorker(ref),
      () => runtime.waitRun(ref, ack.run_id!, 10),
      () => runtime.getRun(ref, ack.run_id!),
      () => runtime.listRuns(ref),
      () => runtime.transcript(ref),
      () => runtime.readEvents({}),
      () => runtime.subscribe({}),
      () => runtime.diagnostics(),
    ];
    for (const call of calls) await expectCode(call, "runtime_unavailable");
  });

  test("a restore waiting for a stop when close begins records nothing after runtime_stopped", async () => {
    const store = new MemoryStore();
    const runtime = await openRuntime({ store });
    await runtime.createWorker({ worker_id: "w1", profile: HOLD });
    await runtime.sendInput("w1", { kind: "user", content: "x" });
    const stop = runtime.stopWorker("w1");
    const restore = runtime.restoreWorker("w1");
    await runtime.close();
    await stop;
    await expectCode(restore, "runtime_unavailable");
    const reopened = await openRuntime({ store });
    const kinds = (await reopened.readEvents({}, 256)).events.map((e) => e.kind);
    expect(kinds.slice(-3)).toEqual(["worker_stopped", "runtime_stopped", "runtime_started"]);
    expect((await reopened.getWorker("w1")).status).toBe("stopped");
    await reopened.close();
  });

  test("reopening the same store restores workers, runs and transcripts and continues event ids", async () => {
    const store = new MemoryStore();
    const first = await openRuntime({ store, runtime_id: "rt-a" });
    const idle = await first.createWorker({ worker_id: "idle", display_name: "Idle" });
    const ack = await first.sendInput(idle.worker_ref, { kind: "user", content: "remember me" });
    await first.waitRun(idle.worker_ref, ack.run_id!, 20_000);
    await first.createWorker({ worker_id: "stopped" });
    await first.stopWorker("stopped", "done for today");
    const hold = await first.createWorker({ worker_id: "hold", profile: HOLD });
    const held = await first.sendInput(hold.worker_ref, { kind: "user", content: "x" });
    await first.close();
    const lastId = (await first.summary()).last_event_id;

    const second = await openRuntime({ store });
    expect(second.runtime_id).toBe("rt-a");
    expect((await second.getWorker("idle"))).toMatchObject({ status: "idle", display_name: "Idle", transcript_items: 2, run_count: 1 });
    expect((await second.getWorker("stopped"))).toMatchObject({ status: "stopped", stopped_reason: "done for today" });
    expect((await second.getWorker("hold")).status).toBe("idle");
    expect((await second.getRun("hold", held.run_id!)).status).toBe("interrupted");
    expect((await second.transcript("idle")).items.map((e) => [e.role, e.content])).toEqual([
      ["user", "remember me"],
      ["assistant", "remember me"],
    ]);
    const events = (await second.readEvents({ after: lastId })).events;
    expect(events[0]).toMatchObject({ id: lastId + 1, kind: "runtime_started" });
    // Ids stay dense and increasing across the restart.
    const all = (await second.readEvents({ after: 0 }, 256)).events.map((e) => e.id);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const next = await second.sendInput("idle", { kind: "user", content: "again" });
    expect(next.transcript_sequence).toBe(2);
    await second.close();
  });

  test("a run that was running when the runtime vanished is interrupted on reopen", async () => {
    const store = new MemoryStore();
    const crashed = await openRuntime({ store });
    const worker = await crashed.createWorker({ worker_id: "w1", profile: HOLD });
    const ack = await crashed.sendInput(worker.worker_ref, { kind: "user", content: "x" });
    // No close(): the process "died" with the run active.
    const reopened = await Runtime.open({ store, backends: [] as never[] }).catch((e: unknown) => e);
    // The builtin echo backend is required.
    expect(reopened).toBeInstanceOf(RuntimeError);
    const runtime = await openRuntime({ store });
    const run = await runtime.getRun("w1", ack.run_id!);
    expect(run).toMatchObject({ status: "interrupted", error: { code: "interrupted" } });
    expect(TERMINAL_RUN_STATUSES.has(run.status)).toBe(true);
    expect(run.finished_at).not.toBeNull();
    expect(await runtime.getWorker("w1")).toMatchObject({ status: "idle", active_run_id: null });
    const diagnostics = await runtime.diagnostics();
    expect(diagnostics.some((d) => d.code === "run_interrupted" && d.run_id === ack.run_id)).toBe(true);
    const kinds = (await runtime.readEvents({ worker_id: "w1" })).events.map((e) => e.kind);
    expect(kinds.at(-2)).toBe("run_interrupted");
    expect(kinds.at(-1)).toBe("diagnostic");
    // The worker accepts input again.
    const next = await runtime.sendInput("w1", { kind: "user", content: "y" });
    expect(next.run_id).not.toBe(ack.run_id);
    await runtime.cancelRun("w1");
    await runtime.close();
  });
});
