import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsStore, Runtime, builtinBackends } from "../../src/index.ts";
import { createApp, type App } from "../../src/server/index.ts";
import { FaultyFs, type FaultRule } from "../support/faulty-fs.ts";
import { call, captureLogger, errorOf, until, type CallResult } from "./helpers.ts";

/**
 * Disk full and I/O errors through the HTTP API (issue 12): the fs store works through a wrapped
 * file system that fails chosen calls. Nothing answered 2xx may be missing after a reopen, nothing
 * answered 503 may be there after in-process recovery, and the store recovers without a restart.
 */

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "yoi-faults-"));
  scratch.push(dir);
  return dir;
}

const PROFILES = { stuck: { backend: "echo", delay_ms: 3_600_000 } };
const WORKERS = 32;

async function openRuntime(root: string, faulty?: FaultyFs) {
  const { logger, lines } = captureLogger();
  const runtime = await Runtime.open({
    // Checkpoints rarely: acknowledged appends stay waiting in memory, which reads must still see.
    store: new FsStore({ root, fs: faulty?.fs, logger, checkpoint_interval_ms: 60_000 }),
    backends: builtinBackends,
    profiles: PROFILES,
    runtime_id: "rt-faults",
  });
  return { runtime, app: createApp(runtime), lines };
}

interface Sent {
  worker_id: string;
  content: string;
  result: CallResult;
}

/** One input to each worker, all at once; `stuck` runs never end, so each worker takes exactly one. */
async function sendAll(app: App, ids: string[], label: string): Promise<Sent[]> {
  return Promise.all(
    ids.map(async (worker_id) => {
      const content = `${label}-${worker_id}`;
      const result = await call(app, "POST", `/v1/workers/${worker_id}/input`, { json: { kind: "user", content } });
      return { worker_id, content, result };
    }),
  );
}

async function createWorkers(app: App, prefix: string): Promise<string[]> {
  // One at a time: creation is not what is under test.
  const ids = Array.from({ length: WORKERS }, (_, i) => `${prefix}${i}`);
  for (const worker_id of ids) {
    const created = await call(app, "POST", "/v1/workers", { json: { worker_id, profile: { kind: "named", value: "stuck" } } });
    expect(created.status).toBe(201);
  }
  return ids;
}

/** Every 503 says why, whether anything may have been written, and when to retry. */
function expectUnavailable(sent: Sent, cause: "disk_full" | "io_error"): void {
  const error = errorOf(sent.result, 503, "runtime_unavailable");
  expect(error.details.cause).toBe(cause);
  if ("outcome" in error.details) expect(error.details.outcome).toBe("unknown");
  const retry = Number(sent.result.headers.get("retry-after"));
  expect(retry).toBeGreaterThanOrEqual(1);
  expect(retry).toBeLessThanOrEqual(5);
}

async function readiness(app: App) {
  const result = await call(app, "GET", "/readyz");
  return { status: result.status, body: result.body };
}

const runtimeStatus = async (app: App) => (await call(app, "GET", "/v1/runtime")).body.runtime.status;

async function contents(app: App, worker_id: string): Promise<string[]> {
  const page = await call(app, "GET", `/v1/workers/${worker_id}/transcript?limit=100`);
  expect(page.status).toBe(200);
  return page.body.transcript.items.filter((item: { role: string }) => item.role === "user").map((item: { content: string }) => item.content);
}

/** After the fault is lifted: ready again, running, and writes succeed without a restart. */
async function expectRecovered(app: App): Promise<void> {
  await until(async () => (await readiness(app)).status === 200, "/readyz 200 after the fault is lifted");
  expect(await readiness(app)).toEqual({ status: 200, body: { ready: true } });
  expect(await runtimeStatus(app)).toBe("running");
}

/**
 * 32 workers take an input before the fault (the calm wave), 32 others all at once while it is
 * armed (the storm), then the fault is lifted and the storm's refused inputs are sent again.
 */
