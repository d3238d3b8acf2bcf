import { Type, type Static } from "@sinclair/typebox";
import { PermissionRequest, StopReason, ToolCall } from "./agent.ts";
import { ErrorInfo, Nullable, Timestamp, WorkerRef } from "./common.ts";

export const RunStatus = Type.Union([
  Type.Literal("running"),
  Type.Literal("completed"),
  Type.Literal("failed"),
  Type.Literal("cancelled"),
  Type.Literal("timed_out"),
  Type.Literal("interrupted"),
]);
export type RunStatus = Static<typeof RunStatus>;

export const Usage = Type.Object({
  input_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
  output_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Usage = Static<typeof Usage>;

export const Run = Type.Object(
  {
    run_id: Type.String(),
    worker_ref: WorkerRef,
    status: RunStatus,
    profile: Type.String(),
    input_sequence: Type.Integer({ minimum: 0 }),
    output_sequence: Nullable(Type.Integer({ minimum: 0 })),
    partial: Type.Boolean(),
    started_at: Timestamp,
    finished_at: Nullable(Timestamp),
    error: Nullable(ErrorInfo),
    usage: Nullable(Usage),
    // Agent (ACP) runs only: why the agent ended its turn, its tool calls (latest state each) and
    // the permission request it waits on.
    stop_reason: Type.Optional(Nullable(StopReason)),
    tool_calls: Type.Optional(Type.Array(ToolCall)),
    pending_permission: Type.Optional(Nullable(PermissionRequest)),
  },
  { $id: "Run" },
);
export type Run = Static<typeof Run>;

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set([
  "completed",
  "failed",
  "cancelled",
  "timed_out",
  "interrupted",
]);
