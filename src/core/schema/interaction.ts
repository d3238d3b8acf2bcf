import { Type, type Static } from "@sinclair/typebox";
import { Nullable, WorkerRef } from "./common.ts";
import { WorkerStatus } from "./worker.ts";

/** `content` length is checked against `limits.max_input_bytes` (UTF-8 bytes) by the runtime. */
export const InputRequest = Type.Object(
  {
    kind: Type.Union([Type.Literal("user"), Type.Literal("system")]),
    content: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false, $id: "InputRequest" },
);
export type InputRequest = Static<typeof InputRequest>;

export const ReasonRequest = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false, $id: "ReasonRequest" },
);
export type ReasonRequest = Static<typeof ReasonRequest>;

export const Ack = Type.Object(
  {
    worker_ref: WorkerRef,
    status: WorkerStatus,
    run_id: Nullable(Type.String()),
    transcript_sequence: Nullable(Type.Integer({ minimum: 0 })),
    event_id: Nullable(Type.Integer({ minimum: 1 })),
    cancelled_run_id: Type.Optional(Nullable(Type.String())),
  },
  { $id: "Ack" },
);
export type Ack = Static<typeof Ack>;
