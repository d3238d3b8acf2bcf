import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Runtime } from "../../core/runtime.ts";
import type { RequestGrants } from "../auth.ts";
import { IDEMPOTENCY_PARAMETER, writeOptionsOf } from "../idempotency.ts";
import { ReasonRequest } from "../../core/schema/interaction.ts";
import { errorResponses } from "../error-body.ts";
import { AckResponse, EmptyBody, WorkerParams } from "../http-schema.ts";
import { BODY, GUARDED, jsonBody, WORKER } from "./common.ts";

/** A worker's lifecycle commands (SPEC §5): stop, cancel the active run, restore. */
export function lifecycleRoutes(runtime: Runtime, grants: RequestGrants) {
  const { parse, emptyBody } = jsonBody(runtime.limits.max_body_bytes);
  // A fresh set per route: Elysia rewrites a route's schemas as it compiles it.
  const errors = () => errorResponses([...GUARDED, ...BODY, ...WORKER, "idempotency_key_reused", "store_io", "runtime_unavailable"]);
  const options = (request: Request, route: string, worker_id: string, body: unknown) => writeOptionsOf(request, grants, route, [worker_id], body);
  return new Elysia()
    .post(
      "/v1/workers/:worker_id/stop",
      async ({ params, body, request }) => ({
        ack: await runtime.stopWorker(params.worker_id, body?.reason, options(request, "/v1/workers/:worker_id/stop", params.worker_id, body)),
      }),
      {
      params: WorkerParams,
      parse,
      transform: emptyBody,
      body: Type.Optional(ReasonRequest),
      response: { 200: AckResponse, ...errors() },
      detail: {
        operationId: "stopWorker",
        summary: "Stop a worker (cancels its active run); repeated stop is a no-op",
        tags: ["lifecycle"],
        parameters: [IDEMPOTENCY_PARAMETER],
      },
      },
    )
    .post(
      "/v1/workers/:worker_id/cancel",
      async ({ params, body, request }) => ({
        ack: await runtime.cancelRun(params.worker_id, body?.reason, options(request, "/v1/workers/:worker_id/cancel", params.worker_id, body)),
      }),
      {
      params: WorkerParams,
      parse,
      transform: emptyBody,
      body: Type.Optional(ReasonRequest),
      response: { 200: AckResponse, ...errors() },
      detail: {
        operationId: "cancelRun",
        summary: "Cancel the active run once its work stopped; cancelled_run_id is null when none was active",
        tags: ["lifecycle"],
        parameters: [IDEMPOTENCY_PARAMETER],
      },
      },
    )
    .post(
      "/v1/workers/:worker_id/restore",
      async ({ params, body, request }) => ({
        ack: await runtime.restoreWorker(params.worker_id, options(request, "/v1/workers/:worker_id/restore", params.worker_id, body)),
      }),
      {
      params: WorkerParams,
      parse,
      transform: emptyBody,
      body: Type.Optional(EmptyBody),
      response: { 200: AckResponse, ...errors() },
      detail: { operationId: "restoreWorker", summary: "Move a stopped worker back to idle", tags: ["lifecycle"], parameters: [IDEMPOTENCY_PARAMETER] },
      },
    );
}
