import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, expectCode, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

/**
 * One FsStore instance opened, closed and opened again: each open starts from the layout alone,
 * whatever the previous open held in memory.
 */
describe("FsStore reopened (the same instance)", () => {
  test("a reopen sees the layout as it is now, not what the last open remembered", async () => {
    const root = scratchDir("reopen");
    const store = new FsStore({ root, checkpoint_interval_ms: 60_000 });
    const first = await Runtime.open(runtimeOptions(store));
    await first.createWorker({ worker_id: "kept" });
    await first.createWorker({ worker_id: "gone" });
    await converse(first, "kept", "before");
    await converse(first, "gone", "before");
    const lastBefore = (await readAllEvents(first)).at(-1)!.id;
    await first.close();
    // Between the two opens, someone removes a worker's directory by hand.
    rmSync(join(root, "workers/gone"), { recursive: true });

    const second = await Runtime.open(runtimeOptions(store));
    try {
      expect((await second.listWorkers()).workers.map((w) => w.worker_ref.worker_id)).toEqual(["kept"]);
      await expectCode(second.getWorker("gone"), "worker_not_found");
      // The id is free again: the new worker starts empty, and nothing of the old one comes back.
      await second.createWorker({ worker_id: "gone" });
      await converse(second, "gone", "after");
      expect((await second.transcript("gone", {})).items.map((e) => [e.sequence, e.content])).toEqual([
        [0, "after"],
        [1, "after"],
      ]);
      expect((await second.listRuns("gone", {})).runs).toHaveLength(1);
      expect((await second.transcript("kept", {})).items.map((e) => e.content)).toEqual(["before", "before"]);
      // Event ids continue after the last one stored: none is handed out twice.
      const events = await readAllEvents(second);
      expect(events.filter((e) => e.id <= lastBefore).length).toBeGreaterThan(0);
      expect(events.at(-1)!.id).toBeGreaterThan(lastBefore);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    } finally {
      await second.close();
    }

    // A new instance on the same root agrees with what the reopened one wrote.
    const third = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      expect((await third.listWorkers()).workers.map((w) => w.worker_ref.worker_id)).toEqual(["gone", "kept"]);
      expect((await third.transcript("gone", {})).items.map((e) => e.content)).toEqual(["after", "after"]);
    } finally {
      await third.close();
    }
  });

  test("closed, it refuses commits; a failed open leaves it closed and free to open again", async () => {
    const root = scratchDir("reopen");
    const store = new FsStore({ root, durability: "none" });
    await expectCode(store.commit({}), "runtime_unavailable");
    expect(await store.listDiagnostics()).toEqual([]);
    expect(await store.readEvents({ after: 0, limit: 10 })).toEqual([]);
    expect(store.firstRetainedEventId()).toBeNull();

    const first = await Runtime.open(runtimeOptions(store, { runtime_id: "rt-one" }));
    await first.createWorker({ worker_id: "w" });
    await first.close();
    await store.close();
    const refused = await expectCode(store.commit({}), "runtime_unavailable");
    expect(refused.message).toContain("closed");
    expect(existsSync(join(root, "LOCK"))).toBe(false);

    await expectCode(Runtime.open(runtimeOptions(store, { runtime_id: "rt-two" })), "store_runtime_mismatch");
    expect(existsSync(join(root, "LOCK"))).toBe(false);
    await expectCode(store.commit({}), "runtime_unavailable");

    const again = await Runtime.open(runtimeOptions(store, { runtime_id: "rt-one" }));
    try {
      expect(existsSync(join(root, "LOCK"))).toBe(true);
      expect((await again.getWorker("w")).worker_ref.worker_id).toBe("w");
      await expectCode(Runtime.open(runtimeOptions(store, { runtime_id: "rt-one" })), "store_locked");
    } finally {
      await again.close();
    }
  });
});
