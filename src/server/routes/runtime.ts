import { Elysia } from "elysia";
import type { Runtime } from "../../core/runtime.ts";
import { errorResponses } from "../error-body.ts";
import { DiagnosticsResponse, HealthResponse, OpenApiResponse, RuntimeResponse } from "../http-schema.ts";
import { GUARDED, READ } from "./common.ts";

/** The runtime as a whole: liveness, this API's document, the summary and the diagnostics. */
export function runtimeRoutes(runtime: Runtime, openApi: () => Record<string, unknown>) {
  return new Elysia()
    .get("/healthz", () => ({ ok: true as const }), {
      response: { 200: HealthResponse, ...errorResponses(["forbidden_origin"]) },
      detail: { operationId: "health", summary: "Liveness check; needs no token and reveals nothing", security: [] },
    })
    .get("/openapi.json", () => openApi(), {
      response: { 200: OpenApiResponse, ...errorResponses(["unauthorized", "forbidden_origin"]) },
      detail: { operationId: "openapi", summary: "This OpenAPI 3.1 document" },
    })
    .get("/v1/runtime", async () => ({ runtime: await runtime.summary() }), {
      response: { 200: RuntimeResponse, ...errorResponses(GUARDED) },
      detail: { operationId: "getRuntime", summary: "Runtime summary: identity, status, counts, limits, profiles", tags: ["runtime"] },
    })
    .get("/v1/diagnostics", async () => ({ diagnostics: await runtime.diagnostics() }), {
      response: { 200: DiagnosticsResponse, ...errorResponses(READ) },
      detail: { operationId: "listDiagnostics", summary: "Recent diagnostics (warnings and errors the runtime recorded)", tags: ["runtime"] },
    });
}
