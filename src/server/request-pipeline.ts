import { Elysia } from "elysia";
import type { RuntimeLogger } from "../core/runtime.ts";
import { requestGuard } from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import type { RouteDeclaration } from "./openapi.ts";
import { requestLog } from "./request-log.ts";
import { pathOf } from "./url-path.ts";

export interface PipelineOptions {
  token: string | null | undefined;
  logger: RuntimeLogger | null;
  /** The app's finished route table (for 405 `Allow`). */
  routes: () => readonly RouteDeclaration[];
}

/**
 * What every request goes through around its route, as global hooks of the app that `.use()`s
 * this before its routes: the guard (Origin refusal, bearer token) before routing, one error
 * handler for every failure, and with a logger the one request line.
 */
export function requestPipeline({ token, logger, routes }: PipelineOptions) {
  const guard = requestGuard(token);
  const log = logger ? requestLog(logger) : null;
  const handleError = errorHandler(routes, logger, log);
  return (
    new Elysia()
      .onRequest(({ request }) => {
        log?.start(request);
        guard(request);
      })
      // Typed `undefined`: a `Response` here would join every route's success type in Eden; the
      // routes declare their error schemas instead.
      .onError({ as: "global" }, ({ error, code, request }) => handleError(error, code, request) as unknown as undefined)
      // Only with a logger. Runs for every answer a handler gives (after Elysia has unwrapped
      // `status(…)` into `set.status`; a returned Response, the event stream, has status 200);
      // returning nothing leaves the response to Elysia's own mapping.
      .mapResponse({ as: "global" }, log ? ({ request, set }) => void log.finish(request, pathOf(request.url), Number(set.status ?? 200)) : [])
  );
}
