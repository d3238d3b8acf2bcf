import { RuntimeError } from "../core/errors.ts";
import { FULL_GRANT, grantsScope, grantsWorker, routeMatcher, type Grant, type MatchedRoute, type Scope } from "./scopes.ts";
import type { TokenVerifier } from "./token-verifier.ts";
import { nodeCrypto } from "./node-crypto.ts";


const digest = (value: string): Buffer => nodeCrypto().createHash("sha256").update(value, "utf8").digest();

const BEARER = /^bearer[ ]+(\S+)[ ]*$/i;

/** The credential of an `Authorization: Bearer <token>` header, or null. */
export function bearerValue(authorization: string | null): string | null {
  if (authorization === null) return null;
  return BEARER.exec(authorization)?.[1] ?? null;
}

/**
 * Compares a presented token with the static one in constant time: both sides are hashed first,
 * so the comparison runs over equal-length digests and reveals neither the token's length nor
 * content.
 */
export function staticTokenCheck(token: string): (presented: string) => boolean {
  const expected = digest(token);
  return (presented) => nodeCrypto().timingSafeEqual(digest(presented), expected);
}

export const forbiddenOrigin = (): RuntimeError =>
  new RuntimeError("forbidden_origin", "requests from browsers are refused; call the runtime through your Backend");

export const unauthorized = (): RuntimeError => new RuntimeError("unauthorized", "missing or invalid bearer token");

export const insufficientScope = (scope: Scope): RuntimeError =>
  new RuntimeError("insufficient_scope", `this token lacks the scope ${scope}`, { scope });

/** RFC 6750 challenges, sent with a 401 and a 403 `insufficient_scope`. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="yoi-runtime", error="invalid_token"';
export const scopeChallenge = (scope: string): string => `Bearer realm="yoi-runtime", error="insufficient_scope", scope="${scope}"`;

export interface GuardOptions {
  /** The static bearer token: full access. */
  token?: string | null;
  /** Signed tokens: access by scope. */
  verifier?: TokenVerifier | null;
}

/** A request that passed the guard: what it may do, and which route of the scope table it is. */
export interface Admitted {
  grant: Grant;
  route: MatchedRoute | null;
}

/**
 * The ONE guard every request goes through, before routing and body parsing: Origin refusal,
 * credentials (static token or signed token), the route's scope from the table, and the
 * `worker_ids` restriction for a route that names a worker. Throws `RuntimeError`; answers
 * synchronously unless a signed token is seen for the first time.
 */
export type Guard = (request: Request, path: string, known?: MatchedRoute | null) => Admitted | Promise<Admitted>;

export function createGuard(options: GuardOptions): Guard {
  const matchStatic = options.token ? staticTokenCheck(options.token) : null;
  const verifier = options.verifier ?? null;
  const open = matchStatic === null && verifier === null;
  const match = routeMatcher();

  const admit = (grant: Grant, route: MatchedRoute | null): Admitted => {
    if (grant.kind === "full" || route === null) return { grant, route };
    if (route.scope !== null && !grantsScope(grant, route.scope)) throw insufficientScope(route.scope);
    if (route.worker_id !== null) {
      let id = route.worker_id;
      try {
        id = decodeURIComponent(id);
      } catch {
        // Not decodable: the route's own validation answers it; the token cannot name it either.
      }
      // Not 403: a token limited to some workers learns nothing about the others, not even that they exist.
      if (!grantsWorker(grant, id)) throw new RuntimeError("worker_not_found", `worker ${id} does not exist`, { worker_id: id });
    }
    return { grant, route };
  };

  // `known`: the route when the caller matched it already (the hot reads), else it is matched here.
  return (request, path, known) => {
    // Browsers never talk to a runtime (SPEC §1): refused before anything else, even /healthz.
    if (request.headers.has("origin")) throw forbiddenOrigin();
    const route = known === undefined ? match(request.method, path) : known;
    if (open || route?.scope === null) return { grant: FULL_GRANT, route };
    const presented = bearerValue(request.headers.get("authorization"));
    if (presented === null) throw unauthorized();
    if (matchStatic !== null && matchStatic(presented)) return { grant: FULL_GRANT, route };
    if (verifier === null) throw unauthorized();
    const grant = verifier.verify(presented);
    return grant instanceof Promise ? grant.then((verified) => admit(verified, route)) : admit(grant, route);
  };
}

/**
 * What the guard admitted, per request, for the routes that filter by it (lists, events, the
 * event stream) and for a request dispatched again after its token was verified. Only grants
 * that restrict anything are kept: a full grant (static token, no auth) costs no bookkeeping.
 */
export class RequestGrants {
  private readonly grants = new WeakMap<Request, Admitted>();

  remember(request: Request, admitted: Admitted): void {
    if (admitted.grant.kind !== "full") this.grants.set(request, admitted);
  }

  /** What the guard admitted this request with, if it was a restricted (signed-token) grant. */
  admitted(request: Request): Admitted | undefined {
    return this.grants.get(request);
  }

  grantOf(request: Request): Grant {
    return this.grants.get(request)?.grant ?? FULL_GRANT;
  }

  /** The worker filter of a request's token, or null when it sees every worker. */
  workerFilter(request: Request): ((worker_id: string | undefined) => boolean) | null {
    const grant = this.grantOf(request);
    if (grant.kind === "full" || grant.worker_ids === null) return null;
    return (worker_id) => worker_id !== undefined && grantsWorker(grant, worker_id);
  }
}
