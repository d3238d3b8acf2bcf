import { Type, type Static } from "@sinclair/typebox";
import { PermissionRequest, StopReason, ToolCall } from "./agent.ts";
import { Nullable, Timestamp, WorkerRef } from "./common.ts";

export const RunStatus = Type.Union([
  Type.Literal("running"),
  Type.Literal("completed"),
  Type.Literal("failed"),
  Type.Literal("cancelled"),
  Type.Literal("timed_out"),
  Type.Literal("interrupted"),
]);
export type RunStatus = Static<typeof RunStatus>;

/**
 * Every code `run.error.code` can hold (SPEC §9, run error codes): the abort reasons the core sets
 * and the failures backends report through `BackendError`, one union shared by every backend.
 */
export const RUN_ERROR_CODES = [
  // set by the core
  "cancelled",
  "timed_out",
  "interrupted",
  "backend_error",
  // command backend
  "spawn_failed",
  "exit_code",
  "command_failed",
  "output_too_large",
  // HTTP providers
  "provider_error",
  "network_error",
  "malformed_stream",
  // agent backends
  "protocol_error",
  "agent_exited",
  "agent_start_timeout",
  "agent_auth_required",
  "agent_error",
] as const;
export type RunErrorCode = (typeof RUN_ERROR_CODES)[number];

/**
 * A string on the wire, so a store written by a later version with a new code still reads; the
 * static type is the union.
 */
export const RunError = Type.Object({
  code: Type.Unsafe<RunErrorCode>(Type.String({ examples: [...RUN_ERROR_CODES] })),
  message: Type.String(),
  /** Machine-readable specifics a backend reported (e.g. `exit_code`, provider `status`). */
  details: Type.Optional(Type.Object({}, { additionalProperties: true })),
});
export type RunError = Static<typeof RunError>;

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
    error: Nullable(RunError),
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
