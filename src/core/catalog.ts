import { assertCursor, assertObject, pageLimit, plainCopy } from "./checks.ts";
import { now } from "./clock.ts";
import { newDiagnostic, type RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { assertWorkerId, newWorkerId } from "./ids.ts";
import type { WorkerAddress } from "./identity.ts";
import type { StoreCommit } from "./ports/store.ts";
import type { IdempotencyClaim } from "./idempotency.ts";
import { resolveProfile, type Profile } from "./profiles.ts";
import { isActive, activeOf } from "./run-state.ts";
import type { WorkerRef } from "./schema/common.ts";
import { CreateWorkerRequest, WorkerStatus, type WorkerDetail, type WorkerRecord, type WorkerSummary } from "./schema/worker.ts";
import { validate } from "./validate.ts";
import { detailOf, summaryOf } from "./views.ts";
import { newWorker, storedState, workerStatus, type WorkerEntry } from "./worker-entry.ts";
import type { RemovedWorkspace } from "./schema/workspace.ts";

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

/** A worker's detail; its workspaces' HEAD and changes come from the provider's short cache. */
export async function getWorker(ctx: RuntimeContext, address: WorkerAddress): Promise<WorkerDetail> {
  ctx.assertReadable();
  const entry = ctx.entry(address);
  const detail = detailOf(ctx, entry);
  const workspaces = entry.record?.workspaces;
  if (workspaces && workspaces.length > 0 && ctx.workspaces) detail.workspaces = await ctx.workspaces.status(workspaces);
  return detail;
}

/** `claim`: the Idempotency-Key to keep with the create, answering with its detail. */
export async function createWorker(ctx: RuntimeContext, input: CreateWorkerRequest, claim: IdempotencyClaim | null = null): Promise<WorkerDetail> {
  ctx.assertOpen();
  const request = checkCreateRequest(input);
  const worker_id = request.worker_id ?? newWorkerId();
  if (ctx.workers.has(worker_id) || ctx.creating.has(worker_id)) {
    throw new RuntimeError("worker_exists", `worker ${worker_id} already exists`, { worker_id });
  }
  if (ctx.workers.size + ctx.creating.size >= ctx.limits.max_workers) {
    throw new RuntimeError("worker_limit_reached", `this runtime holds at most ${ctx.limits.max_workers} workers`);
  }
  const profile = resolveProfile(ctx.profiles, request.profile ?? { kind: "runtime_default" }, ctx.default_profile);
  checkCapabilities(profile, request);

  const record = recordOf(ctx.refOf(worker_id), request, profile);
  const requests = request.workspace_refs ?? [];
  if (requests.length > 0) {
    if (!ctx.workspaces) {
      const name = requests[0]!.name;
      throw new RuntimeError("unknown_workspace", `no workspace "${name}" is configured (configured: none)`, { name });
    }
    // Claimed before the first await so a concurrent create of the same id fails `worker_exists`.
    ctx.creating.add(worker_id);
    try {
      record.workspaces = await ctx.workspaces.create(worker_id, requests, ctx.store.workDir(worker_id));
    } finally {
      ctx.creating.delete(worker_id);
    }
  }
  try {
    return await storeNewWorker(ctx, record, claim);
  } catch (error) {
    if (record.workspaces) await ctx.workspaces!.discard(worker_id, record.workspaces);
    throw error;
  }
}

/** Stores a new worker and publishes `worker_created`; its worktrees (built already) then move into place. */
async function storeNewWorker(ctx: RuntimeContext, record: WorkerRecord, claim: IdempotencyClaim | null): Promise<WorkerDetail> {
  const worker_id = record.worker_ref.worker_id;
  // Checked again: the runtime may have started closing while the worktrees were made.
  ctx.assertOpen();
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
  // The answer is kept with the create itself; a create with worktrees answers only once they are
  // in place, so its key is committed after them (see idempotent()).
  const answer = claim && !record.workspaces ? claim.attach(commit, detailOf(ctx, entry)) : null;
  try {
    await ctx.commit(commit);
  } catch (error) {
    ctx.workers.delete(worker_id);
    throw error;
  }
  if (answer) return answer;
  if (record.workspaces) {
    try {
      await ctx.workspaces!.settle(worker_id, record.workspaces);
    } catch (error) {
      // The worker is stored but its worktrees could not be moved into place: undo the create.
      ctx.log.error("could not move a new worker's worktrees into place; the worker is removed", { worker_id, error: String(error) });
      ctx.workers.delete(worker_id);
      await ctx.commit({ deleteWorker: worker_id, events: [ctx.events.workerDeleted(record.worker_ref)] });
      throw new RuntimeError("internal", `the worktrees of worker ${worker_id} could not be moved into place`);
    }
    return getWorker(ctx, worker_id);
  }
  return detailOf(ctx, entry);
}

/**
 * Removes a worker that has no active run, with its transcript, runs and files, and its
 * worktrees: one with uncommitted changes is refused `workspace_dirty` unless `force`.
 */
export async function deleteWorker(
  ctx: RuntimeContext,
  address: WorkerAddress,
  options: { force?: boolean } = {},
): Promise<{ deleted: WorkerRef; workspaces?: RemovedWorkspace[] }> {
  ctx.assertOpen();
  let entry = ctx.entry(address);
  assertIdle(entry);
  const workspaces = entry.record?.workspaces ?? [];
  const provider = ctx.workspaces;
  if (workspaces.length === 0 || !provider) return removeWorker(ctx, entry, {});

  const changes = await Promise.all(workspaces.map((ws) => provider.changes(ws)));
  const counts = workspaces.map((ws, i) => ({ name: ws.name, ...(changes[i] ?? { modified: 0, untracked: 0 }) }));
  const dirty = counts.filter((c) => c.modified + c.untracked > 0);
  if (dirty.length > 0 && options.force !== true) {
    const summary = dirty.map((c) => `${c.name}: ${c.modified} modified, ${c.untracked} untracked`).join("; ");
    throw new RuntimeError("workspace_dirty", `worker ${entry.id} has uncommitted changes (${summary}); commit them or delete with force`, {
      workspaces: dirty,
    });
  }
  // The worker may have changed (a run started, another delete) while its worktrees were read.
  entry = ctx.entry(address);
  assertIdle(entry);
  ctx.workers.delete(entry.id);
  let removed: RemovedWorkspace[];
  try {
    removed = (await provider.remove(workspaces)).map((r, i) => ({ ...r, discarded: { modified: counts[i]!.modified, untracked: counts[i]!.untracked } }));
  } catch (error) {
    ctx.workers.set(entry.id, entry);
    throw error;
  }
  const commit: StoreCommit = {};
  const worker_ref = ctx.refOf(entry.id);
  const kept = removed.filter((r) => r.branch_kept);
  if (kept.length > 0) {
    const message = `worker ${entry.id} was deleted; its branches were kept: ${kept.map((r) => r.branch).join(", ")}`;
    ctx.addDiagnostic(commit, newDiagnostic({ level: "info", code: "workspace_branch_kept", message, worker_ref, details: { workspaces: kept } }));
  }
  const discarded = removed.filter((r) => r.discarded.modified + r.discarded.untracked > 0);
  if (discarded.length > 0) {
    const message = `worker ${entry.id} was deleted with force; uncommitted changes were discarded in ${discarded.map((r) => r.name).join(", ")}`;
    ctx.addDiagnostic(commit, newDiagnostic({ level: "warning", code: "workspace_changes_discarded", message, worker_ref, details: { workspaces: discarded } }));
  }
  const result = await removeWorker(ctx, entry, commit, true);
  return { ...result, workspaces: removed };
}

function assertIdle(entry: WorkerEntry): void {
  if (entry.kind === "loaded" && isActive(entry.run)) {
    throw new RuntimeError("worker_busy", `worker ${entry.id} has an active run; cancel or stop it first`, {
      active_run_id: activeOf(entry.run)?.run.run_id ?? null,
    });
  }
}

/** Stores the removal (with `commit`'s diagnostics); `detached`: the entry is already out of `workers`. */
async function removeWorker(ctx: RuntimeContext, entry: WorkerEntry, commit: StoreCommit, detached = false): Promise<{ deleted: WorkerRef }> {
  const worker_ref = ctx.refOf(entry.id);
  if (!detached) ctx.workers.delete(entry.id);
  try {
    await ctx.commit({ ...commit, deleteWorker: entry.id, events: [...(commit.events ?? []), ctx.events.workerDeleted(worker_ref)] });
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
    worker_session_id: crypto.randomUUID(),
  };
}
