import { now } from "./clock.ts";
import { RUN_ENDED_KIND } from "./run-ended.ts";
import type { WorkerRef } from "./schema/common.ts";
import type { PermissionOutcome } from "./ports/backend.ts";
import type { PermissionPolicy, PermissionRequest, PlanEntry, ToolCall } from "./schema/agent.ts";
import type { Diagnostic } from "./schema/diagnostic.ts";
import type { RuntimeEvent, StoredEvent } from "./schema/event.ts";
import type { Run, RunStatus } from "./schema/run.ts";
import type { WorkerRecord } from "./schema/worker.ts";

type Stored<K extends StoredEvent["kind"]> = Extract<StoredEvent, { kind: K }>;
type TerminalRunStatus = Exclude<RunStatus, "running">;

/**
 * The only constructors of events (SPEC §6.2), one per kind, so each kind's `data` is what its
 * schema says. Stored events take the next id; ids are never reused. The envelope after `id` and
 * `kind` is always `worker_ref, run_id, created_at`, in that order (the order events have always
 * been written), spelled out in each constructor: a spread of a shared helper's object costs a
 * copy per event, several per run.
 */
export class EventFactory {
  constructor(private last: number) {}

  /** The highest id handed out so far (0 when none). */
  get lastId(): number {
    return this.last;
  }

  runtimeStarted(version: string, store: "memory" | "fs"): Stored<"runtime_started"> {
    return { id: ++this.last, kind: "runtime_started", worker_ref: null, run_id: null, created_at: now(), data: { version, store } };
  }

  runtimeStopped(): Stored<"runtime_stopped"> {
    return { id: ++this.last, kind: "runtime_stopped", worker_ref: null, run_id: null, created_at: now(), data: {} };
  }

  workerCreated(record: WorkerRecord): Stored<"worker_created"> {
    const data = { display_name: record.display_name, profile: record.profile, intent_kind: record.intent.kind };
    return { id: ++this.last, kind: "worker_created", worker_ref: record.worker_ref, run_id: null, created_at: now(), data };
  }

  inputAccepted(
    worker_ref: WorkerRef,
    run_id: string | null,
    role: "user" | "system",
    transcript_sequence: number,
  ): Stored<"worker_input_accepted"> {
    return { id: ++this.last, kind: "worker_input_accepted", worker_ref, run_id, created_at: now(), data: { role, transcript_sequence } };
  }

  runStarted(run: Run): Stored<"run_started"> {
    const data = { input_sequence: run.input_sequence, profile: run.profile };
    return { id: ++this.last, kind: "run_started", worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data };
  }

  /** Ephemeral: reaches live subscribers only, so it takes no id. */
  outputDelta(worker_ref: WorkerRef, run_id: string, delta: string): Extract<RuntimeEvent, { kind: "run_output_delta" }> {
    return { id: null, kind: "run_output_delta", worker_ref, run_id, created_at: now(), data: { delta } };
  }

  /** Ephemeral, like output deltas: an agent's thinking, live only. */
  thoughtDelta(worker_ref: WorkerRef, run_id: string, delta: string): Extract<RuntimeEvent, { kind: "run_thought_delta" }> {
    return { id: null, kind: "run_thought_delta", worker_ref, run_id, created_at: now(), data: { delta } };
  }

  /** A tool call of an agent run, with its latest state. */
  toolCall(run: Run, tool_call: ToolCall): Stored<"run_tool_call"> {
    return { id: ++this.last, kind: "run_tool_call", worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data: { tool_call } };
  }

  plan(run: Run, entries: PlanEntry[]): Stored<"run_plan"> {
    return { id: ++this.last, kind: "run_plan", worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data: { entries } };
  }

  permissionRequested(run: Run, permission: PermissionRequest, policy: PermissionPolicy): Stored<"run_permission_requested"> {
    return { id: ++this.last, kind: "run_permission_requested", worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data: { permission, policy } };
  }

  /** How a permission request ended: `run_permission_timed_out` when the timeout chose, else `run_permission_answered`. */
  permissionAnswered(
    run: Run,
    request_id: string,
    outcome: PermissionOutcome,
    by: "user" | "policy" | "timeout" | "cancel",
  ): Stored<"run_permission_answered" | "run_permission_timed_out"> {
    const data = { request_id, outcome: outcome.outcome, option_id: outcome.outcome === "selected" ? outcome.option_id : null, by };
    const kind = by === "timeout" ? "run_permission_timed_out" : "run_permission_answered";
    return { id: ++this.last, kind, worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data };
  }

  /** The terminal event of a run, named by how it ended, carrying the run as it ended. */
  runEnded(run: Run & { status: TerminalRunStatus }): Stored<(typeof RUN_ENDED_KIND)[TerminalRunStatus]> {
    return { id: ++this.last, kind: RUN_ENDED_KIND[run.status], worker_ref: run.worker_ref, run_id: run.run_id, created_at: now(), data: { run } };
  }

  workerStopped(worker_ref: WorkerRef, reason: string | null, cancelled_run_id: string | null): Stored<"worker_stopped"> {
    return { id: ++this.last, kind: "worker_stopped", worker_ref, run_id: null, created_at: now(), data: { reason, cancelled_run_id } };
  }

  workerRestored(worker_ref: WorkerRef): Stored<"worker_restored"> {
    return { id: ++this.last, kind: "worker_restored", worker_ref, run_id: null, created_at: now(), data: {} };
  }

  workerDeleted(worker_ref: WorkerRef): Stored<"worker_deleted"> {
    return { id: ++this.last, kind: "worker_deleted", worker_ref, run_id: null, created_at: now(), data: {} };
  }

  diagnostic(diagnostic: Diagnostic): Stored<"diagnostic"> {
    return { id: ++this.last, kind: "diagnostic", worker_ref: diagnostic.worker_ref, run_id: diagnostic.run_id, created_at: now(), data: { diagnostic } };
  }
}
