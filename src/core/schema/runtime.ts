import { Type, type Static } from "@sinclair/typebox";
import { DisplayName, Id, Nullable, Timestamp } from "./common.ts";

export const Limits = Type.Object(
  {
    max_transcript_projection_items: Type.Integer({ minimum: 1 }),
    max_event_batch_items: Type.Integer({ minimum: 1 }),
    max_input_bytes: Type.Integer({ minimum: 1 }),
    max_body_bytes: Type.Integer({ minimum: 1 }),
    max_workers: Type.Integer({ minimum: 0 }),
    max_retained_events: Type.Integer({ minimum: 1 }),
    /** How long an Idempotency-Key and the answer it replays are kept (seconds). */
    idempotency_retention_s: Type.Integer({ minimum: 1, maximum: 31_536_000 }),
  },
  { additionalProperties: false, $id: "Limits" },
);
export type Limits = Static<typeof Limits>;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  max_transcript_projection_items: 256,
  max_event_batch_items: 256,
  max_input_bytes: 262_144,
  max_body_bytes: 1_048_576,
  max_workers: 10_000,
  max_retained_events: 100_000,
  idempotency_retention_s: 86_400,
});

/** What a profile reveals: never its settings, which may hold secrets or local paths. */
export const ProfileInfo = Type.Object({
  name: Type.String(),
  backend: Type.String(),
  capabilities: Type.Array(Type.String()),
  is_default: Type.Boolean(),
});
export type ProfileInfo = Static<typeof ProfileInfo>;

export const RuntimeStatus = Type.Union([Type.Literal("running"), Type.Literal("closing"), Type.Literal("closed")]);
export type RuntimeStatus = Static<typeof RuntimeStatus>;

/** What `GET /v1/runtime` reports: the lifecycle, or `degraded` while running with a store that cannot write. */
export const RuntimeSummaryStatus = Type.Union([Type.Literal("running"), Type.Literal("degraded"), Type.Literal("closing"), Type.Literal("closed")]);
export type RuntimeSummaryStatus = Static<typeof RuntimeSummaryStatus>;

/** Persisted once per store (`runtime.json`, SPEC §8: id, display_name, created_at, format_version). */
export const RuntimeRecord = Type.Object({
  id: Id,
  display_name: Nullable(DisplayName),
  created_at: Timestamp,
  format_version: Type.Integer({ minimum: 1 }),
});
export type RuntimeRecord = Static<typeof RuntimeRecord>;

export const RuntimeSummary = Type.Object(
  {
    id: Id,
    runtime_id: Id,
    display_name: Nullable(Type.String()),
    store: Type.String(),
    status: RuntimeSummaryStatus,
    version: Type.String(),
    started_at: Timestamp,
    workers: Type.Object({
      total: Type.Integer(),
      idle: Type.Integer(),
      running: Type.Integer(),
      stopped: Type.Integer(),
      unavailable: Type.Integer(),
    }),
    active_runs: Type.Integer(),
    diagnostic_count: Type.Integer(),
    last_event_id: Type.Integer(),
    limits: Limits,
    default_profile: Type.String(),
    profiles: Type.Array(ProfileInfo),
    capabilities: Type.Array(Type.String()),
    /** The configured workspace names (never their repositories' paths). */
    workspaces: Type.Array(Type.String()),
  },
  { $id: "RuntimeSummary" },
);
export type RuntimeSummary = Static<typeof RuntimeSummary>;
