import { assertObject } from "./checks.ts";
import { now } from "./clock.ts";
import { newDiagnostic, RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { isValidId, newRuntimeId } from "./ids.ts";
import type { BackendDefinition, BackendEnvironment } from "./ports/backend.ts";
import { SILENT_LOGGER, type RuntimeLogger } from "./ports/logger.ts";
import type { RuntimeStore, StoreCommit, StoreSnapshot, StoredWorker } from "./ports/store.ts";
import type { WorkspaceProvider } from "./ports/workspaces.ts";
import { BUILTIN_PROFILE, buildProfiles, type ProfileConfig } from "./profiles.ts";
import { activeOf, restoredState } from "./run-state.ts";
import { DisplayName } from "./schema/common.ts";
import type { Diagnostic } from "./schema/diagnostic.ts";
import type { Run } from "./schema/run.ts";
import { DEFAULT_LIMITS, Limits, type RuntimeSummary } from "./schema/runtime.ts";
import { validate } from "./validate.ts";
import { abortRun, storedState, type WorkerEntry } from "./worker-entry.ts";

/** Management: opening the runtime over its store, its summary, diagnostics and shutdown (SPEC §3). */

export interface RuntimeOptions {
  store: RuntimeStore;
  /** Backend kinds profiles may use; must include `echo` for the builtin profile. */
  backends: readonly BackendDefinition<any>[];
  runtime_id?: string;
  display_name?: string | null;
  profiles?: Record<string, ProfileConfig>;
  default_profile?: string;
  limits?: Partial<Limits>;
  version?: string;
  logger?: RuntimeLogger;
  /** The environment backends are built with (command children inherit from it). Default: the process environment. */
  env?: BackendEnvironment;
  /** Makes workers' `workspace_refs` into git worktrees (issue 11); without it, a create naming one fails `unknown_workspace`. */
  workspaces?: WorkspaceProvider;
  /** Epoch milliseconds: the clock idempotency keys expire by (tests move it). Default Date.now. */
  now?: () => number;
}

/** Opens the store, restores every worker and marks runs that were running as `interrupted`. */
export async function openRuntime(options: RuntimeOptions): Promise<RuntimeContext> {
  assertObject(options, "options");
  if (!Array.isArray(options.backends)) {
    throw new RuntimeError("invalid_request", "options.backends must list the backend definitions (e.g. builtinBackends)");
  }
  if (typeof options.store?.open !== "function") {
    throw new RuntimeError("invalid_request", "options.store must be a RuntimeStore (e.g. new MemoryStore())");
  }
  const limits = validate(Limits, { ...DEFAULT_LIMITS, ...options.limits }, "limits");
  if (options.runtime_id !== undefined && !isValidId(options.runtime_id)) {
    throw new RuntimeError("invalid_request", "runtime_id must be 1-128 characters matching ^[A-Za-z0-9][A-Za-z0-9._-]*$");
  }
  if (options.display_name != null) validate(DisplayName, options.display_name, "display_name");
  if (options.now !== undefined && typeof options.now !== "function") throw new RuntimeError("invalid_request", "options.now must be a function");
  const clock = options.now ?? Date.now;
  const default_profile = options.default_profile ?? BUILTIN_PROFILE;
  const profiles = buildProfiles(options.profiles ?? {}, options.backends, default_profile, options.env);
  let snapshot = await options.store.open({
    runtime_id: options.runtime_id,
    display_name: options.display_name ?? null,
    newRuntimeId,
    max_retained_events: limits.max_retained_events,
    idempotency_retention_s: limits.idempotency_retention_s,
    now: clock,
  });
  const existing = await options.store.listDiagnostics();
  const ctx = new RuntimeContext({
    runtime_id: snapshot.runtime.id,
    display_name: snapshot.runtime.display_name,
    store: options.store,
    log: options.logger ?? SILENT_LOGGER,
    limits: Object.freeze(limits),
    profiles,
    default_profile,
    version: options.version ?? "0.0.0",
    last_event_id: snapshot.last_event_id,
    diagnostic_count: existing.length,
    workspaces: options.workspaces ?? null,
    now: clock,
  });
  ctx.idempotency.load(snapshot.idempotency ?? []);
  // Only workers with worktrees wait on a check: a promise for each of 10,000s of workers costs start-up time.
  const workers = snapshot.workers.slice();
  const checks: Promise<void>[] = [];
  workers.forEach((stored, at) => {
    if (hasWorkspacesToCheck(stored)) checks.push(withWorkspaces(ctx, stored).then((checked) => void (workers[at] = checked)));
  });
  await Promise.all(checks);
  snapshot = { ...snapshot, workers };
  for (const stored of workers) ctx.workers.set(stored.worker_id, entryOf(stored));
  await ctx.workspaces?.sweep(new Set(ctx.workers.keys()));
  await recover(ctx, snapshot);
  return ctx;
}

/**
 * A stored worker whose worktrees are in place, or unavailable with the reason: a worktree that
 * vanished while the runtime was down is never silently recreated.
 */
async function withWorkspaces(ctx: RuntimeContext, stored: StoredWorker): Promise<StoredWorker> {
  const workspaces = stored.record?.workspaces ?? [];
  const reason = ctx.workspaces
    ? await ctx.workspaces.recover(stored.worker_id, workspaces)
    : `this worker has workspaces (${workspaces.map((ws) => ws.name).join(", ")}) and none are configured`;
  return reason === null ? stored : { worker_id: stored.worker_id, record: stored.record, state: stored.state, unavailable: reason };
}

function hasWorkspacesToCheck(stored: StoredWorker): boolean {
  return stored.unavailable === undefined && (stored.record?.workspaces?.length ?? 0) > 0;
}

function entryOf(stored: StoredWorker): WorkerEntry {
  if (stored.unavailable !== undefined) {
    return { kind: "unavailable", id: stored.worker_id, reason: stored.unavailable, record: stored.record, state: stored.state };
  }
  const { status: _status, active_run_id: _active, ...counters } = stored.state;
  return { kind: "loaded", id: stored.worker_id, record: stored.record, counters, run: restoredState(stored.state.status), ending: null };
}

/**
 * Records the start: the store's repairs, unavailable workers, and runs a crash left `running`,
 * which end `interrupted` (their workers are idle again, or still stopped).
 */
async function recover(ctx: RuntimeContext, snapshot: StoreSnapshot): Promise<void> {
  const commit: StoreCommit = { events: [ctx.events.runtimeStarted(ctx.version, ctx.store.kind)] };
  for (const diagnostic of snapshot.diagnostics) ctx.addDiagnostic(commit, diagnostic);
  for (const stored of snapshot.workers) {
    if (stored.unavailable !== undefined) {
      const worker_ref = ctx.refOf(stored.worker_id);
      ctx.addDiagnostic(commit, newDiagnostic({ level: "error", code: "worker_unavailable", message: stored.unavailable, worker_ref }));
      continue;
    }
    const { status, active_run_id } = stored.state;
    if (status !== "running" && active_run_id === null) continue;
    const run = active_run_id ? await ctx.store.getRun(stored.worker_id, active_run_id) : undefined;
    if (run?.status === "running") interrupt(ctx, commit, run);
    // The entry restored without its run (restoredState); the store learns that here.
    const entry = ctx.loaded(stored.worker_id);
    entry.counters = { ...entry.counters, updated_at: now() };
    (commit.states ??= []).push(storedState(entry));
  }
  await ctx.commit(commit);
}

function interrupt(ctx: RuntimeContext, commit: StoreCommit, stored: Run): void {
  const error = { code: "interrupted" as const, message: "the runtime stopped while this run was active" };
  const run = { ...stored, status: "interrupted" as const, finished_at: now(), error };
  (commit.runs ??= []).push(run);
  (commit.events ??= []).push(ctx.events.runEnded(run));
  const message = `run ${run.run_id} was interrupted by a restart`;
  ctx.addDiagnostic(
    commit,
    newDiagnostic({ level: "warning", code: "run_interrupted", message, worker_ref: run.worker_ref, run_id: run.run_id }),
  );
}

export function summary(ctx: RuntimeContext): RuntimeSummary {
  // Kept by the worker table as workers change: no scan per call.
  const { workers, active_runs } = ctx.workers.counts();
  return {
    id: ctx.runtime_id,
    runtime_id: ctx.runtime_id,
    display_name: ctx.display_name,
    store: ctx.store.kind,
    // A running runtime whose store cannot write (disk full, I/O errors) says so; it recovers in process.
    status: ctx.status === "running" && ctx.store.health?.().writable === false ? "degraded" : ctx.status,
    version: ctx.version,
    started_at: ctx.started_at,
    workers,
    active_runs,
    diagnostic_count: ctx.diagnosticCount,
    last_event_id: ctx.lastEventId,
    limits: ctx.limits,
    default_profile: ctx.default_profile,
    profiles: ctx.profileInfo.profiles,
    capabilities: ctx.profileInfo.capabilities,
    workspaces: ctx.workspaces ? [...ctx.workspaces.names] : [],
  };
}

export function diagnostics(ctx: RuntimeContext): Promise<Diagnostic[]> {
  ctx.assertReadable();
  return ctx.store.listDiagnostics();
}

/** Interrupts active runs, records `runtime_stopped` and closes the store. */
export async function closeRuntime(ctx: RuntimeContext): Promise<void> {
  ctx.status = "closing";
  const active = [...ctx.workers.values()].flatMap((e) => (e.kind === "loaded" ? (activeOf(e.run) ?? []) : []));
  for (const run of active) abortRun(run, "interrupted", "the runtime is shutting down");
  await Promise.allSettled(active.map((run) => run.done));
  try {
    await ctx.commit({ events: [ctx.events.runtimeStopped()] });
  } catch (error) {
    ctx.log.error("could not record runtime_stopped", { error: String(error) });
  }
  // Ended, not cut off: subscribers still receive what is queued, runtime_stopped included.
  for (const subscriber of [...ctx.subscribers]) subscriber.end();
  await Promise.allSettled([...ctx.profiles.values()].map((p) => p.backend.close?.()));
  await ctx.workspaces?.close().catch((error) => ctx.log.error("closing the workspaces failed", { error: String(error) }));
  await ctx.store.close();
  ctx.status = "closed";
}
