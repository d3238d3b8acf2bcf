import { Type, type Static } from "@sinclair/typebox";
import { Nullable, Timestamp, WorkerRef } from "./common.ts";

export const TranscriptRole = Type.Union([Type.Literal("user"), Type.Literal("system"), Type.Literal("assistant")]);
export type TranscriptRole = Static<typeof TranscriptRole>;

export const TranscriptEntry = Type.Object(
  {
    sequence: Type.Integer({ minimum: 0 }),
    worker_ref: WorkerRef,
    role: TranscriptRole,
    content: Type.String(),
    run_id: Nullable(Type.String()),
    partial: Type.Boolean(),
    event_id: Type.Integer({ minimum: 1 }),
    created_at: Timestamp,
  },
  { $id: "TranscriptEntry" },
);
export type TranscriptEntry = Static<typeof TranscriptEntry>;

export const TranscriptPage = Type.Object(
  {
    worker_ref: WorkerRef,
    start: Type.Integer({ minimum: 0 }),
    limit: Type.Integer({ minimum: 0 }),
    total_items: Type.Integer({ minimum: 0 }),
    items: Type.Array(TranscriptEntry),
    next_start: Nullable(Type.Integer({ minimum: 0 })),
  },
  { $id: "TranscriptPage" },
);
export type TranscriptPage = Static<typeof TranscriptPage>;
