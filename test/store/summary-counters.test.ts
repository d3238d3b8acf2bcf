import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runtime, WorkerSummary } from "../../src/index.ts";
import { cleanScratch, converse, expectCode, fsHarness, until } from "./helpers.ts";

afterAll(cleanScratch);

/** Every worker, through the public list (paged). */
async function allWorkers(runtime: Runtime): Promise<WorkerSummary[]> {
  const workers: WorkerSummary[] = [];
  let after: string | undefined;
  do {
    const page = await runtime.listWorkers({ limit: 2, after });
    workers.push(...page.workers);
    after = page.next_after ?? undefined;
  } while (after !== undefined);
  return workers;
}

/**
 * The summary's counts are kept as workers change (issue 16), not counted per call: after every
 * kind of change they must equal a count over the worker list. Returns them for the caller's
 * own expectations.
 */
async function countsAgree(runtime: Runtime) {
  const workers = await allWorkers(runtime);
  const scan = { total: workers.length, idle: 0, running: 0, stopped: 0, unavailable: 0 };
  for (const worker of workers) scan[worker.status]++;
  const summary = await runtime.summary();
  expect(summary.workers).toEqual(scan);
  expect(summary.active_runs).toBe(workers.filter((worker) => worker.active_run_id !== null).length);
  return { ...summary.workers, active_runs: summary.active_runs };
}

const hold = async (runtime: Runtime, worker_id: string) => {
  const ack = await runtime.sendInput(worker_id, { kind: "user", content: "hold on" });
  return ack.run_id!;
};

describe("summary counters agree with a scan of the workers after every kind of change (fs store)", () => {
  test("create, runs, stop, cancel, restore, delete, reopen, crash, unavailable at open and at a read", async () => {
    const harness = fsHarness();
    let runtime = await harness.open();
    try {
      expect(await countsAgree(runtime)).toEqual({ total: 0, idle: 0, running: 0, stopped: 0, unavailable: 0, active_runs: 0 });
      for (const id of ["a", "b", "c", "d", "e"]) await runtime.createWorker({ worker_id: id });
      await runtime.createWorker({ worker_id: "h", profile: { kind: "named", value: "hold" } });
      await runtime.createWorker({ worker_id: "k", profile: { kind: "named", value: "hold" } });
      expect(await countsAgree(runtime)).toMatchObject({ total: 7, idle: 7 });
      // A create that fails changes nothing.
      await expectCode(runtime.createWorker({ worker_id: "a" }), "worker_exists");
      await countsAgree(runtime);

      // Runs: an echo run that ends, held runs that stay active.
      await converse(runtime, "b", "hello");
      await converse(runtime, "e", "a line the transcript keeps");
      expect(await countsAgree(runtime)).toMatchObject({ idle: 7, running: 0, active_runs: 0 });
      const held = await hold(runtime, "h");
      await hold(runtime, "k");
      expect(await countsAgree(runtime)).toMatchObject({ idle: 5, running: 2, active_runs: 2 });

      // Cancel ends the run: idle again.
      await runtime.cancelRun("k");
      expect(await countsAgree(runtime)).toMatchObject({ idle: 6, running: 1, active_runs: 1 });

      // Stop an idle worker and a running one (its run is cancelled), restore one.
      await runtime.stopWorker("c");
      await runtime.stopWorker("h");
      expect((await runtime.getRun("h", held)).status).toBe("cancelled");
      expect(await countsAgree(runtime)).toMatchObject({ idle: 5, running: 0, stopped: 2, active_runs: 0 });
      await runtime.restoreWorker("c");
      expect(await countsAgree(runtime)).toMatchObject({ idle: 6, stopped: 1 });

      // Delete.
      await runtime.deleteWorker("d");
      await expectCode(runtime.deleteWorker("d"), "worker_not_found");
      expect(await countsAgree(runtime)).toMatchObject({ total: 6, idle: 5, stopped: 1 });

      // Reopen: the counts are rebuilt from the store.
      await runtime.close();
      runtime = await harness.open();
      expect(await countsAgree(runtime)).toEqual({ total: 6, idle: 5, running: 0, stopped: 1, unavailable: 0, active_runs: 0 });

      // A crash with a run active: the reopened runtime interrupts it and the worker is idle.
      await hold(runtime, "k");
      expect(await countsAgree(runtime)).toMatchObject({ running: 1, active_runs: 1 });
      runtime = await harness.crash(runtime);
      expect(await countsAgree(runtime)).toEqual({ total: 6, idle: 5, running: 0, stopped: 1, unavailable: 0, active_runs: 0 });
      await runtime.close();

      // Damage found at open: the worker is unavailable.
      const state = join(harness.root(), "workers", "a", "state.json");
      writeFileSync(state, readFileSync(state, "utf8").slice(0, 5));
      runtime = await harness.open();
      expect(await countsAgree(runtime)).toEqual({ total: 6, idle: 4, running: 0, stopped: 1, unavailable: 1, active_runs: 0 });

      // Damage found by a read: unavailable from then on.
      await runtime.close();
      const transcript = join(harness.root(), "workers", "e", "transcript.jsonl");
      const text = readFileSync(transcript, "utf8");
      const middle = text.indexOf("\n") + 1;
      writeFileSync(transcript, text.slice(0, middle) + "x".repeat(text.indexOf("\n", middle) - middle) + text.slice(text.indexOf("\n", middle)));
      runtime = await harness.open();
      await countsAgree(runtime);
      await expectCode(runtime.transcript("e", { start: 1, limit: 1 }), "store_corrupt");
      await until(async () => (await runtime.getWorker("e")).status === "unavailable", "e unavailable");
      expect(await countsAgree(runtime)).toEqual({ total: 6, idle: 3, running: 0, stopped: 1, unavailable: 2, active_runs: 0 });

      // Deleting an unavailable worker.
      await runtime.deleteWorker("a");
      expect(await countsAgree(runtime)).toEqual({ total: 5, idle: 3, running: 0, stopped: 1, unavailable: 1, active_runs: 0 });
    } finally {
      await runtime.close().catch(() => undefined);
      await harness.cleanup();
    }
  });
});
