/** Every failure the runtime reports has one of these codes (SPEC §9). */
export const ERROR_CODES = [
  "invalid_request",
  "invalid_json",
  "invalid_worker_id",
  "limit_too_large",
  "unknown_profile",
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
  "payload_too_large",
  "unsupported_media_type",
  "unsupported_capability",
  "unsupported_operation",
  "worker_limit_reached",
  "store_corrupt",
  "store_io",
  "store_locked",
  "store_runtime_mismatch",
  "internal",
  "runtime_unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class RuntimeError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "RuntimeError";
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isRuntimeError(value: unknown): value is RuntimeError {
  return value instanceof RuntimeError;
}
