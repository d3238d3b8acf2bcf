import { RuntimeError } from "../core/errors.ts";
import { canonicalJson, checkIdempotencyKey } from "../core/idempotency.ts";
import type { WriteOptions } from "../core/runtime.ts";
import type { RequestGrants } from "./auth.ts";
import { nodeCrypto } from "./node-crypto.ts";

/** The header every POST takes to make a retry safe (SPEC §10). */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** How the OpenAPI document shows the header on every POST. */
export const IDEMPOTENCY_PARAMETER = {
  name: IDEMPOTENCY_HEADER,
  in: "header",
  required: false,
  description:
    "Makes a retry safe: the first acknowledged (2xx) answer is kept under this key; a retry with the same key and request gets it back " +
    "and applies nothing again; the same key with another request answers 422 idempotency_key_reused. Errors are not kept.",
  schema: { type: "string" as const, minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7E]+$" },
};

/**
 * The write options of a POST: none without the header; with it, the key (checked), a fingerprint
 * of the method, route, ids and canonical body (`wait` and other query values are not part of it),
 * and the scope: a signed token's subject, so a key reused under another subject never gets that
 * subject's answer. The static token and no auth share one scope.
 */
export function writeOptionsOf(
  request: Request,
  grants: RequestGrants,
  route: string,
  ids: readonly string[],
  body: unknown,
): WriteOptions {
  const key = request.headers.get(IDEMPOTENCY_HEADER);
  if (key === null) return {};
  try {
    checkIdempotencyKey(key);
  } catch {
    throw new RuntimeError("invalid_request", `the ${IDEMPOTENCY_HEADER} header must be 1-255 visible ASCII characters (0x21-0x7E)`, {
      header: IDEMPOTENCY_HEADER,
    });
  }
  const grant = grants.grantOf(request);
  const scope = grant.kind === "full" ? "" : `token:${grant.subject ?? ""}`;
  // SHA-256 here (synchronous, and several times cheaper than WebCrypto's digest for a small body).
  const fingerprint = nodeCrypto().createHash("sha256").update(canonicalJson(["POST", route, ...ids, body ?? {}])).digest("hex");
  return { idempotency: { key, fingerprint, scope } };
}
