import { Type, type TSchema } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { RuntimeError, type ErrorCode } from "../core/errors.ts";
import { assertWorkerId } from "../core/ids.ts";
import type { Runtime, RuntimeLogger } from "../core/runtime.ts";
import { InputRequest, ReasonRequest } from "../core/schema/interaction.ts";
import { CreateWorkerRequest } from "../core/schema/worker.ts";
import { firstError } from "../core/validate.ts";
import { VERSION } from "../version.ts";
import { createGuard, INVALID_TOKEN_CHALLENGE, scopeChallenge, type Admitted } from "./auth.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "./metrics/runtime-metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "./metrics/registry.ts";
import { applyRouteSecurity } from "./openapi-security.ts";
import { FULL_GRANT, grantsWorker, routeMatcher, type Grant } from "./scopes.ts";
import type { TokenVerifier } from "./token-verifier.ts";
import { hotReads, type HotRead } from "./hot-reads.ts";
import { pathOf } from "./url-path.ts";
import { ErrorBody, errorResponse, errorResponses } from "./error-body.ts";
import { HTTP_STATUS } from "./error-status.ts";
import {
  AcceptedResponse,
  AckResponse,
  AckRunResponse,
  CreatedWorkerResponse,
  DeletedResponse,
  DiagnosticsResponse,
  EmptyBody,
  EventStreamResponse,
  EventsQuery,
  EventsResponse,
  HealthResponse,
  MetricsResponse,
  ReadinessResponse,
  InputQuery,
  ListRunsQuery,
  ListWorkersQuery,
  OpenApiResponse,
  RunListResponse,
  RunParams,
  RunQuery,
  RunResponse,
  RuntimeResponse,
  StreamHeaders,
  StreamQuery,
  TranscriptQuery,
  TranscriptResponse,
  WorkerListResponse,
  WorkerParams,
  WorkerResponse,
} from "./http-schema.ts";
import { readJsonBody } from "./json-body.ts";
import { buildOpenApiDocument, type RouteDeclaration } from "./openapi.ts";
import { strictQuery } from "./query.ts";
import { eventStreamResponse, SSE_HEADERS } from "./sse.ts";

export interface CreateAppOptions {
  /** With a token every route but `/healthz` and `/readyz` requires `Authorization: Bearer <token>` (SPEC §10). */
  token?: string | null;
  /** Signed tokens (JWT), checked against the Backend's public keys; access by scope. Both may be set. */
  verifier?: TokenVerifier | null;
  /** The metrics `/metrics` serves; made here when not given (the CLI gives one its store reports into). */
  metrics?: RuntimeMetrics;
  /** One `debug` line per request; `warn` per 4xx and `error` per 5xx. Never tokens or input content. */
  logger?: RuntimeLogger;
  /** Interval of `: heartbeat` comments on the event stream; default 15000. */
  heartbeat_ms?: number;
  /** Events an SSE client may fall behind before it gets `event: overflow` and the stream ends. */
  sse_queue_limit?: number;
}

const SILENT: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };
const DEFAULT_HEARTBEAT_MS = 15_000;
const STRICT_JSON = "strictJson";

/** Error codes every authenticated route can answer with, whatever it does. */
const GUARDED = ["unauthorized", "forbidden_origin", "insufficient_scope", "internal"] as const satisfies readonly ErrorCode[];
/** Codes of every route that reads through the core: it may be closed, its store may fail. */
const READ = [...GUARDED, "runtime_unavailable", "store_io"] as const satisfies readonly ErrorCode[];
/** Codes of reading a JSON body (SPEC §10). */
const BODY = ["invalid_json", "invalid_request", "payload_too_large", "unsupported_media_type"] as const satisfies readonly ErrorCode[];
/** Codes of addressing one worker. */
const WORKER = ["invalid_worker_id", "worker_not_found", "store_corrupt"] as const satisfies readonly ErrorCode[];

const NO_BODY = Object.freeze({});
const emptyBody = (context: { body: unknown }) => {
  if (context.body === NO_BODY) context.body = undefined;
};

/** Per request: when it came in (`performance.now()`) and what the guard admitted. */
interface RequestState {
  since: number;
  admitted: Admitted | null;
}

