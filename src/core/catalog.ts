import { assertCursor, assertObject, pageLimit, plainCopy } from "./checks.ts";
import { now } from "./clock.ts";
import { newDiagnostic, type RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { assertWorkerId, newWorkerId } from "./ids.ts";
import type { WorkerAddress } from "./identity.ts";
import type { StoreCommit } from "./ports/store.ts";
import { resolveProfile, type Profile } from "./profiles.ts";
import { isActive, activeOf } from "./run-state.ts";
import type { WorkerRef } from "./schema/common.ts";
import { CreateWorkerRequest, WorkerStatus, type WorkerDetail, type WorkerRecord, type WorkerSummary } from "./schema/worker.ts";
import { validate } from "./validate.ts";
import { detailOf, summaryOf } from "./views.ts";
import { newWorker, storedState, workerStatus } from "./worker-entry.ts";

/** The catalog: which workers exist (SPEC §3 catalog, §4 create request). */

const MAX_WORKER_PAGE = 500;

export interface ListWorkersQuery {
  status?: WorkerStatus;
  limit?: number;
  after?: string;
}

export function listWorkers(ctx: RuntimeContext, query: ListWorkersQuery): { workers: WorkerSummary[]; next_after: string | null } {
  ctx.assertReadable();
  assertObject(query, "query");
  if (query.status !== undefined) validate(WorkerStatus, query.status, "status");
  const limit = pageLimit(query.limit, MAX_WORKER_PAGE, 100);
  assertCursor(query.after);
  const ids = [...ctx.workers.keys()].sort();
  let index = 0;
  if (query.after !== undefined) {
    const after = query.after;
    index = ids.findIndex((id) => id > after);
    if (index < 0) index = ids.length;
  }
  const workers: WorkerSummary[] = [];
  let next_after: string | null = null;
  for (; index < ids.length; index++) {
    const entry = ctx.workers.get(ids[index]!)!;
    if (query.status !== undefined && workerStatus(entry) !== query.status) continue;
    if (workers.length === limit) {
      next_after = workers[workers.length - 1]!.worker_ref.worker_id;
      break;
    }
    workers.push(summaryOf(ctx, entry));
  }
  return { workers, next_after };
}

export function getWorker(ctx: RuntimeContext, address: WorkerAddress): WorkerDetail {
  ctx.assertReadable();
  return detailOf(ctx, ctx.entry(address));
}

export async function createWorker(ctx: RuntimeContext, input: CreateWorkerRequest): Promise<WorkerDetail> {
  ctx.assertOpen();
  const request = checkCreateRequest(input);
  const worker_id = request.worker_id ?? newWorkerId();
  if (ctx.workers.has(worker_id)) {
    throw new RuntimeError("worker_exists", `worker ${worker_id} already exists`, { worker_id });
  }
  if (ctx.workers.size >= ctx.limits.max_workers) {
    throw new RuntimeError("worker_limit_reached", `this runtime holds at most ${ctx.limits.max_workers} workers`);
  }
  const profile = resolveProfile(ctx.profiles, request.profile ?? { kind: "runtime_default" }, ctx.default_profile);
  checkCapabilities(profile, request);

  const record = recordOf(ctx.refOf(worker_id), request, profile);
  const event = ctx.events.workerCreated(record);
  const entry = newWorker(record, event.id);
  // Claimed before the first await so a concurrent create of the same id fails `worker_exists`.
  ctx.workers.set(worker_id, entry);
  const commit: StoreCommit = { createWorker: record, states: [storedState(entry)], events: [event] };
  if (record.config_bundle) {
    ctx.addDiagnostic(
      commit,
      newDiagnostic({
        level: "warning",
        code: "config_bundle_unresolved",
        message: `config bundle "${record.config_bundle.id}" is recorded but not resolved by this runtime`,
        worker_ref: record.worker_ref,
      }),
    );
  }
  try {
    await ctx.commit(commit);
  } catch (error) {
    ctx.workers.delete(worker_id);
    throw error;
  }
  return detailOf(ctx, entry);
}

/** Removes a worker that has no active run, with its transcript, runs and files. */
export async function deleteWorker(ctx: RuntimeContext, address: WorkerAddress): Promise<{ deleted: WorkerRef }> {
  ctx.assertOpen();
  const entry = ctx.entry(address);
  if (entry.kind === "loaded" && isActive(entry.run)) {
    throw new RuntimeError("worker_busy", `worker ${entry.id} has an active run; cancel or stop it first`, {
      active_run_id: activeOf(entry.run)?.run.run_id ?? null,
    });
  }
  const worker_ref = ctx.refOf(entry.id);
  ctx.workers.delete(entry.id);
  try {
    await ctx.commit({ deleteWorker: entry.id, events: [ctx.events.workerDeleted(worker_ref)] });
  } catch (error) {
    ctx.workers.set(entry.id, entry);
    throw error;
  }
  await ctx.releaseBackend(entry);
  return { deleted: worker_ref };
}

function checkCreateRequest(input: CreateWorkerRequest): CreateWorkerRequest {
  // A bad id gets its own code (§9), whatever else is wrong with the request.
  const requested_id = (input as { worker_id?: unknown } | null)?.worker_id;
  if (requested_id !== undefined) assertWorkerId(requested_id);
  // A copy: the record must not change when the caller later reuses or edits its request object.
  return plainCopy(validate(CreateWorkerRequest, input, "create request"), "create request");
}

function checkCapabilities(profile: Profile, request: CreateWorkerRequest): void {
  for (const capability of request.requested_capabilities ?? []) {
    if (!profile.info.capabilities.includes(capability.name)) {
      throw new RuntimeError(
        "unsupported_capability",
        `profile "${profile.info.name}" does not offer capability "${capability.name}"`,
        { capability: capability.name, profile: profile.info.name },
      );
    }
  }
}

function recordOf(worker_ref: WorkerRef, request: CreateWorkerRequest, profile: Profile): WorkerRecord {
  return {
    worker_ref,
    display_name: request.display_name ?? null,
    intent: request.intent ?? { kind: "assistant" },
    profile: { name: profile.info.name, backend: profile.info.backend },
    config_bundle: request.config_bundle ?? null,
    requested_capabilities: request.requested_capabilities ?? [],
    workspace_refs: request.workspace_refs ?? [],
    mount_refs: request.mount_refs ?? [],
    created_at: now(),
  };
}
