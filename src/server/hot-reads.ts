import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { isValidId } from "../core/ids.ts";
import type { Runtime } from "../core/runtime.ts";
import { TranscriptQuery } from "./http-schema.ts";
import { ROUTE_SCOPES, type MatchedRoute } from "./scopes.ts";

/** A hot read matched: its path (for the request log), its route, the core call, and the body's envelope. */
export interface HotRead {
  path: string;
  /** What the guard would have matched: the route of the scope table and the worker it names. */
  route: MatchedRoute;
  read: () => Promise<unknown>;
  envelope: (value: never) => object;
}

const runtimeEnvelope = (runtime: unknown) => ({ runtime });
const HEALTHY = { ok: true } as const;
const healthy = () => Promise.resolve(HEALTHY);
const asIs = (value: object) => value;
const workerEnvelope = (worker: unknown) => ({ worker });
const transcriptEnvelope = (transcript: unknown) => ({ transcript });
const HEALTHZ_ROUTE: MatchedRoute = { key: "GET /healthz", scope: ROUTE_SCOPES["GET /healthz"], worker_id: null };
const RUNTIME_ROUTE: MatchedRoute = { key: "GET /v1/runtime", scope: ROUTE_SCOPES["GET /v1/runtime"], worker_id: null };
const workerRoute = (worker_id: string): MatchedRoute => ({ key: "GET /v1/workers/:worker_id", scope: ROUTE_SCOPES["GET /v1/workers/:worker_id"], worker_id });
const transcriptRoute = (worker_id: string): MatchedRoute => ({
  key: "GET /v1/workers/:worker_id/transcript",
  scope: ROUTE_SCOPES["GET /v1/workers/:worker_id/transcript"],
  worker_id,
});

/**
 * The three reads a Backend polls — `GET /v1/workers/:worker_id`, `GET /v1/runtime` and
 * `GET /v1/workers/:worker_id/transcript` — and the liveness probe `GET /healthz`, matched in the
 * request pipeline's front door before Elysia (or, for a request that reaches the hooks, right
 * after the guard): going through the route (router, context, handler wrapper, response mapping)
 * costs these small answers about a quarter of their server CPU time per request. The
 * returned function matches a request and gives back the read to run; the pipeline answers
 * `Response.json(envelope(value))`, which is how the route answers too (status 200, no other
 * headers), and hands a failed read to the one error handler, as the route would. Only the plain
 * case is matched: the path spelled exactly as the route declares it with a valid id and nothing
 * to decode, the query (transcript only) `name=digits` pairs that the route's own schema accepts.
 * Everything else — HEAD, a trailing slash, percent-encoding, an unknown or repeated query
 * parameter — returns `undefined` and goes on to the route, which validates and answers it. The
 * routes keep their schemas for OpenAPI and Eden.
 */
export function hotReads(runtime: Runtime): (request: Request) => HotRead | undefined {
  // Compiled on the first transcript read, not at start (start-up builds only what /healthz needs).
  let transcriptQuery: TypeCheck<typeof TranscriptQuery> | undefined;

  return (request) => {
    if (request.method !== "GET") return undefined;
    const url = request.url;
    const scheme = url.indexOf("://");
    if (scheme < 0) return undefined;
    const start = url.indexOf("/", scheme + 3);
    if (start < 0 || url.includes("#", start)) return undefined;
    const mark = url.indexOf("?", start);
    const path = mark < 0 ? url.slice(start) : url.slice(start, mark);

    // The liveness probe: answered before any route is built, so a starting runtime's first
    // /healthz does not wait for Elysia to compile the route (and its response validator).
    if (path === "/healthz") {
      if (mark >= 0) return undefined;
      return { path, route: HEALTHZ_ROUTE, read: healthy, envelope: asIs };
    }
    if (path === "/v1/runtime") {
      if (mark >= 0) return undefined;
      return { path, route: RUNTIME_ROUTE, read: () => runtime.summary(), envelope: runtimeEnvelope };
    }
    if (!path.startsWith("/v1/workers/")) return undefined;
    const slash = path.indexOf("/", 12);
    const id = slash < 0 ? path.slice(12) : path.slice(12, slash);
    if (!isValidId(id)) return undefined;
    if (slash < 0) {
      if (mark >= 0) return undefined;
      return { path, route: workerRoute(id), read: () => runtime.getWorker(id), envelope: workerEnvelope };
    }
    if (path.length !== slash + 11 || !path.endsWith("/transcript")) return undefined;
    const query = mark < 0 ? Object.create(null) : plainIntegerQuery(url.slice(mark + 1));
    if (query === null || !(transcriptQuery ??= TypeCompiler.Compile(TranscriptQuery)).Check(query)) return undefined;
    const { start: first, limit, tail } = query;
    return {
      path,
      route: transcriptRoute(id),
      read: () => runtime.transcript(id, { start: first, limit, tail }),
      envelope: transcriptEnvelope,
    };
  };
}

/**
 * `a=1&b=2` as `{a: 1, b: 2}` (what strictQuery makes of it), or null for anything else: an
 * empty pair, a name given twice, a name not in `[a-z_]`, a value that is not plain decimal
 * digits (no leading zero, at most 16 digits), anything that would need decoding (`%`, `+`).
 * Scanned by character: a regex and a split per request cost the transcript read measurably.
 */
function plainIntegerQuery(search: string): Record<string, number> | null {
  const query: Record<string, number> = Object.create(null);
  let at = 0;
  const end = search.length;
  if (end === 0) return query;
  for (;;) {
    const nameStart = at;
    let code = search.charCodeAt(at);
    while ((code >= 97 && code <= 122) || code === 95) code = search.charCodeAt(++at);
    if (at === nameStart || code !== 61) return null;
    const name = search.slice(nameStart, at);
    const digitsStart = ++at;
    code = search.charCodeAt(at);
    while (code >= 48 && code <= 57) code = search.charCodeAt(++at);
    const digits = at - digitsStart;
    if (digits === 0 || digits > 16 || (digits > 1 && search.charCodeAt(digitsStart) === 48)) return null;
    if (Object.hasOwn(query, name)) return null;
    query[name] = Number(search.slice(digitsStart, at));
    if (at === end) return query;
    if (code !== 38) return null;
    at++;
  }
}
