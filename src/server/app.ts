import { Elysia } from "elysia";
import { SILENT_LOGGER } from "../core/ports/logger.ts";
import type { Runtime, RuntimeLogger } from "../core/runtime.ts";
import { VERSION } from "../version.ts";
import { RequestGrants } from "./auth.ts";
import { ErrorBody } from "./error-body.ts";
import { createRuntimeMetrics, type RuntimeMetrics } from "./metrics/runtime-metrics.ts";
import { applyRouteSecurity } from "./openapi-security.ts";
import { buildOpenApiDocument, declaredOpenObjects, type RouteDeclaration } from "./openapi.ts";
import { requestPipeline } from "./request-pipeline.ts";
import { eventRoutes } from "./routes/events.ts";
import { lifecycleRoutes } from "./routes/lifecycle.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { runRoutes } from "./routes/runs.ts";
import { runtimeRoutes } from "./routes/runtime.ts";
import { workerRoutes } from "./routes/workers.ts";
import type { TokenVerifier } from "./token-verifier.ts";

export interface CreateAppOptions {
  /** With a token every route but `/healthz` and `/readyz` requires `Authorization: Bearer <token>` (SPEC §10). */
  token?: string | null;
  /** Signed tokens (JWT), checked against the Backend's public keys; access by scope. Both may be set. */
  verifier?: TokenVerifier | null;
  /** The metrics `/metrics` serves; made here when not given (the CLI gives one its store reports into). */
  metrics?: RuntimeMetrics;
  /** One `debug` line per request, another per 4xx, `error` per 5xx. Never tokens or input content. */
  logger?: RuntimeLogger;
  /** Interval of `: heartbeat` comments on the event stream; default 15000. */
  heartbeat_ms?: number;
  /** Events an SSE client may fall behind before it gets `event: overflow` and the stream ends. */
  sse_queue_limit?: number;
}

const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * The HTTP API of SPEC §10 over a `Runtime`: the request pipeline (guard, error handling, request
 * log), then the routes by resource. Routes only map requests onto Runtime methods; every
 * failure leaves through the pipeline's one error handler as `{"error": {"code", "message", "details"?}}`.
 */
export function createApp(runtime: Runtime, options: CreateAppOptions = {}) {
  // The hooks and the document read the finished route table through this, set once built.
  const self: { app?: { routes: readonly RouteDeclaration[]; handle(request: Request): Promise<Response> } } = {};
  const routes = () => self.app!.routes;
  const metrics = options.metrics ?? createRuntimeMetrics();
  metrics.attach(runtime);
  const grants = new RequestGrants();
  const logger = options.logger ?? null;
  const pipeline = requestPipeline({
    runtime,
    token: options.token,
    verifier: options.verifier,
    logger,
    metrics: metrics.http,
    grants,
    routes,
    dispatch: (request) => self.app!.handle(request),
    route: (request) => elysiaFetch!(request),
  });
  // Elysia's own handler, taken once the routes are in (below); the front door wraps it.
  let elysiaFetch: ((request: Request) => Response | Promise<Response>) | undefined;
  // `standardHostname: false`: Elysia's default finds the path by searching for "/" from index 11,
  // assuming a host of at least 4 characters (`http://a.bc`); with `Host: x` or `Host: api` it cut
  // the path wrongly and existing routes answered 404/405.
  const app = new Elysia({ normalize: false, handler: { standardHostname: false } })
    .use(pipeline.hooks)
    .use(runtimeRoutes(runtime, () => openApiDocument(self.app!), grants))
    .use(metricsRoutes(metrics.registry))
    .use(workerRoutes(runtime, grants))
    .use(lifecycleRoutes(runtime, grants))
    .use(runRoutes(runtime, grants))
    .use(
      eventRoutes(runtime, {
        heartbeat_ms: options.heartbeat_ms ?? DEFAULT_HEARTBEAT_MS,
        queue_limit: options.sse_queue_limit,
        logger: options.logger ?? SILENT_LOGGER,
        grants,
        metrics: metrics.http,
      }),
    );
  self.app = app;
  // The hot reads and the plain input are answered before Elysia (request-pipeline.ts).
  // `app.handle` calls `app.fetch`, so the server and `app.handle(request)` both go this way.
  elysiaFetch = app.fetch;
  const routed = elysiaFetch;
  Object.defineProperty(app, "fetch", {
    configurable: true,
    writable: true,
    value: (request: Request): Response | Promise<Response> => pipeline.front(request) ?? routed(request),
  });
  // The document is built on the first GET /openapi.json (or openApiDocument()), not here: start-up
  // builds only what /healthz needs. What Elysia adds to the schemas meanwhile is left out of it.
  declaredOpen.set(app, declaredOpenObjects(app.routes));
  return app;
}

/** The Elysia app over a Runtime; `treaty<App>(url)` from `@elysiajs/eden` gives a typed client. */
export type App = ReturnType<typeof createApp>;

const documents = new WeakMap<object, Record<string, unknown>>();
/** Per app: its object schemas without `additionalProperties` as declared (see declaredOpenObjects). */
const declaredOpen = new WeakMap<object, Set<object>>();

/**
 * The OpenAPI 3.1 document of an app, generated from its route schemas without serving a request
 * (the CLI's `openapi` command prints it). Built once per app, on first use.
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
      declaredOpen.get(app),
    );
    // A deep copy, so nothing Elysia does to the live schemas later shows in the document.
    document = structuredClone(built);
    applyRouteSecurity(document);
    documents.set(app, document);
  }
  return document;
}
