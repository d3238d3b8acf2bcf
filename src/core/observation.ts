import { assertCursor, assertEventId, assertObject, pageLimit } from "./checks.ts";
import type { RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { assertWorkerId, isValidId } from "./ids.ts";
import type { WorkerAddress } from "./identity.ts";
import type { EventBatch } from "./schema/event.ts";
import type { Run } from "./schema/run.ts";
import type { TranscriptPage } from "./schema/transcript.ts";
import { EventSubscription, type SubscribeOptions } from "./subscription.ts";
import { runInMemory } from "./worker-entry.ts";

/** Observation: runs, transcripts and events, all bounded reads (SPEC §6). */

const MAX_RUN_PAGE = 500;

export interface ListRunsQuery {
  limit?: number;
  after?: string;
}

export interface TranscriptQuery {
  start?: number;
  limit?: number;
  tail?: number;
}

export async function getRun(ctx: RuntimeContext, address: WorkerAddress, run_id: string): Promise<Run> {
  ctx.assertReadable();
  const entry = ctx.loaded(address);
  // Only a well-formed id is looked up or echoed back: anything else may not even convert to a string.
  if (!isValidId(run_id)) throw new RuntimeError("run_not_found", `worker ${entry.id} has no run with that id`);
  const current = runInMemory(entry, run_id);
  if (current) return current.run;
  const run = await ctx.readStored(entry, () => ctx.store.getRun(entry.id, run_id));
  if (!run) throw new RuntimeError("run_not_found", `worker ${entry.id} has no run ${run_id}`);
  return run;
}

export async function listRuns(
  ctx: RuntimeContext,
  address: WorkerAddress,
  query: ListRunsQuery,
): Promise<{ runs: Run[]; next_after: string | null }> {
  ctx.assertReadable();
  assertObject(query, "query");
  const entry = ctx.loaded(address);
  const limit = pageLimit(query.limit, MAX_RUN_PAGE, 100);
  assertCursor(query.after);
  const all = await ctx.readStored(entry, () => ctx.store.listRuns(entry.id));
  const after = query.after;
  const start = after === undefined ? 0 : all.findIndex((run) => run.run_id > after);
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const runs = page.map((run) => runInMemory(entry, run.run_id)?.run ?? run);
  const last = runs[runs.length - 1];
  const next_after = last && start + limit < all.length ? last.run_id : null;
  return { runs, next_after };
}

export async function transcript(ctx: RuntimeContext, address: WorkerAddress, query: TranscriptQuery): Promise<TranscriptPage> {
  ctx.assertReadable();
  assertObject(query, "query");
  const entry = ctx.loaded(address);
  const max = ctx.limits.max_transcript_projection_items;
  const total = entry.counters.transcript_items;
  for (const key of ["start", "limit", "tail"] as const) {
    const value = query[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RuntimeError("invalid_request", `${key} must be a non-negative integer`);
    }
  }
  // An empty page would hand back next_start = start, and a pager following it would never end.
  if (query.limit === 0) throw new RuntimeError("invalid_request", "limit must be a positive integer");
  if (query.tail !== undefined && query.start !== undefined) {
    throw new RuntimeError("invalid_request", "use either start or tail, not both");
  }
  const requested = query.tail ?? query.limit ?? Math.min(100, max);
  if (requested > max) {
    throw new RuntimeError("limit_too_large", `at most ${max} items per read (limits.max_transcript_projection_items)`, { max });
  }
  const start = query.tail !== undefined ? Math.max(0, total - query.tail) : (query.start ?? 0);
  const limit = query.tail !== undefined ? query.tail : requested;
  const count = Math.max(0, Math.min(limit, total - start));
  const items = count === 0 ? [] : await ctx.readStored(entry, () => ctx.store.readTranscript(entry.id, start, count));
  const end = start + items.length;
  return { worker_ref: ctx.refOf(entry.id), start, limit, total_items: total, items, next_start: end < total ? end : null };
}

/** Stored events with id > after (all workers, or one), at most `limit`. */
export async function readEvents(
  ctx: RuntimeContext,
  cursor: { after?: number; worker_id?: string },
  limit: number | undefined,
): Promise<EventBatch> {
  ctx.assertReadable();
  assertObject(cursor, "cursor");
  const after = cursor.after ?? 0;
  assertEventId(after);
  if (cursor.worker_id !== undefined) assertWorkerId(cursor.worker_id);
  const max = ctx.limits.max_event_batch_items;
  const size = pageLimit(limit, max, Math.min(100, max));
  ctx.checkCursor(after);
  const events = await ctx.store.readEvents({ after, limit: size, worker_id: cursor.worker_id });
  const last = events[events.length - 1];
  const lastEventId = ctx.lastEventId;
  const next_after = last ? last.id : Math.max(after, cursor.worker_id === undefined ? 0 : Math.min(after, lastEventId));
  return { runtime_id: ctx.runtime_id, events, next_after, has_more: events.length === size && next_after < lastEventId };
}

/**
 * Live, resumable events: replays stored events after `options.after`, then follows live ones,
 * including ephemeral `run_output_delta` events. Fails `cursor_expired` at once for a pruned cursor.
 */
export function subscribe(ctx: RuntimeContext, options: SubscribeOptions): EventSubscription {
  ctx.assertOpen();
  assertObject(options, "options");
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new RuntimeError("invalid_request", "signal must be an AbortSignal");
  }
  const after = options.after ?? ctx.lastEventId;
  assertEventId(after);
  if (options.worker_id !== undefined) assertWorkerId(options.worker_id);
  if (options.queue_limit !== undefined && (!Number.isSafeInteger(options.queue_limit) || options.queue_limit < 1)) {
    throw new RuntimeError("invalid_request", "queue_limit must be a positive integer");
  }
  ctx.checkCursor(after);
  const subscription = new EventSubscription(
    {
      readEvents: (from, limit, worker_id) => ctx.store.readEvents({ after: from, limit, worker_id }),
      checkCursor: (from) => ctx.checkCursor(from),
    },
    (s) => ctx.subscribers.delete(s),
    after,
    options,
  );
  ctx.subscribers.add(subscription);
  subscription.start();
  return subscription;
}
