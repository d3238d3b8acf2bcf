import { afterEach, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import type { Runtime } from "../../src/index.ts";
import { finish, lastAssistant, openRuntime, startRun } from "./helpers.ts";

/**
 * The command backend makes a worker's work directory once, not before every run (issue 16). A
 * directory removed between runs (by hand, or with a deleted worker whose id came back) must not
 * fail the next run: it is made again.
 */
let runtime: Runtime | null = null;

afterEach(async () => {
  await runtime?.close();
  runtime = null;
});

test("a worker's work directory removed between runs is made again for the next run", async () => {
  runtime = await openRuntime({ cmd: { backend: "command", command: ["/bin/pwd"] } });
  const first = await startRun(runtime);
  expect((await finish(runtime, first.worker_ref, first.run_id)).status).toBe("completed");
  const dir = (await lastAssistant(runtime, first.worker_ref))!.content.trim();
  expect(existsSync(dir)).toBe(true);
  rmSync(dir, { recursive: true, force: true });

  const again = await runtime.sendInput(first.worker_ref, { kind: "user", content: "again" });
  const run = await finish(runtime, first.worker_ref, again.run_id!);
  expect(run.error ?? null).toBeNull();
  expect(run.status).toBe("completed");
  expect((await lastAssistant(runtime, first.worker_ref))!.content.trim()).toBe(dir);
  expect(existsSync(dir)).toBe(true);
});

test("a program that does not exist still fails spawn_failed (ENOENT) on a later run, with its work directory made before", async () => {
  runtime = await openRuntime({ cmd: { backend: "command", command: ["/nonexistent/program"] } });
  const first = await startRun(runtime);
  await finish(runtime, first.worker_ref, first.run_id);
  for (let i = 0; i < 2; i++) {
    const ack = await runtime.sendInput(first.worker_ref, { kind: "user", content: `again ${i}` });
    const run = await finish(runtime, first.worker_ref, ack.run_id!);
    expect(run).toMatchObject({ status: "failed", error: { code: "spawn_failed", details: { errno: "ENOENT", program: "/nonexistent/program" } } });
  }
});
