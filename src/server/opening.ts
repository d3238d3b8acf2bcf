import { RuntimeError } from "../core/errors.ts";
import { forbiddenOrigin } from "./auth.ts";
import { errorResponse } from "./error-body.ts";
import { pathOf } from "./url-path.ts";

/**
 * Answers while the runtime is still opening (restoring its store), so a load balancer sees a
 * live but not-ready process: `/healthz` 200, `/readyz` 503 `opening`, every other route 503
 * `runtime_unavailable` with `Retry-After`. It reveals nothing, so it needs no token; Origin
 * is refused as always.
 */
export function openingFetch(request: Request): Response {
  if (request.headers.has("origin")) return errorResponse(forbiddenOrigin());
  const path = pathOf(request.url);
  if (path === "/healthz") return Response.json({ ok: true });
  if (path === "/readyz") return Response.json({ ready: false, cause: "opening" }, { status: 503 });
  return errorResponse(new RuntimeError("runtime_unavailable", "the runtime is opening", { cause: "opening" }), { "retry-after": "1" });
}