/**
 * The HTTP API of SPEC §10 over a `Runtime`. Routes only map requests onto Runtime methods; the
 * guard (Origin refusal, bearer token) runs before routing, and every failure leaves through one
 * error handler as `{"error": {"code", "message", "details"?}}`.
 */
export function createApp(runtime: Runtime, options: CreateAppOptions = {}) {
  const logger = options.logger ?? SILENT;
  const logging = options.logger !== undefined;
  const guard = createGuard({ token: options.token, verifier: options.verifier });
  const metrics = options.metrics ?? createRuntimeMetrics();
  metrics.attach(runtime);
  const routeOf = routeMatcher();
  const heartbeat_ms = options.heartbeat_ms ?? DEFAULT_HEARTBEAT_MS;
  const queue_limit = options.sse_queue_limit;
  let methodsByPath: ((path: string) => string[] | null) | null = null;
  // Hooks and handlers read the finished route table through this, set once the chain is built.
  const self: { app?: { routes: readonly RouteDeclaration[] } } = {};

  // Keyed by the request, not stored on Elysia's context: hooks destructure only what they use,
  // which lets Elysia skip preparing the rest (headers, query, cookies) on every request.
  const requests = new WeakMap<Request, RequestState>();
  const grantOf = (request: Request): Grant => requests.get(request)?.admitted?.grant ?? FULL_GRANT;
  /** The worker filter of a request's token, or null when it sees every worker. */
  const workerFilter = (request: Request): ((worker_id: string | undefined) => boolean) | null => {
    const grant = grantOf(request);
    if (grant.kind === "full" || grant.worker_ids === null) return null;
    return (worker_id) => worker_id !== undefined && grantsWorker(grant, worker_id);
  };

  /**
   * The one `debug` line of a request (SPEC §11). Written synchronously where the response is
   * made — by `handleError` for a failure, else by the `mapResponse` hook — not from an
   * after-response hook, which costs every request a scheduled task and keeps its context alive
   * until then; `ms` is the time to the response, before it is written out. Elysia also runs
   * `mapResponse` hooks on a route's error response, after `handleError`: the first call takes
   * the request's entry, so a request is logged once.
   */
  const logRequest = (request: Request, path: string, status: number): void => {
    const state = requests.get(request);
    if (state === undefined || state.since < 0) return;
    const since = state.since;
    state.since = -1;
    const route = state.admitted?.route ?? routeOf(request.method, path);
    requestLine(request.method, path, route === null ? null : route.key, status, since);
  };
  /** The request's log line and metrics; `route` is the table's `METHOD /template` key. */
  const requestLine = (method: string, path: string, route: string | null, status: number, since: number): void => {
    const seconds = (performance.now() - since) / 1000;
    metrics.http.request(method, route === null ? "unmatched" : route.slice(route.indexOf(" ") + 1), status, seconds);
    if (logging) logger.debug("request", { method, path, status, ms: Math.round(seconds * 100_000) / 100 });
  };

  const handleError = (error: unknown, code: unknown, request: Request): Response => {
    const path = pathOf(request.url);
    let failure: RuntimeError;
    let headers: Record<string, string> | undefined;
    let cause: string | undefined;
    if (error instanceof RuntimeError) {
      failure = error;
      // RFC 6750: a 401 names the scheme it wants; a 403 for a scope names the scope.
      if (failure.code === "unauthorized") headers = { "www-authenticate": INVALID_TOKEN_CHALLENGE };
      else if (failure.code === "insufficient_scope") headers = { "www-authenticate": scopeChallenge(String(failure.details?.scope)) };
    } else if (code === "VALIDATION") {
      failure = validationFailure(error);
    } else if (code === "PARSE") {
      const parsed = (error as { cause?: unknown }).cause;
      failure = parsed instanceof RuntimeError ? parsed : new RuntimeError("invalid_json", "the request body is not valid JSON");
    } else if (code === "NOT_FOUND") {
      methodsByPath ??= allowedMethods(self.app!.routes);
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
    if (logging) {
      const fields: Record<string, unknown> = { method: request.method, path, status, code: failure.code, message: failure.message };
      if (cause !== undefined) fields.error = cause;
      if (status >= 500) logger.error("request failed", fields);
      else logger.warn("request failed", fields);
    }
    logRequest(request, path, status);
    return errorResponse(failure, headers);
  };

  // `standardHostname: false`: Elysia's default finds the path by searching for "/" from index 11,
  // assuming a host of at least 4 characters (`http://a.bc`); with `Host: x` or `Host: api` it cut
  // the path wrongly and existing routes answered 404/405.
  const app = new Elysia({ normalize: false, handler: { standardHostname: false } })
    // A parser that yields `undefined` makes Elysia re-read the (consumed) body with its own
    // parsers, so an empty body is reported as NO_BODY and turned back into `undefined` by
    // `emptyBody` before validation.
    .parser(STRICT_JSON, async ({ request }) => (await readJsonBody(request, runtime.limits.max_body_bytes)) ?? NO_BODY)
    // The one guard (auth.ts): Origin, credentials, the route's scope, the token's workers — before
    // routing and body parsing, so a refused request costs no more than its headers.
    .onRequest(async ({ request }) => {
      const state: RequestState = { since: performance.now(), admitted: null };
      requests.set(request, state);
      const admitted = guard(request, pathOf(request.url));
      state.admitted = admitted instanceof Promise ? await admitted : admitted;
    })
    // Typed `undefined`: a `Response` here would join every route's success type in Eden; the
    // routes declare their error schemas instead.
    .onError(({ error, code, request }) => handleError(error, code, request) as unknown as undefined)
    // Only with a logger. Runs for every answer a handler gives (after Elysia has unwrapped
    // `status(…)` into `set.status`; a returned Response, the event stream, has status 200);
    // returning nothing leaves the response to Elysia's own mapping.
    .mapResponse(({ request, set }) => void logRequest(request, pathOf(request.url), Number(set.status ?? 200)))
    .get("/healthz", () => ({ ok: true as const }), {
      response: { 200: HealthResponse, ...errorResponses(["forbidden_origin"]) },
      detail: { operationId: "health", summary: "Liveness check; needs no token and reveals nothing" },
    })
    .get(
      "/readyz",
      ({ status }) => {
        const readiness = runtime.readiness();
        return readiness.ready ? readiness : status(503, readiness);
      },
      {
        response: { 200: ReadinessResponse, 503: ReadinessResponse, ...errorResponses(["forbidden_origin"]) },
        detail: {
          operationId: "ready",
          summary: "Readiness: 200 when the runtime takes work, 503 with a cause while opening, closing or when its store cannot write",
        },
      },
    )
    .get(
      "/metrics",
      async () => new Response(await metrics.registry.exposition(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } }),
      {
        response: { 200: MetricsResponse, ...errorResponses([...GUARDED, "insufficient_scope"]) },
        detail: { operationId: "metrics", summary: "Prometheus metrics (text exposition 0.0.4)", tags: ["runtime"] },
      },
    )
    .get("/openapi.json", () => openApiDocument(self.app!), {
      response: { 200: OpenApiResponse, ...errorResponses(["unauthorized", "forbidden_origin", "insufficient_scope"]) },
      detail: { operationId: "openapi", summary: "This OpenAPI 3.1 document" },
    })
    .get("/v1/runtime", async () => ({ runtime: await runtime.summary() }), {
      response: { 200: RuntimeResponse, ...errorResponses(GUARDED) },
      detail: { operationId: "getRuntime", summary: "Runtime summary: identity, status, counts, limits, profiles", tags: ["runtime"] },
    })
    .get(
      "/v1/workers",
      async ({ query, request }) => {
        const page = await runtime.listWorkers({ status: query.status, limit: query.limit, after: query.after });
        // A token limited to some workers sees only those; the cursor still walks every worker.
        const visible = workerFilter(request);
        return visible === null ? page : { ...page, workers: page.workers.filter((worker) => visible(worker.worker_ref.worker_id)) };
      },
      {
        query: ListWorkersQuery,
        transform: strictQuery(ListWorkersQuery),
        response: { 200: WorkerListResponse, ...errorResponses([...READ, "invalid_request", "limit_too_large"]) },
        detail: { operationId: "listWorkers", summary: "List workers, optionally by status, paged by worker_id", tags: ["workers"] },
      },
    )
    // Every field of a create request is optional, and so is the body: no body is `{}`.
    .post(
      "/v1/workers",
      async ({ body, status, request }) => {
        const visible = workerFilter(request);
        if (visible !== null && !visible(body?.worker_id)) {
          throw new RuntimeError("insufficient_scope", "this token may only create the workers its worker_ids claim names (give worker_id)", {
            scope: "workers:write",
          });
        }
        return status(201, { worker: await runtime.createWorker(body ?? {}) });
      },
      {
      parse: STRICT_JSON,
      transform: emptyBody,
      body: Type.Optional(CreateWorkerRequest),
      response: {
        201: CreatedWorkerResponse,
        ...errorResponses([
          ...GUARDED,
          ...BODY,
          "unknown_profile",
          "worker_exists",
          "unsupported_capability",
          "worker_limit_reached",
          "store_io",
          "runtime_unavailable",
        ]),
      },
      detail: { operationId: "createWorker", summary: "Create a worker (SPEC §4); `{}` creates an assistant on the default profile", tags: ["workers"] },
      },
    )
    .get("/v1/workers/:worker_id", async ({ params }) => ({ worker: await runtime.getWorker(params.worker_id) }), {
      params: WorkerParams,
      response: { 200: WorkerResponse, ...errorResponses([...READ, "invalid_worker_id", "worker_not_found"]) },
      detail: { operationId: "getWorker", summary: "A worker's detail", tags: ["workers"] },
    })
    .delete("/v1/workers/:worker_id", async ({ params }) => runtime.deleteWorker(params.worker_id), {
      params: WorkerParams,
      response: {
        200: DeletedResponse,
        ...errorResponses([...GUARDED, "invalid_worker_id", "worker_not_found", "worker_busy", "store_io", "runtime_unavailable"]),
      },
      detail: { operationId: "deleteWorker", summary: "Delete a worker without an active run, with its data", tags: ["workers"] },
    })
    .post(
      "/v1/workers/:worker_id/input",
      async ({ params, body, query, status }) => {
        const ack = await runtime.sendInput(params.worker_id, body);
        if (query.wait === undefined || ack.run_id === null) return status(202, { ack });
        let run;
        try {
          run = await runtime.waitRun(params.worker_id, ack.run_id, query.wait * 1000);
        } catch (error) {
          // The input is stored and acknowledged; a worker deleted meanwhile only ends the wait.
          if (error instanceof RuntimeError) return status(202, { ack });
          throw error;
        }
        return run.status === "running" ? status(202, { ack }) : status(200, { ack, run });
      },
      {
        params: WorkerParams,
        query: InputQuery,
        transform: [strictQuery(InputQuery), emptyBody],
        parse: STRICT_JSON,
        body: InputRequest,
        response: {
          200: AckRunResponse,
          202: AcceptedResponse,
          ...errorResponses([
            ...GUARDED,
            ...BODY,
            ...WORKER,
            "worker_busy",
            "worker_stopped",
            "unknown_profile",
            "store_io",
            "runtime_unavailable",
          ]),
        },
        detail: {
          operationId: "sendInput",
          summary: "Send input; `user` input starts a run (202), `?wait=<s>` answers 200 with the run once it ended",
          tags: ["interaction"],
        },
      },
    )
    .post(
      "/v1/workers/:worker_id/stop",
      async ({ params, body }) => ({ ack: await runtime.stopWorker(params.worker_id, body?.reason) }),
      {
        params: WorkerParams,
        parse: STRICT_JSON,
        transform: emptyBody,
        body: Type.Optional(ReasonRequest),
        response: { 200: AckResponse, ...errorResponses([...GUARDED, ...BODY, ...WORKER, "store_io", "runtime_unavailable"]) },
        detail: { operationId: "stopWorker", summary: "Stop a worker (cancels its active run); repeated stop is a no-op", tags: ["lifecycle"] },
      },
    )
    .post(
      "/v1/workers/:worker_id/cancel",
      async ({ params, body }) => ({ ack: await runtime.cancelRun(params.worker_id, body?.reason) }),
      {
        params: WorkerParams,
        parse: STRICT_JSON,
        transform: emptyBody,
        body: Type.Optional(ReasonRequest),
        response: { 200: AckResponse, ...errorResponses([...GUARDED, ...BODY, ...WORKER, "store_io", "runtime_unavailable"]) },
        detail: {
          operationId: "cancelRun",
          summary: "Cancel the active run once its work stopped; cancelled_run_id is null when none was active",
          tags: ["lifecycle"],
        },
      },
    )
    .post("/v1/workers/:worker_id/restore", async ({ params }) => ({ ack: await runtime.restoreWorker(params.worker_id) }), {
      params: WorkerParams,
      parse: STRICT_JSON,
      transform: emptyBody,
      body: Type.Optional(EmptyBody),
      response: { 200: AckResponse, ...errorResponses([...GUARDED, ...BODY, ...WORKER, "store_io", "runtime_unavailable"]) },
      detail: { operationId: "restoreWorker", summary: "Move a stopped worker back to idle", tags: ["lifecycle"] },
    })
    .get(
      "/v1/workers/:worker_id/transcript",
      async ({ params, query }) => ({
        transcript: await runtime.transcript(params.worker_id, { start: query.start, limit: query.limit, tail: query.tail }),
      }),
      {
        params: WorkerParams,
        query: TranscriptQuery,
        transform: strictQuery(TranscriptQuery),
        response: { 200: TranscriptResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "limit_too_large"]) },
        detail: { operationId: "getTranscript", summary: "A page of the transcript (start/limit, or tail)", tags: ["observation"] },
      },
    )
    .get(
      "/v1/workers/:worker_id/runs",
      async ({ params, query }) => runtime.listRuns(params.worker_id, { limit: query.limit, after: query.after }),
      {
        params: WorkerParams,
        query: ListRunsQuery,
        transform: strictQuery(ListRunsQuery),
        response: { 200: RunListResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "limit_too_large"]) },
        detail: { operationId: "listRuns", summary: "A page of the worker's runs", tags: ["observation"] },
      },
    )
    .get(
      "/v1/workers/:worker_id/runs/:run_id",
      async ({ params, query }) => ({
        run:
          query.wait === undefined
            ? await runtime.getRun(params.worker_id, params.run_id)
            : await runtime.waitRun(params.worker_id, params.run_id, query.wait * 1000),
      }),
      {
        params: RunParams,
        query: RunQuery,
        transform: strictQuery(RunQuery),
        response: { 200: RunResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "run_not_found"]) },
        detail: { operationId: "getRun", summary: "A run; `?wait=<s>` waits for it to end first", tags: ["observation"] },
      },
    )
    .get(
      "/v1/events",
      async ({ query, request }) => {
        const batch = await runtime.readEvents({ after: query.after, worker_id: query.worker_id }, query.limit);
        // Filtered after reading: `next_after` still moves past what this token may not see.
        const visible = workerFilter(request);
        return { events: visible === null ? batch : { ...batch, events: batch.events.filter((event) => visible(event.worker_ref?.worker_id)) } };
      },
      {
        query: EventsQuery,
        transform: strictQuery(EventsQuery),
        response: {
          200: EventsResponse,
          ...errorResponses([...READ, "invalid_request", "invalid_worker_id", "limit_too_large", "cursor_expired"]),
        },
        detail: { operationId: "listEvents", summary: "Poll stored events after a cursor (SPEC §6.2)", tags: ["observation"] },
      },
    )
    .get(
      "/v1/events/stream",
      ({ query, headers, request }) => {
        const resume = headers["last-event-id"];
        const after = resume !== undefined ? Number(resume) : query.after;
        // HEAD must not open a subscription that no one would ever read or cancel.
        if (request.method === "HEAD") return new Response(null, { status: 200, headers: SSE_HEADERS });
        const subscription = runtime.subscribe({ after, worker_id: query.worker_id, queue_limit, signal: request.signal });
        const grant = grantOf(request);
        const visible = workerFilter(request);
        metrics.http.sseOpened();
        return eventStreamResponse(subscription, {
          heartbeat_ms,
          signal: request.signal,
          logger,
          expires_at: grant.kind === "token" ? grant.expires_at : undefined,
          filter: visible === null ? undefined : (event) => visible(event.worker_ref?.worker_id),
          onClose: (dropped) => metrics.http.sseClosed(dropped),
        });
      },
      {
        query: StreamQuery,
        headers: StreamHeaders,
        transform: strictQuery(StreamQuery),
        response: {
          200: EventStreamResponse,
          ...errorResponses([...GUARDED, "invalid_request", "invalid_worker_id", "cursor_expired", "runtime_unavailable"]),
        },
        detail: {
          operationId: "streamEvents",
          summary: "Follow events live as Server-Sent Events, resumable with Last-Event-ID or ?after=",
          tags: ["observation"],
        },
      },
    )
    .get(
      "/v1/diagnostics",
      async ({ request }) => {
        const diagnostics = await runtime.diagnostics();
        const visible = workerFilter(request);
        return { diagnostics: visible === null ? diagnostics : diagnostics.filter((item) => visible(item.worker_ref?.worker_id)) };
      },
      {
      response: { 200: DiagnosticsResponse, ...errorResponses(READ) },
      detail: { operationId: "listDiagnostics", summary: "Recent diagnostics (warnings and errors the runtime recorded)", tags: ["runtime"] },
      },
    );

  self.app = app;
  // Built before the first request: Elysia rewrites route schemas as it compiles each route on
  // first use, and the document must not depend on which routes were called already.
  openApiDocument(app);

  // The hot reads skip Elysia when they can (see hot-reads.ts); `app.handle` calls `app.fetch`
  // too, so both go this way. The same guard admits them; a request it refuses at once is left
  // to Elysia's onRequest, which answers it as for any route. A signed token seen for the first
  // time is verified once here (not again by Elysia).
  const hot = hotReads(runtime);
  const elysiaFetch = app.fetch;
  const serveHot = (request: Request, match: HotRead, admitted: Admitted, since: number): Response | Promise<Response> => {
    let pending: Promise<unknown>;
    try {
      pending = match.read();
    } catch {
      return elysiaFetch(request);
    }
    return pending.then(
      (value) => {
        const response = Response.json(match.envelope(value as never));
        requestLine("GET", match.path, admitted.route === null ? null : admitted.route.key, 200, since);
        return response;
      },
      () => elysiaFetch(request),
    );
  };
  Object.defineProperty(app, "fetch", {
    configurable: true,
    writable: true,
    value: (request: Request): Response | Promise<Response> => {
      const match = hot(request);
      if (match === undefined) return elysiaFetch(request);
      const since = performance.now();
      let admitted: Admitted | Promise<Admitted>;
      try {
        admitted = guard(request, match.path);
      } catch {
        return elysiaFetch(request);
      }
      if (!(admitted instanceof Promise)) return serveHot(request, match, admitted, since);
      return admitted.then(
        (verified) => serveHot(request, match, verified, since),
        (error) => {
          requests.set(request, { since, admitted: null });
          return handleError(error, undefined, request);
        },
      );
    },
  });
  return app;
}

