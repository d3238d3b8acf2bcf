import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, expectCode, fsHarness, runtimeOptions, scratchDir, until } from "./helpers.ts";

afterAll(cleanScratch);

// Issue 16: a create is one journal line; workers/<id>/ is made by the worker's first append, its
// first work/ use or the next checkpoint. These pin what must not change with that.

const ids = (n: number, prefix = "w") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Copies a live store's files, as a crash would leave them. */
function crashCopy(root: string): string {
  const copy = scratchDir("lazy-copy");
  rmSync(copy, { recursive: true });
  cpSync(root, copy, { recursive: true });
  return copy;
}

describe("FsStore: lazily made worker directories", () => {
  test("a durable create is durable once it resolves: a crash right after keeps every worker", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    try {
      await Promise.all(ids(20).map((worker_id) => runtime.createWorker({ worker_id })));
      const copy = crashCopy(harness.root());
      const reopened = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
      try {
        expect((await reopened.summary()).workers).toMatchObject({ total: 20, unavailable: 0 });
        for (const id of ids(20)) expect(await reopened.getWorker(id)).toMatchObject({ status: "idle", transcript_items: 0 });
        // Replay made what the crash had not: the worker is whole on disk.
        expect(existsSync(join(copy, "workers/w7/worker.json"))).toBe(true);
        expect(existsSync(join(copy, "workers/w7/state.json"))).toBe(true);
        await converse(reopened, "w7", "after the crash");
        expect((await reopened.transcript("w7", {})).items.map((e) => e.content)).toEqual(["after the crash", "after the crash"]);
      } finally {
        await reopened.close();
      }
    } finally {
      await runtime.close();
    }
  });

  test("a checkpoint makes the directories before it retires the journal that holds the creates", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 20 });
    const runtime = await harness.open();
    try {
      await Promise.all(ids(30).map((worker_id) => runtime.createWorker({ worker_id })));
      const wal = join(harness.root(), "wal");
      // Retired: only the journal file being written is left, and it holds nothing yet.
      await until(() => readdirSync(wal).length === 1 && readdirSync(join(harness.root(), "workers")).length === 30, "checkpoint made the directories");
      const copy = crashCopy(harness.root());
      rmSync(join(copy, "wal"), { recursive: true });
      const reopened = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
      try {
        expect((await reopened.summary()).workers).toMatchObject({ total: 30, unavailable: 0 });
      } finally {
        await reopened.close();
      }
    } finally {
      await runtime.close();
    }
  });

  test("workDir of a worker whose directory is not made yet makes it whole, and it survives a restart", async () => {
    const root = scratchDir("lazy-work");
    const store = new FsStore({ root, durability: "none", checkpoint_interval_ms: 60_000 });
    const runtime = await Runtime.open(runtimeOptions(store));
    await runtime.createWorker({ worker_id: "cmd" });
    expect(existsSync(join(root, "workers/cmd"))).toBe(false);
    const dir = store.workDir("cmd")!;
    expect(dir).toBe(join(root, "workers/cmd/work"));
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(join(root, "workers/cmd/worker.json"))).toBe(true);
    await converse(runtime, "cmd", "hello");
    await runtime.close();
    rmSync(join(root, "wal"), { recursive: true, force: true });
    const reopened = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      expect(await reopened.getWorker("cmd")).toMatchObject({ status: "idle", transcript_items: 2 });
      expect(existsSync(join(root, "workers/cmd/work"))).toBe(true);
    } finally {
      await reopened.close();
    }
  });

  test("a worker deleted before its directory was made leaves nothing behind, and stays deleted", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    await runtime.createWorker({ worker_id: "brief" });
    await runtime.createWorker({ worker_id: "stays" });
    await runtime.deleteWorker("brief");
    await runtime.close();
    expect(readdirSync(join(harness.root(), "workers"))).toEqual(["stays"]);
    const reopened = await harness.open();
    try {
      await expectCode(reopened.getWorker("brief"), "worker_not_found");
      expect((await reopened.summary()).workers).toMatchObject({ total: 1 });
    } finally {
      await reopened.close();
    }
  });

  test("closing makes every directory still to be made, however many", async () => {
    const harness = fsHarness({ durability: "none", checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    await Promise.all(ids(1100, "m").map((worker_id) => runtime.createWorker({ worker_id })));
    await runtime.close();
    expect(readdirSync(join(harness.root(), "workers")).length).toBe(1100);
    rmSync(join(harness.root(), "wal"), { recursive: true, force: true });
    const reopened = await harness.open();
    try {
      expect((await reopened.summary()).workers).toMatchObject({ total: 1100, unavailable: 0 });
    } finally {
      await reopened.close();
    }
  });
});
