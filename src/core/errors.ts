/** Every failure the runtime reports has one of these codes (SPEC §9). */
export const ERROR_CODES = [
  "invalid_request",
  "invalid_json",
  "invalid_worker_id",
  "limit_too_large",
  "unknown_profile",
  "unknown_workspace",
  "invalid_workspace_ref",
  "wrong_runtime",
  "unauthorized",
  "forbidden_origin",
  "insufficient_scope",
  "worker_not_found",
  "run_not_found",
  "route_not_found",
  "method_not_allowed",
  "cursor_expired",
  "worker_exists",
  "worker_busy",
  "worker_stopped",
  "workspace_dirty",
  "no_pending_permission",
  "payload_too_large",
  "unsupported_media_type",
  "unsupported_capability",
  "unsupported_operation",
  "idempotency_key_reused",
  "worker_limit_reached",
  "store_corrupt",
  "store_io",
  "store_locked",
  "store_runtime_mismatch",
  "internal",
  "runtime_unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The shape of every failure the core reports: a code from a closed union, a message, optional details. */
export class CodedError<C extends string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** What every core call fails with (SPEC §9); the HTTP layer maps its code to a status. */
export class RuntimeError extends CodedError<ErrorCode> {
  override readonly name = "RuntimeError";
}

export function isRuntimeError(value: unknown): value is RuntimeError {
  return value instanceof RuntimeError;
}
