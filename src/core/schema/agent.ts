import { Type, type Static } from "@sinclair/typebox";
import { Nullable, Timestamp } from "./common.ts";

/**
 * What an agent backend (ACP) reports about a run beyond its text: tool calls, plans, the stop
 * reason and permission requests. Field names are the runtime's (snake_case); the values are the
 * Agent Client Protocol's.
 */

/** Why the agent ended its turn. Only `cancelled` is not an answer; the others complete the run. */
export const StopReason = Type.Union([
  Type.Literal("end_turn"),
  Type.Literal("max_tokens"),
  Type.Literal("max_turn_requests"),
  Type.Literal("refusal"),
  Type.Literal("cancelled"),
]);
export type StopReason = Static<typeof StopReason>;

export const ToolCallStatus = Type.Union([
  Type.Literal("pending"),
  Type.Literal("in_progress"),
  Type.Literal("completed"),
  Type.Literal("failed"),
]);
export type ToolCallStatus = Static<typeof ToolCallStatus>;

export const ToolCallLocation = Type.Object({ path: Type.String(), line: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))) });

/**
 * A tool call with its latest known state. `raw_input`/`raw_output` are the agent's values as
 * JSON text and `content` its text content, each cut to a bounded size with a marker.
 */
export const ToolCall = Type.Object(
  {
    tool_call_id: Type.String(),
    title: Type.String(),
    kind: Type.String({ description: "read, edit, delete, move, search, execute, think, fetch, switch_mode or other" }),
    status: ToolCallStatus,
    locations: Type.Array(ToolCallLocation),
    content: Type.Optional(Type.String()),
    raw_input: Type.Optional(Type.String()),
    raw_output: Type.Optional(Type.String()),
  },
  { $id: "ToolCall" },
);
export type ToolCall = Static<typeof ToolCall>;

export const PlanEntry = Type.Object({
  content: Type.String(),
  priority: Type.String({ description: "high, medium or low" }),
  status: Type.String({ description: "pending, in_progress or completed" }),
});
export type PlanEntry = Static<typeof PlanEntry>;

export const PermissionOptionKind = Type.Union([
  Type.Literal("allow_once"),
  Type.Literal("allow_always"),
  Type.Literal("reject_once"),
  Type.Literal("reject_always"),
]);
export type PermissionOptionKind = Static<typeof PermissionOptionKind>;

export const PermissionOption = Type.Object({ option_id: Type.String(), name: Type.String(), kind: PermissionOptionKind });
export type PermissionOption = Static<typeof PermissionOption>;

/** How a profile answers permission requests: ask the driver, or answer allow/reject by itself. */
export const PermissionPolicy = Type.Union([Type.Literal("ask"), Type.Literal("allow"), Type.Literal("reject")]);
export type PermissionPolicy = Static<typeof PermissionPolicy>;

/** An agent's request to go ahead with a tool call, as a run shows it while it waits for an answer. */
export const PermissionRequest = Type.Object(
  {
    request_id: Type.String(),
    tool_call: Type.Object({ tool_call_id: Type.String(), title: Type.String(), kind: Type.String() }),
    options: Type.Array(PermissionOption),
    requested_at: Timestamp,
    /** When the request is answered with its first reject option unless someone answers first. */
    expires_at: Nullable(Timestamp),
  },
  { $id: "PermissionRequest" },
);
export type PermissionRequest = Static<typeof PermissionRequest>;

export const PermissionAnswerRequest = Type.Object(
  { option_id: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false, $id: "PermissionAnswerRequest" },
);
export type PermissionAnswerRequest = Static<typeof PermissionAnswerRequest>;
