import { RuntimeError } from "./errors.ts";
import type { PendingPermission } from "./permission.ts";
import { activeOf, statusOf, type RunState } from "./run-state.ts";
import type { Run } from "./schema/run.ts";
import type { WorkerRecord, WorkerState, WorkerStatus } from "./schema/worker.ts";

/** Why a run was aborted; each names the run status it ends with. */
export type AbortKind = "cancelled" | "timed_out" | "interrupted";

/** A run while it executes: its record as it stands, how to abort it, and when it has ended. */
export interface ActiveRun {
  run: Run;
  readonly controller: AbortController;
  abort: { kind: AbortKind; reason: string } | null;
  /** Settles with the final record once it is stored (or could not be). */
  readonly done: Promise<Run>;
  readonly settle: (run: Run) => void;
  /** The agent's permission request the run waits on (ACP, policy `ask`). */
  permission: PendingPermission | null;
}

export function newActiveRun(run: Run): ActiveRun {
  let settle!: (run: Run) => void;
  const done = new Promise<Run>((resolve) => (settle = resolve));
  return { run, controller: new AbortController(), abort: null, done, settle, permission: null };
}

/** Aborts a run once; the first reason wins. */
export function abortRun(active: ActiveRun, kind: AbortKind, reason: string): void {
  if (active.abort) return;
  active.abort = { kind, reason };
  active.controller.abort(new RuntimeError("internal", reason));
}

/** The stored part of a worker's state that is not its status: counters and timestamps. */
export type WorkerCounters = Omit<WorkerState, "status" | "active_run_id">;

/** A worker whose files loaded: its record, counters and where it is in the §5 state machine. */
export interface LoadedWorker {
  readonly kind: "loaded";
  readonly id: string;
  readonly record: WorkerRecord;
  counters: WorkerCounters;
  run: RunState<ActiveRun>;
  /**
   * The last run while its final record is being stored. The worker already takes new input, but
   * the store still holds the run as `running`, so reads of it must come from here meanwhile.
   */
  ending: ActiveRun | null;
}

/** A worker just created: idle, with nothing in its transcript yet. */
export function newWorker(record: WorkerRecord, created_event_id: number): LoadedWorker {
  return {
    kind: "loaded",
    id: record.worker_ref.worker_id,
    record,
    counters: { transcript_items: 0, run_count: 0, last_event_id: created_event_id, stopped_reason: null, updated_at: record.created_at },
    run: { status: "idle" },
    ending: null,
  };
}

/** A worker the store could not load: it can be read and deleted, nothing else. */
export interface UnavailableWorker {
  readonly kind: "unavailable";
  readonly id: string;
  readonly reason: string;
  readonly record: WorkerRecord | null;
  readonly state: WorkerState | null;
}

export type WorkerEntry = LoadedWorker | UnavailableWorker;

export function workerStatus(entry: WorkerEntry): WorkerStatus {
  return entry.kind === "unavailable" ? "unavailable" : statusOf(entry.run);
}

/** What the store keeps of a loaded worker's state: its status comes from the state machine. */
export function storedState(entry: LoadedWorker): { worker_id: string; state: WorkerState } {
  const { transcript_items, run_count, last_event_id, stopped_reason, updated_at, session_id } = entry.counters;
  const state: WorkerState = {
    status: statusOf(entry.run),
    active_run_id: activeOf(entry.run)?.run.run_id ?? null,
    transcript_items,
    run_count,
    last_event_id,
    stopped_reason,
    updated_at,
  };
  if (session_id) state.session_id = session_id;
  return { worker_id: entry.id, state };
}

/** The counters a worker was stored with, or null for an unavailable worker whose state did not load. */
export function countersOf(entry: WorkerEntry): WorkerCounters | null {
  return entry.kind === "loaded" ? entry.counters : entry.state;
}

/** The run with this id if it is active or still being recorded: then it is fresher than the store's copy. */
export function runInMemory(entry: WorkerEntry, run_id: string): ActiveRun | null {
  if (entry.kind === "unavailable") return null;
  const active = activeOf(entry.run);
  if (active?.run.run_id === run_id) return active;
  if (entry.ending?.run.run_id === run_id) return entry.ending;
  return null;
}
