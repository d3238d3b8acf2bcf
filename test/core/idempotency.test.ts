import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { verifyStore } from "../../src/store/fs/verify.ts";
import { join } from "node:path";
import { FsStore, MemoryStore, Runtime, RuntimeError } from "../../src/index.ts";
import { cleanScratch, fsHarness, memoryHarness, runtimeOptions, scratchDir, type StoreHarness } from "../store/helpers.ts";
import { eventLoopIdle, expectCode, GatedStore, openRuntime, until } from "./helpers.ts";

/** Safe retries in the library (SPEC §10 Idempotency-Key): the core keeps the first answer with its operation. */

const key = (k: string, scope?: string) => ({ idempotency: { key: k, ...(scope === undefined ? {} : { scope }) } });

afterEach(() => cleanScratch());

async function eventCount(runtime: Runtime): Promise<number> {
  return (await runtime.readEvents({}, 256)).events.length;
}

describe("Idempotency-Key in the core", () => {
  test("a retried create answers the first detail and creates nothing", async () => {
    const runtime = await openRuntime();
    try {
      const first = await runtime.createWorker({ display_name: "one" }, key("k-create"));
      const events = await eventCount(runtime);
      const again = await runtime.createWorker({ display_name: "one" }, key("k-create"));
      expect(again).toEqual(first);
      expect((await runtime.listWorkers()).workers).toHaveLength(1);
      expect(await eventCount(runtime)).toBe(events);
      expect(runtime.idempotencyKeyCount).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  test("a retried input answers the same ack: no new transcript entry, run or event", async () => {
    const runtime = await openRuntime();
    try {
      const { worker_ref } = await runtime.createWorker({ worker_id: "w" });
      const ack = await runtime.sendInput("w", { kind: "user", content: "hello" }, key("k-in"));
      await runtime.waitRun("w", ack.run_id!, 20_000);
      const events = await eventCount(runtime);
      const again = await runtime.sendInput(worker_ref, { kind: "user", content: "hello" }, key("k-in"));
      expect(again).toEqual(ack);
      const page = await runtime.transcript("w");
      expect(page.items.map((e) => e.role)).toEqual(["user", "assistant"]);
      expect((await runtime.listRuns("w")).runs).toHaveLength(1);
      expect(await eventCount(runtime)).toBe(events);
    } finally {
      await runtime.close();
    }
  });

  test("the same key with another request fails idempotency_key_reused; another scope is another key", async () => {
    const runtime = await openRuntime();
    try {
      await runtime.createWorker({ worker_id: "w" });
      await runtime.sendInput("w", { kind: "system", content: "a" }, key("k"));
      await expectCode(runtime.sendInput("w", { kind: "system", content: "b" }, key("k")), "idempotency_key_reused");
      await expectCode(runtime.stopWorker("w", undefined, key("k")), "idempotency_key_reused");
      await expectCode(runtime.createWorker({}, key("k")), "idempotency_key_reused");
      // Another scope (another token subject) does not see the first answer: it runs.
      const other = await runtime.sendInput("w", { kind: "system", content: "a" }, key("k", "token:bob"));
      expect(other.transcript_sequence).toBe(1);
      expect((await runtime.transcript("w")).items).toHaveLength(2);
    } finally {
      await runtime.close();
    }
  });

  test("a key that is not 1-255 visible ASCII characters is invalid_request", async () => {
    const runtime = await openRuntime();
    try {
      for (const bad of ["", "has space", "é", "x".repeat(256), "tab\t"]) {
        await expectCode(runtime.createWorker({}, key(bad)), "invalid_request");
      }
      expect((await runtime.listWorkers()).workers).toHaveLength(0);
      await runtime.createWorker({}, key("x".repeat(255)));
      await runtime.createWorker({}, key("!~"));
    } finally {
      await runtime.close();
    }
  });

  test("an error is not kept: the retry runs again", async () => {
    const runtime = await openRuntime();
    try {
      await runtime.createWorker({ worker_id: "w" });
      await runtime.stopWorker("w");
      await expectCode(runtime.sendInput("w", { kind: "system", content: "x" }, key("k")), "worker_stopped");
      await runtime.restoreWorker("w");
      const ack = await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      expect(ack.transcript_sequence).toBe(0);
    } finally {
      await runtime.close();
    }
  });

  test("stop, restore, cancel and permission-less no-ops replay their first ack", async () => {
    const runtime = await openRuntime();
    try {
      await runtime.createWorker({ worker_id: "w", profile: { kind: "named", value: "hold" } });
      const started = await runtime.sendInput("w", { kind: "user", content: "go" });
      const cancelled = await runtime.cancelRun("w", "enough", key("c"));
      expect(cancelled.cancelled_run_id).toBe(started.run_id);
      expect(await runtime.cancelRun("w", "enough", key("c"))).toEqual(cancelled);
      const stopped = await runtime.stopWorker("w", "bye", key("s"));
      const events = await eventCount(runtime);
      expect(await runtime.stopWorker("w", "bye", key("s"))).toEqual(stopped);
      const restored = await runtime.restoreWorker("w", key("r"));
      expect(restored.status).toBe("idle");
      // Stopped again: a replayed restore gives the first answer and leaves the worker stopped.
      await runtime.stopWorker("w");
      expect(await runtime.restoreWorker("w", key("r"))).toEqual(restored);
      expect((await runtime.getWorker("w")).status).toBe("stopped");
      expect(await eventCount(runtime)).toBe(events + 2);
    } finally {
      await runtime.close();
    }
  });

  test("concurrent requests with one key: the second waits for the first and answers the same", async () => {
    const store = new GatedStore();
    const runtime = await openRuntime({ store });
    try {
      await runtime.createWorker({ worker_id: "w" });
      store.hold();
      const first = runtime.sendInput("w", { kind: "system", content: "once" }, key("k"));
      await until(() => store.pending > 0, "the first request's commit to be held");
      let answered = false;
      const second = runtime.sendInput("w", { kind: "system", content: "once" }, key("k")).finally(() => (answered = true));
      await expectCode(runtime.sendInput("w", { kind: "system", content: "other" }, key("k")), "idempotency_key_reused");
      await eventLoopIdle();
      expect(answered).toBe(false);
      store.release();
      const [a, b] = await Promise.all([first, second]);
      expect(b).toEqual(a);
      expect((await runtime.transcript("w")).items).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });

  test("a deleted worker's create key still replays its answer within retention", async () => {
    const runtime = await openRuntime();
    try {
      const created = await runtime.createWorker({ worker_id: "gone" }, key("k"));
      await runtime.deleteWorker("gone");
      expect(await runtime.createWorker({ worker_id: "gone" }, key("k"))).toEqual(created);
      await expectCode(runtime.getWorker("gone"), "worker_not_found");
    } finally {
      await runtime.close();
    }
  });

  test("keys expire after limits.idempotency_retention_s (clock injected); the retry then runs", async () => {
    let now = 1_000_000;
    const runtime = await openRuntime({ now: () => now, limits: { idempotency_retention_s: 60 } });
    try {
      await runtime.createWorker({ worker_id: "w" });
      await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      now += 59_999;
      await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      expect((await runtime.transcript("w")).items).toHaveLength(1);
      now += 1;
      expect(runtime.idempotencyKeyCount).toBe(0);
      const again = await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      expect(again.transcript_sequence).toBe(1);
    } finally {
      await runtime.close();
    }
  });

  test("limits.idempotency_retention_s is checked", async () => {
    await expectCode(openRuntime({ limits: { idempotency_retention_s: 0 } }), "invalid_request");
    const runtime = await openRuntime();
    expect((await runtime.summary()).limits.idempotency_retention_s).toBe(86_400);
    await runtime.close();
  });
});

for (const make of [memoryHarness, fsHarness] as Array<() => StoreHarness>) {
  describe(`Idempotency-Key across a restart (${make().name})`, () => {
    test("kept answers survive a clean reopen and a crash", async () => {
      const h = make();
      const first = await h.open();
      const created = await first.createWorker({ worker_id: "w" }, key("c"));
      const ack = await first.sendInput("w", { kind: "system", content: "x" }, key("i"));
      await first.close();
      const second = await h.open();
      expect(await second.createWorker({ worker_id: "w" }, key("c"))).toEqual(created);
      expect(await second.sendInput("w", { kind: "system", content: "x" }, key("i"))).toEqual(ack);
      await expectCode(second.sendInput("w", { kind: "system", content: "y" }, key("i")), "idempotency_key_reused");
      const ack2 = await second.sendInput("w", { kind: "system", content: "z" }, key("i2"));
      const third = await h.crash(second);
      expect(await third.sendInput("w", { kind: "system", content: "z" }, key("i2"))).toEqual(ack2);
      expect((await third.transcript("w")).items).toHaveLength(2);
      await third.close();
      await h.cleanup();
    });
  });
}

describe("Idempotency-Key in the fs store", () => {
  test("expired keys are not loaded on open, and their files are removed as new keys are written", async () => {
    const root = scratchDir("idem");
    let now = 5_000_000;
    const open = () => Runtime.open(runtimeOptions(new FsStore({ root }), { now: () => now, limits: { idempotency_retention_s: 100 } }));
    let runtime = await open();
    await runtime.createWorker({ worker_id: "w" });
    await runtime.sendInput("w", { kind: "system", content: "old" }, key("old"));
    now += 60_000; // past half the retention: the next key starts a new generation
    await runtime.sendInput("w", { kind: "system", content: "new" }, key("new"));
    await runtime.close();
    const files = () => readdirSync(join(root, "idempotency")).sort();
    expect(files()).toEqual(["1.jsonl", "2.jsonl"]);

    now += 50_000; // "old" expired (110 s), "new" not (50 s)
    runtime = await open();
    expect(runtime.idempotencyKeyCount).toBe(1);
    const again = await runtime.sendInput("w", { kind: "system", content: "old" }, key("old"));
    expect(again.transcript_sequence).toBe(2);
    await runtime.sendInput("w", { kind: "system", content: "new" }, key("new"));
    expect((await runtime.transcript("w")).items).toHaveLength(3);
    await runtime.close();
    expect(files()).not.toContain("1.jsonl");
  });

  test("a damaged record is found by store verify, reported on open and forgotten; the other keys still replay", async () => {
    const root = scratchDir("idem-damage");
    let runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    await runtime.createWorker({ worker_id: "w" });
    const a = await runtime.sendInput("w", { kind: "system", content: "a" }, key("a"));
    await runtime.sendInput("w", { kind: "system", content: "b" }, key("b"));
    const c = await runtime.sendInput("w", { kind: "system", content: "c" }, key("c"));
    await runtime.close();
    const file = join(root, "idempotency", "1.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines).toHaveLength(4);
    const offset = lines[0]!.length + 1;
    lines[1] = lines[1]!.replace('"key":"b"', '"key":"X"');
    writeFileSync(file, lines.join("\n"));
    expect(verifyStore(root).damaged).toEqual([expect.objectContaining({ file: "idempotency/1.jsonl", offset })]);

    runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    const diagnostics = await runtime.diagnostics();
    expect(diagnostics.some((d) => d.code === "store_corrupt" && d.details?.file === "idempotency/1.jsonl")).toBe(true);
    expect(await runtime.sendInput("w", { kind: "system", content: "a" }, key("a"))).toEqual(a);
    expect(await runtime.sendInput("w", { kind: "system", content: "c" }, key("c"))).toEqual(c);
    // Neither the altered key nor the original one replays anything altered: "b" runs again.
    expect((await runtime.sendInput("w", { kind: "system", content: "b" }, key("b"))).transcript_sequence).toBe(3);
    await runtime.close();
  });

  test("a key is durable only with its operation: a failed commit keeps neither", async () => {
    class FailingStore extends MemoryStore {
      fail = false;
      override async commit(commit: Parameters<MemoryStore["commit"]>[0]): Promise<void> {
        if (this.fail && commit.idempotency) throw new Error("disk on fire");
        return super.commit(commit);
      }
    }
    const store = new FailingStore();
    const runtime = await openRuntime({ store });
    try {
      await runtime.createWorker({ worker_id: "w" });
      store.fail = true;
      await expectCode(runtime.sendInput("w", { kind: "system", content: "x" }, key("k")), "store_io");
      expect((await runtime.transcript("w")).items).toHaveLength(0);
      store.fail = false;
      const ack = await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      expect(ack.transcript_sequence).toBe(0);
    } finally {
      await runtime.close();
    }
  });

  test("an answer whose write has an unknown outcome is not kept: the store took the batch back, so the retry applies it once", async () => {
    class UnsureStore extends MemoryStore {
      unsure = false;
      override async commit(commit: Parameters<MemoryStore["commit"]>[0]): Promise<void> {
        if (this.unsure && commit.idempotency) {
          throw new RuntimeError("runtime_unavailable", "the sync failed", { cause: "io_error", outcome: "unknown" });
        }
        await super.commit(commit);
      }
    }
    const store = new UnsureStore();
    const runtime = await openRuntime({ store });
    try {
      await runtime.createWorker({ worker_id: "w" });
      store.unsure = true;
      const failure = await expectCode(runtime.sendInput("w", { kind: "system", content: "x" }, key("k")), "runtime_unavailable");
      expect(failure.details?.outcome).toBe("unknown");
      store.unsure = false;
      const ack = await runtime.sendInput("w", { kind: "system", content: "x" }, key("k"));
      expect(ack.transcript_sequence).toBe(0);
      expect((await store.readTranscript("w", 0, 10)).length).toBe(1);
    } finally {
      await runtime.close();
    }
  });
});
