import { Type, type Static } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../ids.ts";

export const Id = Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: ID_PATTERN });

/** Free text for humans: no control characters, so it is safe in logs and one-line labels. */
export const DisplayName = Type.String({ maxLength: 200, pattern: "^[^\\u0000-\\u001f\\u007f]*$" });

export const Timestamp = Type.String({ format: "date-time", description: "RFC 3339 UTC timestamp" });

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

/** The only authority that addresses a worker (SPEC §2). */
export const WorkerRef = Type.Object(
  { runtime_id: Id, worker_id: Id },
  { additionalProperties: false, $id: "WorkerRef" },
);
export type WorkerRef = Static<typeof WorkerRef>;

export const ErrorInfo = Type.Object({
  code: Type.String(),
  message: Type.String(),
  /** Machine-readable specifics a backend reported (e.g. `exit_code`, provider `status`). */
  details: Type.Optional(Type.Object({}, { additionalProperties: true })),
});
export type ErrorInfo = Static<typeof ErrorInfo>;
