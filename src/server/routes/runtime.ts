import { Elysia } from "elysia";
import type { Runtime } from "../../core/runtime.ts";
import type { RequestGrants } from "../auth.ts";
import { errorResponses } from "../error-body.ts";
import { DiagnosticsResponse, HealthResponse, OpenApiResponse, ReadinessResponse, RuntimeResponse } from "../http-schema.ts";
import { GUARDED, READ } from "./common.ts";

/** The runtime as a whole: liveness, readiness, this API's document, the summary and the diagnostics. */
export function runtimeRoutes(runtime: Runtime, openApi: () => Record<string, unknown>, grants: RequestGrants) {
  return new Elysia()
    .get("/healthz", () => ({ ok: true as const }), {
      response: { 200: HealthResponse, ...errorResponses(["forbidden_origin"]) },
      detail: { operationId: "health", summary: "Liveness check; needs no token and reveals nothing" },
    })
    .get(
      "/readyz",
      ({ status }) => {
        const readiness = runtime.readiness();
        return readiness.ready ? readiness : status(503, readiness);
      },
      {
        response: { 200: ReadinessResponse, 503: ReadinessResponse, ...errorResponses(["forbidden_origin"]) },
        detail: {
          operationId: "ready",
          summary: "Readiness: 200 when the runtime takes work, 503 with a cause while opening, closing or when its store cannot write",
        },
      },
    )
    .get("/openapi.json", () => openApi(), {
      response: { 200: OpenApiResponse, ...errorResponses(["unauthorized", "forbidden_origin", "insufficient_scope"]) },
      detail: { operationId: "openapi", summary: "This OpenAPI 3.1 document" },
    })
    .get("/v1/runtime", async () => ({ runtime: await runtime.summary() }), {
      response: { 200: RuntimeResponse, ...errorResponses(GUARDED) },
      detail: { operationId: "getRuntime", summary: "Runtime summary: identity, status, counts, limits, profiles", tags: ["runtime"] },
    })
    .get(
      "/v1/diagnostics",
      async ({ request }) => {
        const diagnostics = await runtime.diagnostics();
        const visible = grants.workerFilter(request);
        return { diagnostics: visible === null ? diagnostics : diagnostics.filter((item) => visible(item.worker_ref?.worker_id)) };
      },
      {
      response: { 200: DiagnosticsResponse, ...errorResponses(READ) },
      detail: { operationId: "listDiagnostics", summary: "Recent diagnostics (warnings and errors the runtime recorded)", tags: ["runtime"] },
      },
    );
}
