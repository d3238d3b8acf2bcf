import { listenFailure, urlOf, type FetchHandler, type ListenOptions, type Listener } from "./listener.ts";

/**
 * Seconds a connection may stay silent. Bun's default (10 s) would cut long-lived requests, which
 * get no timeout at all instead (`server.timeout(request, 0)`); everything else keeps one, so an
 * idle keep-alive connection does not hold resources forever.
 */
const IDLE_TIMEOUT_S = 60;

export async function listenBun(fetch: FetchHandler, options: ListenOptions): Promise<Listener> {
  const isLongLived = options.isLongLived;
  let server: ReturnType<typeof Bun.serve>;
  // Bun gives a request without a usable Host header (HTTP/1.0 without one, `Host: a/b`) a URL of
  // only its path ("/v1/workers/w"); the router and every URL reader expect an absolute URL, and
  // mis-cut such a path (every longer route answered 404). The bound address stands in for the host.
  // A fragment is no part of a request target (RFC 9110 §7.1), yet Bun keeps a raw one in the URL,
  // where the router saw another path than everything else (`GET /healthz#x` → 405): it is dropped.
  let origin = "";
  const absolute = (request: Request): Request => {
    const url = request.url;
    const hash = url.indexOf("#");
    if (url.charCodeAt(0) !== 47 && hash < 0) return request;
    const target = hash < 0 ? url : url.slice(0, hash);
    return new Request(target.charCodeAt(0) === 47 ? origin + target : target, request);
  };
  try {
    server = Bun.serve({
      hostname: options.hostname,
      port: options.port,
      idleTimeout: IDLE_TIMEOUT_S,
      // Bun answers a throwing handler with its own error page; the app has its own error
      // handling, so this only runs for failures outside it and must not leak details either.
      error: () => new Response(JSON.stringify({ error: { code: "internal", message: "internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      }),
      fetch: isLongLived
        ? (request, self) => {
            const target = absolute(request);
            if (isLongLived(target)) self.timeout(request, 0);
            return fetch(target);
          }
        : (request) => fetch(absolute(request)),
    });
  } catch (error) {
    throw listenFailure(options.hostname, options.port, error);
  }
  const port = server.port ?? options.port;
  origin = urlOf(options.hostname, port);
  return {
    url: urlOf(options.hostname, port),
    hostname: options.hostname,
    port,
    stop: (force = false) => server.stop(force),
  };
}
