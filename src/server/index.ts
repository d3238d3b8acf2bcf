/**
 * `yoi-runtime/server`: the Elysia HTTP API over a Runtime (SPEC §10). The library entry
 * (`yoi-runtime`) never imports this module, so embedding the core does not load Elysia.
 */
export { createApp, openApiDocument, type App, type CreateAppOptions } from "./app.ts";
export { HTTP_STATUS, httpStatusOf } from "./error-status.ts";
export { ErrorBody } from "./error-body.ts";
export { SSE_HEADERS } from "./sse.ts";
export { isLongLived } from "./long-lived.ts";
