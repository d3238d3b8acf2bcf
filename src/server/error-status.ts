import type { ErrorCode } from "../core/errors.ts";

/**
 * HTTP status for every runtime error code (SPEC §9). It `satisfies Record<ErrorCode, number>` so
 * that adding a code to the core without choosing its status fails to compile; literal types let
 * route declarations derive their error statuses from their error codes.
 */
export const HTTP_STATUS = Object.freeze({
  invalid_request: 400,
  invalid_json: 400,
  invalid_worker_id: 400,
  limit_too_large: 400,
  unknown_profile: 400,
  unknown_workspace: 400,
  invalid_workspace_ref: 400,
  wrong_runtime: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  insufficient_scope: 403,
  worker_not_found: 404,
  run_not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  cursor_expired: 410,
  worker_exists: 409,
  worker_busy: 409,
  worker_stopped: 409,
  workspace_dirty: 409,
  no_pending_permission: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported_capability: 422,
  unsupported_operation: 422,
  idempotency_key_reused: 422,
  worker_limit_reached: 429,
  store_corrupt: 500,
  store_io: 500,
  // Not in the §9 table: a store that belongs to another runtime is a store fault (500); a locked
  // store means this runtime cannot serve (503, as `runtime_unavailable`).
  store_runtime_mismatch: 500,
  internal: 500,
  store_locked: 503,
  runtime_unavailable: 503,
} as const satisfies Record<ErrorCode, number>);

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code];
}
