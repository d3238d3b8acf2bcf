import { Elysia } from "elysia";
import type { HookContainer } from "elysia/types";
import type { Runtime, RuntimeLogger } from "../core/runtime.ts";
import { requestGuard } from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import { hotReads } from "./hot-reads.ts";
import type { RouteDeclaration } from "./openapi.ts";
import { requestLog } from "./request-log.ts";
import { pathOf } from "./url-path.ts";

export interface PipelineOptions {
  runtime: Runtime;
  token: string | null | undefined;
  logger: RuntimeLogger | null;
  /** The app's finished route table (for 405 `Allow`). */
  routes: () => readonly RouteDeclaration[];
}

type RequestHook = (context: { request: Request }) => Promise<Response> | undefined;

/**
 * What every request goes through around its route, as global hooks of the app that `.use()`s
 * this before its routes: the guard (Origin refusal, bearer token), then the hot reads, before
 * routing; one error handler for every failure; with a logger, the one request line.
 */
export function requestPipeline({ runtime, token, logger, routes }: PipelineOptions) {
  const guard = requestGuard(token);
  const hot = hotReads(runtime);
  const log = logger ? requestLog(logger) : null;
  const handleError = errorHandler(routes, logger, log);

  const onRequest: RequestHook = ({ request }) => {
    const refusal = guard(request);
    const match = refusal === undefined ? hot(request) : undefined;
    if (match === undefined) {
      log?.start(request);
      if (refusal) throw refusal;
      return undefined;
    }
    // A hot read keeps its start to itself: the request-keyed bookkeeping costs it measurably.
    const since = log ? performance.now() : 0;
    return match.read().then(
      (value) => {
        log?.line("GET", match.path, 200, since);
        return Response.json(match.envelope(value as never));
      },
      (error: unknown) => {
        log?.start(request, since);
        return handleError(error, undefined, request);
      },
    );
  };
  // Declared synchronous with a return value: left to guess from the source, Elysia takes this
  // hook for async and makes every request await it.
  const requestHook: HookContainer<RequestHook> = { fn: onRequest, isAsync: false, hasReturn: true };

  return (
    new Elysia()
      // `on` is typed for bare functions, but takes Elysia's hook containers too.
      .on("request", requestHook as never)
      // Typed `undefined`: a `Response` here would join every route's success type in Eden; the
      // routes declare their error schemas instead.
      .onError({ as: "global" }, ({ error, code, request }) => handleError(error, code, request) as unknown as undefined)
      // Only with a logger. Runs for every answer a handler gives (after Elysia has unwrapped
      // `status(…)` into `set.status`; a returned Response, the event stream, has status 200);
      // returning nothing leaves the response to Elysia's own mapping.
      .mapResponse({ as: "global" }, log ? ({ request, set }) => void log.finish(request, pathOf(request.url), Number(set.status ?? 200)) : [])
  );
}
