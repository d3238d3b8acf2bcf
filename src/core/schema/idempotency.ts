import { Type, type Static } from "@sinclair/typebox";

/**
 * An acknowledged answer kept under its Idempotency-Key (SPEC §10): a retry with the same key and
 * request gets `result` back instead of the operation running again. Stored in the same store
 * commit as the operation it answers.
 */
export const IdempotencyRecord = Type.Object(
  {
    /** Whose key it is (a token subject; "" for the static token or no auth): scopes never share answers. */
    scope: Type.String({ maxLength: 1024 }),
    key: Type.String({ minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7E]+$" }),
    /** Identifies the request the key was first used with (operation, target, canonical body). */
    fingerprint: Type.String({ minLength: 1, maxLength: 128 }),
    /** The core operation that answered (createWorker, sendInput, …). */
    operation: Type.String({ minLength: 1, maxLength: 64 }),
    /** The operation's result as first produced (a WorkerDetail, an Ack, a Run). */
    result: Type.Unknown(),
    /** Epoch milliseconds; the record expires `limits.idempotency_retention_s` later. */
    created_at: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type IdempotencyRecord = Static<typeof IdempotencyRecord>;
