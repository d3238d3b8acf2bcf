/**
 * `yoi-runtime/server`: the Elysia HTTP API over a Runtime (SPEC §10). The library entry
 * (`yoi-runtime`) never imports this module, so embedding the core does not load Elysia.
 */
export { createApp, openApiDocument, type App, type CreateAppOptions } from "./app.ts";
export { HTTP_STATUS, httpStatusOf } from "./error-status.ts";
export { ErrorBody } from "./error-body.ts";
export { SSE_HEADERS } from "./sse.ts";
export { isLongLived } from "./long-lived.ts";
export { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from "./token-verifier.ts";
export { KeySet, KeySetError, parseKeySet } from "./key-set.ts";
export { ROUTE_SCOPES, SCOPES, type Scope, type Grant } from "./scopes.ts";
export { createRuntimeMetrics, type RuntimeMetrics } from "./metrics/runtime-metrics.ts";