/** The Elysia app over a Runtime; `treaty<App>(url)` from `@elysiajs/eden` gives a typed client. */
export type App = ReturnType<typeof createApp>;

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

const documents = new WeakMap<object, Record<string, unknown>>();

/**
 * The OpenAPI 3.1 document of an app, generated from its route schemas without serving a request
 * (the CLI's `openapi` command prints it). Built once per app.
 */
export function openApiDocument(app: { routes: readonly RouteDeclaration[] }): Record<string, unknown> {
  let document = documents.get(app);
  if (!document) {
    const built = buildOpenApiDocument(
      app.routes,
      {
        title: "yoi-runtime",
        version: VERSION,
        description:
          "REST command API of a yoi-runtime: the environment that runs agent workers on one host. " +
          "Every failure answers {\"error\": {\"code\", \"message\", \"details\"?}}. When the runtime is started " +
          "with a token or signing keys, every route but /healthz and /readyz needs `Authorization: Bearer <token>` " +
          "(each operation's `security` names the scope a signed token needs); requests with an " +
          "Origin header are refused (403 forbidden_origin) and no CORS headers are ever sent.",
      },
      [ErrorBody],
    );
    // A deep copy, so nothing Elysia does to the live schemas later shows in the document.
    document = structuredClone(built);
    applyRouteSecurity(document);
    documents.set(app, document);
  }
  return document;
}
