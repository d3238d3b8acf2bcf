/**
 * The scopes a signed token can carry (space-separated in its `scope` claim) and the ONE table
 * that names which scope each route needs. The guard, the OpenAPI document and the tests all read
 * this table; a route missing from it is a test failure, not a silently open route.
 */
export const SCOPES = ["runtime:read", "workers:read", "workers:write", "runs:write", "events:read", "metrics:read"] as const;
export type Scope = (typeof SCOPES)[number];

const KNOWN = new Set<string>(SCOPES);
export const isScope = (value: string): value is Scope => KNOWN.has(value);

/** `null`: the route needs no credentials at all (liveness and readiness reveal nothing). */
export type RouteScope = Scope | null;

/** `METHOD /path/:param` → the scope it needs. HEAD is answered as GET and needs the same. */
export const ROUTE_SCOPES = {
  "GET /healthz": null,
  "GET /readyz": null,
  "GET /openapi.json": "runtime:read",
  "GET /metrics": "metrics:read",
  "GET /v1/runtime": "runtime:read",
  "GET /v1/diagnostics": "runtime:read",
  "GET /v1/workers": "workers:read",
  "GET /v1/workers/:worker_id": "workers:read",
  "GET /v1/workers/:worker_id/transcript": "workers:read",
  "GET /v1/workers/:worker_id/runs": "workers:read",
  "GET /v1/workers/:worker_id/runs/:run_id": "workers:read",
  "POST /v1/workers": "workers:write",
  "DELETE /v1/workers/:worker_id": "workers:write",
  "POST /v1/workers/:worker_id/stop": "workers:write",
  "POST /v1/workers/:worker_id/restore": "workers:write",
  "POST /v1/workers/:worker_id/input": "runs:write",
  "POST /v1/workers/:worker_id/cancel": "runs:write",
  "POST /v1/workers/:worker_id/runs/:run_id/permission": "runs:write",
  "GET /v1/events": "events:read",
  "GET /v1/events/stream": "events:read",
} as const satisfies Record<string, RouteScope>;

export type RouteKey = keyof typeof ROUTE_SCOPES;

/** A request matched against the table: its route and, for per-worker routes, the worker it names. */
export interface MatchedRoute {
  key: RouteKey;
  scope: RouteScope;
  /** The raw (still URL-encoded) `:worker_id` segment, when the route has one. */
  worker_id: string | null;
}

interface CompiledRoute {
  method: string;
  /** Path segments; `null` for a parameter. */
  segments: (string | null)[];
  /** Index of the `:worker_id` segment, or -1. */
  worker_at: number;
  route: MatchedRoute;
}

/**
 * Matches `method` + path (no query, no trailing slash handling beyond one `/`) against the
 * table, without allocating per candidate: the path is split once and compared segment by
 * segment. Answers null for a path no route serves (the router then answers 404/405).
 */
export function routeMatcher(table: Record<string, RouteScope> = ROUTE_SCOPES): (method: string, path: string) => MatchedRoute | null {
  const bySegments = new Map<number, CompiledRoute[]>();
  for (const [key, scope] of Object.entries(table)) {
    const [method, template] = key.split(" ") as [string, string];
    const segments = template.split("/").slice(1).map((part) => (part.startsWith(":") ? null : part));
    const worker_at = template.split("/").slice(1).indexOf(":worker_id");
    const compiled: CompiledRoute = { method, segments, worker_at, route: { key: key as RouteKey, scope, worker_id: null } };
    const list = bySegments.get(segments.length) ?? [];
    list.push(compiled);
    bySegments.set(segments.length, list);
  }
  // Called for every request (the guard, the request log): the path is walked in place, with no
  // split arrays; only a per-worker route allocates its match.
  return (method, path) => {
    const end = path.length > 1 && path.charCodeAt(path.length - 1) === SLASH ? path.length - 1 : path.length;
    let count = 1;
    for (let i = 1; i < end; i++) if (path.charCodeAt(i) === SLASH) count++;
    const candidates = bySegments.get(count);
    if (!candidates) return null;
    const asMethod = method === "HEAD" ? "GET" : method;
    for (const candidate of candidates) {
      if (candidate.method !== asMethod) continue;
      let from = 1;
      let workerFrom = 0;
      let workerTo = 0;
      let matches = true;
      for (let i = 0; i < count; i++) {
        let to = path.indexOf("/", from);
        if (to < 0 || to > end) to = end;
        const expected = candidate.segments[i];
        if (expected === null ? to === from : to - from !== expected!.length || !path.startsWith(expected!, from)) {
          matches = false;
          break;
        }
        if (i === candidate.worker_at) {
          workerFrom = from;
          workerTo = to;
        }
        from = to + 1;
      }
      if (!matches) continue;
      if (candidate.worker_at < 0) return candidate.route;
      return { ...candidate.route, worker_id: path.slice(workerFrom, workerTo) };
    }
    return null;
  };
}

const SLASH = 47;

/** Parses a `scope` claim: unknown scopes are ignored (a Backend may issue scopes for newer runtimes). */
export function parseScopes(claim: unknown): Set<Scope> {
  const scopes = new Set<Scope>();
  if (typeof claim !== "string") return scopes;
  for (const part of claim.split(" ")) if (isScope(part)) scopes.add(part);
  return scopes;
}

/**
 * What an authenticated request may do. The static token (and a server without credentials)
 * grants everything; a signed token grants its scopes, on its workers, until it expires.
 */
export type Grant =
  | { kind: "full" }
  | {
      kind: "token";
      scopes: ReadonlySet<Scope>;
      /** The `worker_ids` claim, or null when the token is not limited to some workers. */
      worker_ids: ReadonlySet<string> | null;
      /** The `sub` claim, or null: Idempotency-Keys are scoped by it. */
      subject: string | null;
      /** `exp` in epoch milliseconds (clock skew not included). */
      expires_at: number;
    };

export const FULL_GRANT: Grant = Object.freeze({ kind: "full" });

export function grantsScope(grant: Grant, scope: Scope): boolean {
  return grant.kind === "full" || grant.scopes.has(scope);
}

/** Whether the grant covers this worker (every worker, unless the token names some). */
export function grantsWorker(grant: Grant, worker_id: string): boolean {
  return grant.kind === "full" || grant.worker_ids === null || grant.worker_ids.has(worker_id);
}
