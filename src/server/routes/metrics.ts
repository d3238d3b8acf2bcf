import { Elysia } from "elysia";
import { errorResponses } from "../error-body.ts";
import { MetricsResponse } from "../http-schema.ts";
import { EXPOSITION_CONTENT_TYPE, type Registry } from "../metrics/registry.ts";
import { GUARDED } from "./common.ts";

/** Prometheus metrics (docs/metrics.md); the guard asks for `metrics:read` or the static token. */
export function metricsRoutes(registry: Registry) {
  return new Elysia().get(
    "/metrics",
    async () => new Response(await registry.exposition(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } }),
    {
      response: { 200: MetricsResponse, ...errorResponses(GUARDED) },
      detail: { operationId: "metrics", summary: "Prometheus metrics (text exposition 0.0.4)", tags: ["runtime"] },
    },
  );
}
