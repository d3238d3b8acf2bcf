import { reasonOf } from "./checks.ts";
import { now } from "./clock.ts";
import type { RuntimeContext } from "./context.ts";
import type { IdempotencyClaim } from "./idempotency.ts";
import type { WorkerAddress } from "./identity.ts";
import { activeOf } from "./run-state.ts";
import type { Ack } from "./schema/interaction.ts";
import { ackOf } from "./views.ts";
import { abortRun, storedState, type LoadedWorker } from "./worker-entry.ts";

/** Lifecycle: stop, cancel and restore (SPEC §5). */

/** Aborts the active run as `cancelled` and sets the worker `stopped`. Stopping a stopped worker is a no-op. */
export async function stopWorker(ctx: RuntimeContext, address: WorkerAddress, reason?: string, claim: IdempotencyClaim | null = null): Promise<Ack> {
  ctx.assertOpen();
  const why = reasonOf(reason) ?? null;
  const entry = ctx.loaded(address);
  if (entry.run.status === "stopping") return entry.run.stopped;
  if (entry.run.status === "stopped") return ackOf(ctx, entry, { run_id: null, event_id: null });
  let settle!: { resolve: (ack: Ack) => void; reject: (error: unknown) => void };
  const stopped = new Promise<Ack>((resolve, reject) => (settle = { resolve, reject }));
  ctx.workers.move(entry, { type: "stop", stopped });
  recordStop(ctx, entry, why, claim).then(settle.resolve, settle.reject);
  return stopped;
}

/** Waits for the active run to end as `cancelled`, then records the stop. */
async function recordStop(ctx: RuntimeContext, entry: LoadedWorker, why: string | null, claim: IdempotencyClaim | null): Promise<Ack> {
  let cancelled: string | null = null;
  const active = activeOf(entry.run);
  if (active) {
    abortRun(active, "cancelled", why ?? "the worker was stopped");
    const run = await active.done;
    if (run.status === "cancelled") cancelled = run.run_id;
  }
  const event = ctx.events.workerStopped(ctx.refOf(entry.id), why, cancelled);
  ctx.workers.move(entry, { type: "stop_recorded" });
  entry.counters = { ...entry.counters, stopped_reason: why, last_event_id: event.id, updated_at: now() };
  const commit = { states: [storedState(entry)], events: [event] };
  const ack = ackOf(ctx, entry, { run_id: null, event_id: event.id, cancelled_run_id: cancelled });
  claim?.attach(commit, ack);
  await ctx.commit(commit);
  await ctx.releaseBackend(entry);
  return ack;
}

/** Aborts the active run as `cancelled` once its backend work has stopped; no active run is a success. */
export async function cancelRun(ctx: RuntimeContext, address: WorkerAddress, reason?: string): Promise<Ack> {
  ctx.assertOpen();
  const why = reasonOf(reason);
  const entry = ctx.loaded(address);
  const active = activeOf(entry.run);
  if (!active) return ackOf(ctx, entry, { run_id: null, event_id: null, cancelled_run_id: null });
  abortRun(active, "cancelled", why ?? "cancelled by request");
  const run = await active.done;
  return ackOf(ctx, entry, {
    run_id: run.run_id,
    event_id: entry.counters.last_event_id,
    cancelled_run_id: run.status === "cancelled" ? run.run_id : null,
  });
}

/** Moves a `stopped` worker back to `idle`; any other status is left as it is. */
export async function restoreWorker(ctx: RuntimeContext, address: WorkerAddress, claim: IdempotencyClaim | null = null): Promise<Ack> {
  ctx.assertOpen();
  const entry = ctx.loaded(address);
  if (entry.run.status === "stopping") {
    await entry.run.stopped.catch(() => undefined);
    // The runtime may have begun closing meanwhile; nothing is recorded after runtime_stopped.
    ctx.assertOpen();
  }
  if (entry.run.status !== "stopped") return ackOf(ctx, entry, { run_id: null, event_id: null });
  const event = ctx.events.workerRestored(ctx.refOf(entry.id));
  ctx.workers.move(entry, { type: "restore" });
  entry.counters = { ...entry.counters, stopped_reason: null, last_event_id: event.id, updated_at: now() };
  const commit = { states: [storedState(entry)], events: [event] };
  const ack = ackOf(ctx, entry, { run_id: null, event_id: event.id });
  claim?.attach(commit, ack);
  await ctx.commit(commit);
  return ack;
}
