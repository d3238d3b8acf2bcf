import type { ErrorCode } from "../../core/errors.ts";
import { readJsonBody } from "../json-body.ts";

/** Error codes every authenticated route can answer with, whatever it does. */
export const GUARDED = ["unauthorized", "forbidden_origin", "insufficient_scope", "internal"] as const satisfies readonly ErrorCode[];
/** Codes of every route that reads through the core: it may be closed, its store may fail. */
export const READ = [...GUARDED, "runtime_unavailable", "store_io"] as const satisfies readonly ErrorCode[];
/** Codes of reading a JSON body (SPEC §10). */
export const BODY = ["invalid_json", "invalid_request", "payload_too_large", "unsupported_media_type"] as const satisfies readonly ErrorCode[];
/** Codes of addressing one worker. */
export const WORKER = ["invalid_worker_id", "worker_not_found", "store_corrupt"] as const satisfies readonly ErrorCode[];

const NO_BODY = Object.freeze({});

/**
 * The hooks of a route with a JSON body (SPEC §10: only `application/json`, at most
 * `max_body_bytes`). A parser that yields `undefined` makes Elysia re-read the (consumed) body
 * with its own parsers, so an empty body is reported as NO_BODY and turned back into `undefined`
 * by `emptyBody`, a transform, before validation.
 */
export function jsonBody(max_body_bytes: number) {
  return {
    parse: async ({ request }: { request: Request }) => (await readJsonBody(request, max_body_bytes)) ?? NO_BODY,
    emptyBody: (context: { body: unknown }) => {
      if (context.body === NO_BODY) context.body = undefined;
    },
  };
}
