import { createHash, timingSafeEqual } from "node:crypto";
import { RuntimeError } from "../core/errors.ts";
import { pathOf } from "./url-path.ts";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed first, so the
 * comparison runs over equal-length digests and reveals neither the token's length nor content.
 */
export function bearerCheck(token: string): (authorization: string | null) => boolean {
  const expected = digest(token);
  return (authorization) => {
    if (authorization === null) return false;
    const match = /^bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
    if (!match) return false;
    return timingSafeEqual(digest(match[1]!), expected);
  };
}

export const forbiddenOrigin = (): RuntimeError =>
  new RuntimeError("forbidden_origin", "requests from browsers are refused; call the runtime through your Backend");

export const unauthorized = (): RuntimeError =>
  new RuntimeError("unauthorized", "missing or invalid bearer token");

/**
 * The guard every request passes before anything answers it (SPEC §1, §10): a request with an
 * Origin header is refused, even `/healthz` — browsers never talk to a runtime; with a token,
 * every path but `/healthz` needs it. Returns the refusal, or undefined for a request that passes.
 */
export function requestGuard(token: string | null | undefined): (request: Request) => RuntimeError | undefined {
  const checkToken = token ? bearerCheck(token) : null;
  return (request) => {
    const headers = request.headers;
    if (headers.has("origin")) return forbiddenOrigin();
    if (checkToken && !checkToken(headers.get("authorization")) && pathOf(request.url) !== "/healthz") return unauthorized();
    return undefined;
  };
}
