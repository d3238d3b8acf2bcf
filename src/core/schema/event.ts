import { Type, type Static } from "@sinclair/typebox";
import { Id, Nullable, Timestamp, WorkerRef } from "./common.ts";

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

/**
 * `id` is null only for ephemeral `run_output_delta` and `run_thought_delta` events, which reach
 * live subscribers but are never stored and consume no id.
 */
export const RuntimeEvent = Type.Object(
  {
    id: Nullable(Type.Integer({ minimum: 1 })),
    kind: EventKindSchema,
    worker_ref: Nullable(WorkerRef),
    run_id: Nullable(Type.String()),
    created_at: Timestamp,
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: "RuntimeEvent" },
);
export type RuntimeEvent = Omit<Static<typeof RuntimeEvent>, "kind"> & { kind: EventKind };
export type StoredEvent = RuntimeEvent & { id: number };

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
