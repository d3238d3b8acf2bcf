import { Type, type Static, type TInteger, type TNull, type TObject, type TProperties } from "@sinclair/typebox";
import { PermissionPolicy, PermissionRequest, PlanEntry, ToolCall } from "./agent.ts";
import { DisplayName, Id, Nullable, Timestamp, WorkerRef } from "./common.ts";
import { Diagnostic } from "./diagnostic.ts";
import { Run } from "./run.ts";
import { TranscriptRole } from "./transcript.ts";
import { ResolvedProfile } from "./worker.ts";

export const EVENT_KINDS = [
  "runtime_started",
  "runtime_stopped",
  "worker_created",
  "worker_input_accepted",
  "run_started",
  "run_output_delta",
  "run_thought_delta",
  "run_tool_call",
  "run_plan",
  "run_permission_requested",
  "run_permission_answered",
  "run_permission_timed_out",
  "run_completed",
  "run_failed",
  "run_cancelled",
  "run_timed_out",
  "run_interrupted",
  "worker_stopped",
  "worker_restored",
  "worker_deleted",
  "diagnostic",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** `Unsafe` pins the static type: Elysia's type mapping reads a union built from an array as `never`. */
export const EventKindSchema = Type.Unsafe<EventKind>(Type.Union(EVENT_KINDS.map((kind) => Type.Literal(kind))));

/** How an agent's permission request ended: the option chosen (or `cancelled`) and by whom. */
const PermissionAnswer = Type.Object({
  request_id: Type.String(),
  outcome: Type.Union([Type.Literal("selected"), Type.Literal("cancelled")]),
  option_id: Nullable(Type.String()),
  by: Type.Union([Type.Literal("user"), Type.Literal("policy"), Type.Literal("timeout"), Type.Literal("cancel")]),
});

/** The payload of each kind (SPEC §6.2). Objects stay open so a later version's extra fields still read. */
export const EventData = {
  runtime_started: Type.Object({ version: Type.String(), store: Type.Union([Type.Literal("memory"), Type.Literal("fs")]) }),
  runtime_stopped: Type.Object({}),
  worker_created: Type.Object({ display_name: Nullable(DisplayName), profile: ResolvedProfile, intent_kind: Type.String() }),
  worker_input_accepted: Type.Object({ role: TranscriptRole, transcript_sequence: Type.Integer({ minimum: 0 }) }),
  run_started: Type.Object({ input_sequence: Type.Integer({ minimum: 0 }), profile: Type.String() }),
  run_output_delta: Type.Object({ delta: Type.String() }),
  /** Every terminal run event carries the run as it ended. */
  run_ended: Type.Object({ run: Run }),
  worker_stopped: Type.Object({ reason: Nullable(Type.String()), cancelled_run_id: Nullable(Type.String()) }),
  worker_restored: Type.Object({}),
  worker_deleted: Type.Object({}),
  diagnostic: Type.Object({ diagnostic: Diagnostic }),
  // Agent (ACP) runs.
  run_thought_delta: Type.Object({ delta: Type.String() }),
  run_tool_call: Type.Object({ tool_call: ToolCall }),
  run_plan: Type.Object({ entries: Type.Array(PlanEntry) }),
  run_permission_requested: Type.Object({ permission: PermissionRequest, policy: PermissionPolicy }),
  run_permission_answered: PermissionAnswer,
  run_permission_timed_out: PermissionAnswer,
};

/** One member of the event union: the common envelope with this kind's `data`. */
function eventOf<K extends EventKind, D extends TProperties, I extends TInteger | TNull>(
  kind: K,
  data: TObject<D>,
  id: I,
) {
  return Type.Object(
    { id, kind: Type.Literal(kind), worker_ref: Nullable(WorkerRef), run_id: Nullable(Type.String()), created_at: Timestamp, data },
    { title: kind },
  );
}
const StoredId = Type.Integer({ minimum: 1 });

/**
 * An event, discriminated by `kind`. `id` is null only for the ephemeral `run_output_delta` and
 * `run_thought_delta` events, which reach live subscribers but are never stored and consume no id.
 * Built only by the constructors in `core/events.ts`.
 */
export const RuntimeEvent = Type.Union(
  [
    eventOf("runtime_started", EventData.runtime_started, StoredId),
    eventOf("runtime_stopped", EventData.runtime_stopped, StoredId),
    eventOf("worker_created", EventData.worker_created, StoredId),
    eventOf("worker_input_accepted", EventData.worker_input_accepted, StoredId),
    eventOf("run_started", EventData.run_started, StoredId),
    eventOf("run_output_delta", EventData.run_output_delta, Type.Null()),
    eventOf("run_completed", EventData.run_ended, StoredId),
    eventOf("run_failed", EventData.run_ended, StoredId),
    eventOf("run_cancelled", EventData.run_ended, StoredId),
    eventOf("run_timed_out", EventData.run_ended, StoredId),
    eventOf("run_interrupted", EventData.run_ended, StoredId),
    eventOf("worker_stopped", EventData.worker_stopped, StoredId),
    eventOf("worker_restored", EventData.worker_restored, StoredId),
    eventOf("worker_deleted", EventData.worker_deleted, StoredId),
    eventOf("diagnostic", EventData.diagnostic, StoredId),
    eventOf("run_thought_delta", EventData.run_thought_delta, Type.Null()),
    eventOf("run_tool_call", EventData.run_tool_call, StoredId),
    eventOf("run_plan", EventData.run_plan, StoredId),
    eventOf("run_permission_requested", EventData.run_permission_requested, StoredId),
    eventOf("run_permission_answered", EventData.run_permission_answered, StoredId),
    eventOf("run_permission_timed_out", EventData.run_permission_timed_out, StoredId),
  ],
  { $id: "RuntimeEvent" },
);
export type RuntimeEvent = Static<typeof RuntimeEvent>;
/** Every event but the ephemeral deltas: these have an id and are kept by the store. */
export type StoredEvent = Exclude<RuntimeEvent, { kind: "run_output_delta" | "run_thought_delta" }>;
export type StoredEventKind = StoredEvent["kind"];
/** The terminal event of a run: `run_completed`, `run_failed`… each carrying the run as it ended. */
export type RunEndedEvent = Extract<RuntimeEvent, { data: { run: unknown } }>;
/** The `data` of one kind. */
export type EventDataOf<K extends EventKind> = Extract<RuntimeEvent, { kind: K }>["data"];

export const EventBatch = Type.Object(
  {
    runtime_id: Id,
    events: Type.Array(RuntimeEvent),
    next_after: Type.Integer({ minimum: 0 }),
    has_more: Type.Boolean(),
  },
  { $id: "EventBatch" },
);
export type EventBatch = { runtime_id: string; events: StoredEvent[]; next_after: number; has_more: boolean };
