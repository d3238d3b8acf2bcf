import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { RuntimeError } from "../../core/errors.ts";
import type { Runtime } from "../../core/runtime.ts";
import type { RequestGrants } from "../auth.ts";
import { CreateWorkerRequest } from "../../core/schema/worker.ts";
import { errorResponses } from "../error-body.ts";
import { CreatedWorkerResponse, DeleteWorkerQuery, DeletedResponse, ListWorkersQuery, WorkerListResponse, WorkerParams, WorkerResponse } from "../http-schema.ts";
import { IDEMPOTENCY_PARAMETER, writeOptionsOf } from "../idempotency.ts";
import { strictQuery } from "../query.ts";
import { BODY, GUARDED, jsonBody, READ } from "./common.ts";

/** The worker collection: list, create, read and delete workers (SPEC §4). */
export function workerRoutes(runtime: Runtime, grants: RequestGrants) {
  const { parse, emptyBody } = jsonBody(runtime.limits.max_body_bytes);
  return (
    new Elysia()
      .get(
        "/v1/workers",
        async ({ query, request }) => {
          const page = await runtime.listWorkers({ status: query.status, limit: query.limit, after: query.after });
          // A token limited to some workers sees only those; the cursor still walks every worker.
          const visible = grants.workerFilter(request);
          return visible === null ? page : { ...page, workers: page.workers.filter((worker) => visible(worker.worker_ref.worker_id)) };
        },
        {
        query: ListWorkersQuery,
        transform: strictQuery(ListWorkersQuery),
        response: { 200: WorkerListResponse, ...errorResponses([...READ, "invalid_request", "limit_too_large"]) },
        detail: { operationId: "listWorkers", summary: "List workers, optionally by status, paged by worker_id", tags: ["workers"] },
        },
      )
      // Every field of a create request is optional, and so is the body: no body is `{}`.
      .post(
        "/v1/workers",
        async ({ body, status, request }) => {
          const visible = grants.workerFilter(request);
          if (visible !== null && !visible(body?.worker_id)) {
            throw new RuntimeError("insufficient_scope", "this token may only create the workers its worker_ids claim names (give worker_id)", {
              scope: "workers:write",
            });
          }
          const options = writeOptionsOf(request, grants, "/v1/workers", [], body);
          return status(201, { worker: await runtime.createWorker(body ?? {}, options) });
        },
        {
        parse,
        transform: emptyBody,
        body: Type.Optional(CreateWorkerRequest),
        response: {
          201: CreatedWorkerResponse,
          ...errorResponses([
            ...GUARDED,
            ...BODY,
            "unknown_profile",
            "unknown_workspace",
            "invalid_workspace_ref",
            "worker_exists",
            "unsupported_capability",
            "worker_limit_reached",
            "idempotency_key_reused",
            "store_io",
            "runtime_unavailable",
          ]),
        },
        detail: {
          operationId: "createWorker",
          summary: "Create a worker; every field is optional, `{}` creates an assistant on the default profile",
          tags: ["workers"],
          parameters: [IDEMPOTENCY_PARAMETER],
        },
        },
      )
      .get("/v1/workers/:worker_id", async ({ params }) => ({ worker: await runtime.getWorker(params.worker_id) }), {
        params: WorkerParams,
        response: { 200: WorkerResponse, ...errorResponses([...READ, "invalid_worker_id", "worker_not_found"]) },
        detail: { operationId: "getWorker", summary: "A worker's detail", tags: ["workers"] },
      })
      .delete("/v1/workers/:worker_id", async ({ params, query }) => runtime.deleteWorker(params.worker_id, { force: query.force === "true" }), {
        params: WorkerParams,
        query: DeleteWorkerQuery,
        transform: strictQuery(DeleteWorkerQuery),
        response: {
          200: DeletedResponse,
          ...errorResponses([
            ...GUARDED,
            "invalid_request",
            "invalid_worker_id",
            "worker_not_found",
            "worker_busy",
            "workspace_dirty",
            "store_io",
            "runtime_unavailable",
          ]),
        },
        detail: { operationId: "deleteWorker", summary: "Delete a worker without an active run, with its data", tags: ["workers"] },
      })
  );
}
