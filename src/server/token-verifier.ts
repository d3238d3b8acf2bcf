import { errors, jwtVerify, type JWTPayload } from "jose";
import { RuntimeError } from "../core/errors.ts";
import type { KeySet } from "./key-set.ts";
import { parseScopes, type Grant } from "./scopes.ts";

export interface TokenVerifierOptions {
  keys: KeySet;
  /** The runtime id: a token's `aud` must name it. */
  audience: string;
  /** When set, a token's `iss` must equal it. */
  issuer?: string | null;
  /** `exp - iat` (or `exp - now` without `iat`) longer than this is refused. */
  max_token_lifetime_s: number;
  /** Tolerance for `exp`, `nbf` and `iat` against this host's clock. */
  clock_skew_s: number;
  /** Verified tokens remembered; the oldest is dropped when full. */
  cache_size?: number;
  /** Epoch milliseconds; tests move the clock. */
  now?: () => number;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 3600;
export const DEFAULT_CLOCK_SKEW_S = 30;
const DEFAULT_CACHE_SIZE = 4096;
/** A bearer token longer than this is not a token this runtime could have been issued. */
const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

type ScopedGrant = Extract<Grant, { kind: "token" }>;

/** Verifies signed bearer tokens; `verify` throws `RuntimeError("unauthorized")`, never echoing the token. */
export interface TokenVerifier {
  /** Synchronous for a token verified before and not yet expired (the common case), else a promise. */
  verify(token: string): Grant | Promise<Grant>;
}

export const invalidToken = (reason: string): RuntimeError => new RuntimeError("unauthorized", `invalid token: ${reason}`);

/**
 * JWT verification with jose against the configured key set. A token that verified once is
 * cached with its grant, so a client that reuses its token costs one Map lookup per request; the
 * cached entry still expires at `exp` (plus the allowed skew), and every change of the key set
 * empties the cache, so a removed key stops working at once. Failed tokens are not cached: a flood
 * of garbage costs at most one signature check each (no more than a new valid token), and a
 * `kid` outside the configured set fails before any cryptography.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const skew_ms = options.clock_skew_s * 1000;
  const cacheSize = options.cache_size ?? DEFAULT_CACHE_SIZE;
  const cache = new Map<string, ScopedGrant>();
  options.keys.onChange(() => cache.clear());

  const verifySlow = async (token: string): Promise<Grant> => {
    const keys = options.keys.keys;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        audience: options.audience,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        algorithms: keys.algorithms,
        clockTolerance: options.clock_skew_s,
        requiredClaims: ["exp", "aud"],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw invalidToken(reasonOf(error));
    }
    const exp = payload.exp!;
    // jose checks `iat` only for a maximum age; a token from the future is refused here.
    if (payload.iat !== undefined && payload.iat > now() / 1000 + options.clock_skew_s) throw invalidToken("it was issued in the future");
    const start = payload.iat ?? now() / 1000;
    if (exp - start > options.max_token_lifetime_s) {
      throw invalidToken(`its lifetime is longer than max_token_lifetime_s (${options.max_token_lifetime_s} s)`);
    }
    let worker_ids: Set<string> | null = null;
    if (payload.worker_ids !== undefined) {
      const claim = payload.worker_ids;
      if (!Array.isArray(claim) || !claim.every((id) => typeof id === "string")) {
        throw invalidToken('the "worker_ids" claim must be an array of worker ids');
      }
      worker_ids = new Set(claim as string[]);
    }
    const subject = typeof payload.sub === "string" ? payload.sub : null;
    const grant: ScopedGrant = { kind: "token", scopes: parseScopes(payload.scope), worker_ids, subject, expires_at: exp * 1000 };
    // The key set may have changed while this verification awaited: then the result is not kept.
    if (options.keys.keys === keys) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(token, grant);
    }
    return grant;
  };

  return {
    verify(token) {
      const cached = cache.get(token);
      if (cached !== undefined) {
        if (now() < cached.expires_at + skew_ms) return cached;
        cache.delete(token);
        throw invalidToken("it has expired");
      }
      if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalidToken("not a signed JWT");
      return verifySlow(token);
    },
  };
}

/** A short, fixed reason per failure class: useful to a client, no token content, no key material. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "it has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return "it is not valid yet";
      case "iat":
        return "it was issued in the future";
      case "aud":
        return "its audience (aud) is not this runtime";
      case "iss":
        return "its issuer (iss) is not accepted";
      case "exp":
        return 'it has no valid expiry ("exp")';
      default:
        return `claim "${error.claim}" is not accepted`;
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return "its algorithm is not accepted";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return "no configured key matches it";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "its signature does not verify";
  return "not a valid signed JWT";
}
