import type { RuntimeLogger } from "../core/runtime.ts";

/**
 * The one `debug` line per request (SPEC §11): `start` when it comes in, `finish` where its
 * response is made — by the error handler for a failure, else by the `mapResponse` hook — not
 * from an after-response hook, which costs every request a scheduled task and keeps its context
 * alive until then; `ms` is the time to the response, before it is written out. Elysia also runs
 * `mapResponse` hooks on a route's error response, after the error handler: the first `finish`
 * takes the request's entry, so a request is logged once.
 */
export interface RequestLog {
  /** `since`: when the request came in, if not now (`performance.now()`). */
  start(request: Request, since?: number): void;
  finish(request: Request, path: string, status: number): void;
  /** For an answer made without `start`/`finish` bookkeeping: `since` is its `performance.now()`. */
  line(method: string, path: string, status: number, since: number): void;
}

export function requestLog(logger: RuntimeLogger): RequestLog {
  // Keyed by the request, not stored on Elysia's context: hooks destructure only what they use,
  // which lets Elysia skip preparing the rest (headers, query, cookies) on every request.
  const started = new WeakMap<Request, number>();
  const line = (method: string, path: string, status: number, since: number): void => {
    logger.debug("request", { method, path, status, ms: Math.round((performance.now() - since) * 100) / 100 });
  };
  return {
    start: (request, since = performance.now()) => void started.set(request, since),
    finish(request, path, status) {
      const since = started.get(request);
      if (since === undefined) return;
      started.delete(request);
      line(request.method, path, status, since);
    },
    line,
  };
}
