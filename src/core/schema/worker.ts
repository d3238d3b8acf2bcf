import { Type, type Static } from "@sinclair/typebox";
import { DisplayName, Id, Nullable, Timestamp, WorkerRef } from "./common.ts";
import { WorkerWorkspace, WorkspaceStatus } from "./workspace.ts";

const strict = { additionalProperties: false } as const;
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Text = Type.String({ maxLength: 4096 });

export const Intent = Type.Union([
  Type.Object({ kind: Type.Literal("assistant"), purpose: Type.Optional(Text) }, strict),
  Type.Object({ kind: Type.Literal("task"), objective: Type.String({ minLength: 1, maxLength: 4096 }) }, strict),
  Type.Object({ kind: Type.Literal("role"), role: Name, purpose: Type.Optional(Text) }, strict),
]);
export type Intent = Static<typeof Intent>;

export const ProfileRef = Type.Union([
  Type.Object({ kind: Type.Literal("runtime_default") }, strict),
  Type.Object({ kind: Type.Literal("builtin"), value: Type.Literal("echo") }, strict),
  Type.Object({ kind: Type.Literal("named"), value: Name }, strict),
]);
export type ProfileRef = Static<typeof ProfileRef>;

const NamedReference = Type.Object({ name: Name, reference: Type.String({ minLength: 1, maxLength: 4096 }) }, strict);
/** A workspace's `reference` may be empty: the workspace's configured base. */
const WorkspaceReference = Type.Object({ name: Name, reference: Type.String({ maxLength: 4096 }) }, strict);

export const CreateWorkerRequest = Type.Object(
  {
    worker_id: Type.Optional(Id),
    display_name: Type.Optional(DisplayName),
    intent: Type.Optional(Intent),
    profile: Type.Optional(ProfileRef),
    config_bundle: Type.Optional(Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, strict)),
    requested_capabilities: Type.Optional(
      Type.Array(Type.Object({ name: Name, reason: Type.Optional(Text) }, strict), { maxItems: 64 }),
    ),
    workspace_refs: Type.Optional(Type.Array(WorkspaceReference, { maxItems: 64 })),
    mount_refs: Type.Optional(Type.Array(NamedReference, { maxItems: 64 })),
  },
  { ...strict, $id: "CreateWorkerRequest" },
);
export type CreateWorkerRequest = Static<typeof CreateWorkerRequest>;

/** `unavailable`: the store could not load this worker's files; its calls fail `store_corrupt`. */
export const WorkerStatus = Type.Union([
  Type.Literal("idle"),
  Type.Literal("running"),
  Type.Literal("stopped"),
  Type.Literal("unavailable"),
]);
export type WorkerStatus = Static<typeof WorkerStatus>;

export const ResolvedProfile = Type.Object({ name: Type.String(), backend: Type.String() });

/** Immutable part of a worker, written once at create (`worker.json`). */
export const WorkerRecord = Type.Object({
  worker_ref: WorkerRef,
  display_name: Nullable(DisplayName),
  intent: Intent,
  profile: ResolvedProfile,
  config_bundle: Nullable(Type.Object({ id: Type.String() })),
  requested_capabilities: Type.Array(Type.Object({ name: Type.String(), reason: Type.Optional(Type.String()) })),
  workspace_refs: Type.Array(Type.Object({ name: Type.String(), reference: Type.String() })),
  mount_refs: Type.Array(Type.Object({ name: Type.String(), reference: Type.String() })),
  created_at: Timestamp,
  /** The worktrees made from `workspace_refs` (absent: none). */
  workspaces: Type.Optional(Type.Array(WorkerWorkspace)),
  /**
   * A UUID fixed for the worker's life (`YOI_SESSION_ID`, `{session_id}` of command programs);
   * absent in records written before it existed. Not the agent session an `acp` backend reports.
   */
  worker_session_id: Type.Optional(Type.String()),
});
export type WorkerRecord = Static<typeof WorkerRecord>;

/** Mutable part of a worker (`state.json`). Counters are the next sequence numbers, so they never go back. */
export const WorkerState = Type.Object({
  status: WorkerStatus,
  active_run_id: Nullable(Type.String()),
  transcript_items: Type.Integer({ minimum: 0 }),
  run_count: Type.Integer({ minimum: 0 }),
  last_event_id: Type.Integer({ minimum: 0 }),
  stopped_reason: Nullable(Type.String()),
  updated_at: Timestamp,
  /** The agent session a session-keeping backend (acp) resumes on the worker's next start. */
  session_id: Type.Optional(Nullable(Type.String())),
});
export type WorkerState = Static<typeof WorkerState>;

export const WorkerSummary = Type.Object(
  {
    worker_ref: WorkerRef,
    display_name: Nullable(DisplayName),
    display_ref: Type.String(),
    status: WorkerStatus,
    intent_kind: Type.String(),
    profile: ResolvedProfile,
    active_run_id: Nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: "WorkerSummary" },
);
export type WorkerSummary = Static<typeof WorkerSummary>;

export const WorkerDetail = Type.Composite(
  [
    WorkerSummary,
    Type.Object({
      // null only for an unavailable worker whose worker.json could not be read.
      intent: Nullable(Intent),
      config_bundle: Nullable(Type.Object({ id: Type.String() })),
      requested_capabilities: WorkerRecord.properties.requested_capabilities,
      workspace_refs: WorkerRecord.properties.workspace_refs,
      mount_refs: WorkerRecord.properties.mount_refs,
      transcript_items: Type.Integer(),
      run_count: Type.Integer(),
      last_event_id: Type.Integer(),
      stopped_reason: Nullable(Type.String()),
      unavailable_reason: Nullable(Type.String()),
      /** Present when the worker has workspaces (issue 11). */
      workspaces: Type.Optional(Type.Array(WorkspaceStatus)),
      session_id: Type.Optional(Nullable(Type.String())),
    }),
  ],
  { $id: "WorkerDetail" },
);
export type WorkerDetail = Static<typeof WorkerDetail>;
