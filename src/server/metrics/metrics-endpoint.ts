import { RuntimeError } from "../../core/errors.ts";
import { forbiddenOrigin } from "../auth.ts";
import { errorResponse } from "../error-body.ts";
import { pathOf } from "../url-path.ts";
import { EXPOSITION_CONTENT_TYPE, type Registry } from "./registry.ts";

/**
 * The handler of `--metrics-bind`: `GET /metrics` without credentials, for a scraper on the same
 * host (the address must be loopback unless --allow-insecure-remote); nothing else is served.
 */
export function metricsFetch(registry: Registry): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.headers.has("origin")) return errorResponse(forbiddenOrigin());
    const path = pathOf(request.url);
    if (path !== "/metrics") return errorResponse(new RuntimeError("route_not_found", `no route ${path}`));
    if (request.method !== "GET" && request.method !== "HEAD") {
      return errorResponse(new RuntimeError("method_not_allowed", `${request.method} is not allowed on /metrics`, { allow: ["GET", "HEAD"] }), {
        allow: "GET, HEAD",
      });
    }
    const body = await registry.exposition();
    return new Response(request.method === "HEAD" ? null : body, { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
  };
}