async function scenario(faultRule: FaultRule, cause: "disk_full" | "io_error"): Promise<FaultyFs> {
  const root = scratchDir();
  const faulty = new FaultyFs();
  const { runtime, app, lines } = await openRuntime(root, faulty);
  const before = await createWorkers(app, "a");
  const storming = await createWorkers(app, "b");
  const calm = await sendAll(app, before, "calm");
  for (const sent of calm) expect(sent.result.status).toBe(202);

  // The storm: half at once; the other half once the first journal write since the fault was
  // armed has happened, so they land in later batches (an `after: 1` fault lets that one through).
  const walWrites = () => faulty.calls.filter((c) => c.op === "write" && c.path.includes("/wal/")).length;
  const armedAt = walWrites();
  const fault = faulty.fail(faultRule);
  const first = sendAll(app, storming.slice(0, WORKERS / 2), "storm");
  await until(() => walWrites() > armedAt, "the storm's first journal write");
  const second = sendAll(app, storming.slice(WORKERS / 2), "storm");
  const stormy = [...(await first), ...(await second)];
  const failed = stormy.filter((sent) => sent.result.status !== 202);
  expect(failed.length).toBeGreaterThan(0);
  if (faultRule.after) expect(failed.length).toBeLessThan(WORKERS);
  for (const sent of failed) expectUnavailable(sent, cause);
  expect(failed.some((sent) => sent.result.body.error.details.outcome === "unknown")).toBe(true);

  // While the store cannot write: not ready, degraded, alive; writes refused at once with the cause.
  expect(await readiness(app)).toEqual({ status: 503, body: { ready: false, cause } });
  expect(await runtimeStatus(app)).toBe("degraded");
  expect((await call(app, "GET", "/healthz")).status).toBe(200);
  const refused = await call(app, "POST", "/v1/workers", { json: { worker_id: "refused", profile: { kind: "named", value: "stuck" } } });
  expectUnavailable({ worker_id: "refused", content: "", result: refused }, cause);
  expect(refused.body.error.details.outcome).toBeUndefined();

  // Reads keep answering with acknowledged data, never store_corrupt.
  for (const worker_id of before.slice(0, 4)) expect(await contents(app, worker_id)).toEqual([`calm-${worker_id}`]);
  for (const sent of stormy) {
    const read = await call(app, "GET", `/v1/workers/${sent.worker_id}/transcript?tail=5`);
    if (read.status !== 200) throw new Error(`${sent.worker_id} ${sent.result.status}: ${read.text}`);
    // Served from memory while the disk refuses it: an acknowledged input is there, a refused one is not.
    expect((await contents(app, sent.worker_id)).includes(sent.content)).toBe(sent.result.status === 202);
    const runs = await call(app, "GET", `/v1/workers/${sent.worker_id}/runs`);
    expect(runs.status).toBe(200);
  }
  const events = await call(app, "GET", "/v1/events?limit=100");
  expect(events.status).toBe(200);

  fault.lift();
  await expectRecovered(app);
  // The storm's 503 workers take input now; the 202 ones are busy with their run.
  const retried = await sendAll(app, failed.map((sent) => sent.worker_id), "retry");
  for (const sent of retried) expect(sent.result.status).toBe(202);

  const acknowledged = [...calm, ...stormy.filter((sent) => sent.result.status === 202), ...retried];
  // No event id or sequence number a client saw acknowledged is handed out twice.
  const eventIds = acknowledged.map((sent) => sent.result.body.ack.event_id);
  expect(new Set(eventIds).size).toBe(eventIds.length);

  // In process, after recovery: every 2xx is there, no 503 one is.
  for (const sent of stormy) {
    const held = await contents(app, sent.worker_id);
    expect(held.includes(sent.content)).toBe(sent.result.status === 202);
  }
  expect(lines.filter((line) => line.level === "error" && line.message.startsWith("the store cannot write")).length).toBeGreaterThanOrEqual(1);
  expect(lines.some((line) => line.level === "info" && line.message.startsWith("the store writes again"))).toBe(true);
  await runtime.close();

  // After a clean reopen: the same.
  const reopened = await openRuntime(root);
  for (const sent of acknowledged) expect(await contents(reopened.app, sent.worker_id)).toContain(sent.content);
  for (const sent of failed) expect(await contents(reopened.app, sent.worker_id)).not.toContain(sent.content);
  await reopened.runtime.close();
  return faulty;
}

describe("disk full and I/O errors (HTTP)", () => {
  test("ENOSPC mid-batch, 32 concurrent inputs: 2xx only if durable, 503 with cause/outcome/Retry-After, recovery without restart", async () => {
    await scenario({ op: "write", path: "/wal/", code: "ENOSPC", partial: true, after: 1 }, "disk_full");
  }, 60_000);

  test("EIO on the journal's fsync: 503 io_error; the failed descriptor is never fsynced again", async () => {
    const faulty = await scenario({ op: "fsync", path: "/wal/", code: "EIO" }, "io_error");
    expect(faulty.failures("fsync", "/wal/")).toBeGreaterThan(0);
    expect(faulty.refsynced).toEqual([]);
  }, 60_000);

  test("a full disk (every write and sync fails, EDQUOT): reads still serve what waits in memory; recovery once it has room", async () => {
    const faulty = await scenario({ op: ["write", "fsync"], code: "EDQUOT" }, "disk_full");
    expect(faulty.failures("write")).toBeGreaterThan(0);
    expect(faulty.refsynced).toEqual([]);
  }, 60_000);
});

describe("disk full and Idempotency-Key", () => {
  test("an input answered 503 (outcome unknown) is retried with its key after recovery: applied once", async () => {
    const root = scratchDir();
    const faulty = new FaultyFs();
    const { runtime, app } = await openRuntime(root, faulty);
    const created = await call(app, "POST", "/v1/workers", { json: { worker_id: "k", profile: { kind: "named", value: "stuck" } } });
    expect(created.status).toBe(201);
    const send = () =>
      call(app, "POST", "/v1/workers/k/input", { json: { kind: "user", content: "once" }, headers: { "idempotency-key": "key-1" } });
    const fault = faulty.fail({ op: "write", path: "/wal/", code: "ENOSPC", partial: true });
    const failed = await send();
    expect(errorOf(failed, 503, "runtime_unavailable").details).toEqual({ cause: "disk_full", outcome: "unknown" });
    fault.lift();
    await expectRecovered(app);
    const first = await send();
    expect(first.status).toBe(202);
    const replayed = await send();
    expect(replayed.status).toBe(202);
    expect(replayed.body).toEqual(first.body);
    expect(await contents(app, "k")).toEqual(["once"]);
    await runtime.close();
    const reopened = await openRuntime(root);
    expect(await contents(reopened.app, "k")).toEqual(["once"]);
    await reopened.runtime.close();
  }, 60_000);
});
