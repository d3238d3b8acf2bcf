import type { TSchema } from "@sinclair/typebox";
import { RuntimeError } from "../core/errors.ts";
import { assertWorkerId } from "../core/ids.ts";
import type { RuntimeLogger } from "../core/runtime.ts";
import { firstError } from "../core/validate.ts";
import { INVALID_TOKEN_CHALLENGE, scopeChallenge } from "./auth.ts";
import { errorResponse } from "./error-body.ts";
import { HTTP_STATUS } from "./error-status.ts";
import type { RouteDeclaration } from "./openapi.ts";
import type { RequestLog } from "./request-log.ts";
import { pathOf } from "./url-path.ts";

/** Seconds a client waits before retrying a 503 `runtime_unavailable` (the store probes for recovery more often). */
const RETRY_AFTER_S = 1;

/**
 * The one way out of a failed request: whatever failed — the guard, Elysia's routing, parsing or
 * validation, a route handler, the core — answers `{"error": {"code", "message", "details"?}}`
 * with the status of its code (SPEC §9), logs the failure once, and writes the request's log
 * line. `routes` is the finished route table (for 405 `Allow`), read on the first unmatched path.
 */
export function errorHandler(
  routes: () => readonly RouteDeclaration[],
  logger: RuntimeLogger | null,
  log: RequestLog | null,
): (error: unknown, code: unknown, request: Request) => Response {
  let methodsByPath: ((path: string) => string[] | null) | null = null;
  return (error, code, request) => {
    const path = pathOf(request.url);
    let failure: RuntimeError;
    let headers: Record<string, string> | undefined;
    let cause: string | undefined;
    if (error instanceof RuntimeError) {
      failure = error;
      // RFC 6750: a 401 names the scheme it wants; a 403 for a scope names the scope.
      if (failure.code === "unauthorized") headers = { "www-authenticate": INVALID_TOKEN_CHALLENGE };
      else if (failure.code === "insufficient_scope") headers = { "www-authenticate": scopeChallenge(String(failure.details?.scope)) };
      // A runtime that cannot serve now (closing, a store that cannot write) says when to try again.
      else if (failure.code === "runtime_unavailable") headers = { "retry-after": String(RETRY_AFTER_S) };
    } else if (code === "VALIDATION") {
      failure = validationFailure(error);
    } else if (code === "PARSE") {
      const parsed = (error as { cause?: unknown }).cause;
      failure = parsed instanceof RuntimeError ? parsed : new RuntimeError("invalid_json", "the request body is not valid JSON");
    } else if (code === "NOT_FOUND") {
      methodsByPath ??= allowedMethods(routes());
      const allowed = methodsByPath(path);
      if (allowed) {
        failure = new RuntimeError("method_not_allowed", `${request.method} is not allowed on ${path}`, { allow: allowed });
        headers = { allow: allowed.join(", ") };
      } else {
        failure = new RuntimeError("route_not_found", `no route ${path}`);
      }
    } else {
      // The real cause goes to the log (once); the client learns nothing about internals.
      cause = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failure = new RuntimeError("internal", "internal error");
    }
    const status = HTTP_STATUS[failure.code];
    if (logger) {
      const fields: Record<string, unknown> = { method: request.method, path, status, code: failure.code, message: failure.message };
      if (cause !== undefined) fields.error = cause;
      // A 4xx is the client's mistake (a 404 for a worker it asked about is routine): debug, so an
      // operator's log shows the server's own failures, the 5xx, as errors.
      if (status >= 500) logger.error("request failed", fields);
      else logger.debug("request failed", fields);
    }
    log?.finish(request, path, status);
    return errorResponse(failure, headers);
  };
}

/** Elysia's validation error, as far as this handler reads it. */
interface ValidationFailure {
  type?: string;
  value?: unknown;
  validator?: { schema?: TSchema } & Partial<TSchema>;
  valueError?: { path?: string; message?: string };
}

/** Maps Elysia's schema validation failures onto §9 codes, naming the first violation. */
function validationFailure(error: unknown): RuntimeError {
  const failure = error as ValidationFailure;
  const where = failure.type === "params" ? "path parameter" : failure.type === "headers" ? "header" : failure.type ?? "request";
  const path = failure.valueError?.path ?? "";
  const schema = failure.validator?.schema ?? (failure.validator as TSchema | undefined);
  // A bad worker id gets its own code whatever else is wrong, in a path, a query or a create
  // request, as the core does (SPEC §9) — where `worker_id` is a field of the schema at all.
  const value = failure.value;
  const hasWorkerId = typeof schema?.properties === "object" && schema.properties !== null && "worker_id" in schema.properties;
  if (hasWorkerId && typeof value === "object" && value !== null && "worker_id" in value && value.worker_id !== undefined) {
    try {
      assertWorkerId(value.worker_id);
    } catch (invalid) {
      if (invalid instanceof RuntimeError) return invalid;
    }
  }
  if (failure.type === "body" && failure.value === undefined) {
    return new RuntimeError("invalid_request", "this route requires a JSON request body");
  }
  const first = schema ? firstError(schema, failure.value) : null;
  const detail = first ?? `${path || "/"}: ${failure.valueError?.message ?? "invalid value"}`;
  return new RuntimeError("invalid_request", `invalid ${where}: ${detail}`);
}

/**
 * For a path no route matched with this method: the methods that do serve it (for a 405 with
 * `Allow`), or null when no route has this path at all (404). Built once from the route table.
 */
function allowedMethods(routes: readonly RouteDeclaration[]): (path: string) => string[] | null {
  const table: { pattern: RegExp; methods: Set<string> }[] = [];
  for (const route of routes) {
    const source = `^${route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z0-9_]+/g, "[^/]+")}$`;
    let entry = table.find((candidate) => candidate.pattern.source === source);
    if (!entry) table.push((entry = { pattern: new RegExp(source), methods: new Set() }));
    entry.methods.add(route.method);
    if (route.method === "GET") entry.methods.add("HEAD");
  }
  return (path) => {
    const normalised = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const methods = new Set<string>();
    for (const entry of table) if (entry.pattern.test(normalised)) for (const method of entry.methods) methods.add(method);
    return methods.size > 0 ? [...methods].sort() : null;
  };
}
