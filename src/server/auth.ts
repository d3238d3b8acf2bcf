import { createHash, timingSafeEqual } from "node:crypto";
import { RuntimeError } from "../core/errors.ts";

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
