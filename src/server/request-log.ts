import type { RuntimeLogger } from "../core/runtime.ts";
import type { HttpMetrics } from "./metrics/runtime-metrics.ts";
import { routeMatcher } from "./scopes.ts";

/**
 * What is recorded of every request: the one `debug` line (SPEC §11, with a logger) and the
 * HTTP metrics by route template (with metrics). `start` when it comes in, `finish` where its
 * response is made — by the error handler for a failure, else by the `mapResponse` hook — not
 * from an after-response hook, which costs every request a scheduled task and keeps its context
 * alive until then; the time is to the response, before it is written out. Elysia also runs
 * `mapResponse` hooks on a route's error response, after the error handler: the first `finish`
 * takes the request's entry, so a request is recorded once.
 */
export interface RequestLog {
  /** `since`: when the request came in, if not now (`performance.now()`). */
  start(request: Request, since?: number): void;
  finish(request: Request, path: string, status: number): void;
  /**
   * For an answer made without `start`/`finish` bookkeeping (a hot read): `since` is its
   * `performance.now()`, `route` its `METHOD /template` key when known.
   */
  line(method: string, path: string, status: number, since: number, route?: string | null): void;
}

export function requestLog(logger: RuntimeLogger | null, metrics: HttpMetrics | null): RequestLog {
  // Keyed by the request, not stored on Elysia's context: hooks destructure only what they use,
  // which lets Elysia skip preparing the rest (headers, query, cookies) on every request.
  const started = new WeakMap<Request, number>();
  const routeOf = routeMatcher();
  // `METHOD /template` → `/template`, cut once per route rather than per request.
  const labels = new Map<string, string>();
  const labelOf = (key: string): string => {
    let label = labels.get(key);
    if (label === undefined) labels.set(key, (label = key.slice(key.indexOf(" ") + 1)));
    return label;
  };
  const line = (method: string, path: string, status: number, since: number, route?: string | null): void => {
    const ms = performance.now() - since;
    if (metrics) {
      // Labelled by template, never by raw path: ids would make the series unbounded.
      const key = route === undefined ? (routeOf(method, path)?.key ?? null) : route;
      metrics.request(method, key === null ? "unmatched" : labelOf(key), status, ms / 1000);
    }
    logger?.debug("request", { method, path, status, ms: Math.round(ms * 100) / 100 });
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
