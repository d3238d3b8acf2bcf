import { Elysia } from "elysia";
import { RuntimeError } from "../../core/errors.ts";
import type { Runtime } from "../../core/runtime.ts";
import type { RequestGrants } from "../auth.ts";
import { IDEMPOTENCY_PARAMETER, writeOptionsOf } from "../idempotency.ts";
import { PermissionAnswerRequest } from "../../core/schema/agent.ts";
import { InputRequest } from "../../core/schema/interaction.ts";
import { errorResponses } from "../error-body.ts";
import {
  AcceptedResponse,
  AckRunResponse,
  InputQuery,
  ListRunsQuery,
  RunListResponse,
  RunParams,
  RunQuery,
  RunResponse,
  TranscriptQuery,
  TranscriptResponse,
  WorkerParams,
} from "../http-schema.ts";
import { strictQuery } from "../query.ts";
import { BODY, GUARDED, jsonBody, READ, WORKER } from "./common.ts";

/** A worker's interaction and what it left: input (which starts runs), the transcript, the runs. */
export function runRoutes(runtime: Runtime, grants: RequestGrants) {
  const { parse, emptyBody } = jsonBody(runtime.limits.max_body_bytes);
  return new Elysia()
    .post(
      "/v1/workers/:worker_id/input",
      async ({ params, body, query, status, request }) => {
        // `wait` is not part of the request's fingerprint: a retry may wait or not, and a replay
        // with `?wait` waits for the kept answer's run as the first request would have.
        const options = writeOptionsOf(request, grants, "/v1/workers/:worker_id/input", [params.worker_id], body);
        const ack = await runtime.sendInput(params.worker_id, body, options);
        if (query.wait === undefined || ack.run_id === null) return status(202, { ack });
        let run;
        try {
          run = await runtime.waitRun(params.worker_id, ack.run_id, query.wait * 1000);
        } catch (error) {
          // The input is stored and acknowledged; a worker deleted meanwhile only ends the wait.
          if (error instanceof RuntimeError) return status(202, { ack });
          throw error;
        }
        return run.status === "running" ? status(202, { ack }) : status(200, { ack, run });
      },
      {
        params: WorkerParams,
        query: InputQuery,
        transform: [strictQuery(InputQuery), emptyBody],
        parse,
        body: InputRequest,
        response: {
          200: AckRunResponse,
          202: AcceptedResponse,
          ...errorResponses([...GUARDED, ...BODY, ...WORKER, "worker_busy", "worker_stopped", "unknown_profile", "idempotency_key_reused", "store_io", "runtime_unavailable"]),
        },
        detail: {
          operationId: "sendInput",
          summary: "Send input; `user` input starts a run (202), `?wait=<s>` answers 200 with the run once it ended",
          tags: ["interaction"],
          parameters: [IDEMPOTENCY_PARAMETER],
        },
      },
    )
    .get(
      "/v1/workers/:worker_id/transcript",
      async ({ params, query }) => ({
        transcript: await runtime.transcript(params.worker_id, { start: query.start, limit: query.limit, tail: query.tail }),
      }),
      {
        params: WorkerParams,
        query: TranscriptQuery,
        transform: strictQuery(TranscriptQuery),
        response: { 200: TranscriptResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "limit_too_large"]) },
        detail: { operationId: "getTranscript", summary: "A page of the transcript (start/limit, or tail)", tags: ["observation"] },
      },
    )
    .get("/v1/workers/:worker_id/runs", async ({ params, query }) => runtime.listRuns(params.worker_id, { limit: query.limit, after: query.after }), {
      params: WorkerParams,
      query: ListRunsQuery,
      transform: strictQuery(ListRunsQuery),
      response: { 200: RunListResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "limit_too_large"]) },
      detail: { operationId: "listRuns", summary: "A page of the worker's runs", tags: ["observation"] },
    })
    .get(
      "/v1/workers/:worker_id/runs/:run_id",
      async ({ params, query }) => ({
        run:
          query.wait === undefined
            ? await runtime.getRun(params.worker_id, params.run_id)
            : await runtime.waitRun(params.worker_id, params.run_id, query.wait * 1000),
      }),
      {
        params: RunParams,
        query: RunQuery,
        transform: strictQuery(RunQuery),
        response: { 200: RunResponse, ...errorResponses([...READ, ...WORKER, "invalid_request", "run_not_found"]) },
        detail: { operationId: "getRun", summary: "A run; `?wait=<s>` waits for it to end first", tags: ["observation"] },
      },
    )
    .post(
      "/v1/workers/:worker_id/runs/:run_id/permission",
      async ({ params, body, request }) => {
        const route = "/v1/workers/:worker_id/runs/:run_id/permission";
        const options = writeOptionsOf(request, grants, route, [params.worker_id, params.run_id], body);
        return { run: await runtime.answerPermission(params.worker_id, params.run_id, body, options) };
      },
      {
        params: RunParams,
        parse,
        body: PermissionAnswerRequest,
        response: {
          200: RunResponse,
          ...errorResponses([...GUARDED, ...BODY, ...WORKER, "run_not_found", "no_pending_permission", "idempotency_key_reused", "store_io", "runtime_unavailable"]),
        },
        detail: {
          operationId: "answerPermission",
          summary: "Answer the agent's pending permission request of a run with one of its offered option ids (ACP workers)",
          tags: ["interaction"],
          parameters: [IDEMPOTENCY_PARAMETER],
        },
      },
    );
}
