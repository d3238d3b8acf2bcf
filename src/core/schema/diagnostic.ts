import { Type, type Static } from "@sinclair/typebox";
import { Nullable, Timestamp, WorkerRef } from "./common.ts";

export const DiagnosticLevel = Type.Union([Type.Literal("info"), Type.Literal("warning"), Type.Literal("error")]);
export type DiagnosticLevel = Static<typeof DiagnosticLevel>;

export const Diagnostic = Type.Object(
  {
    level: DiagnosticLevel,
    code: Type.String(),
    message: Type.String(),
    worker_ref: Nullable(WorkerRef),
    run_id: Nullable(Type.String()),
    created_at: Timestamp,
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: "Diagnostic" },
);
export type Diagnostic = Static<typeof Diagnostic>;
