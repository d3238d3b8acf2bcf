import { Elysia } from "elysia";
import type { Runtime, RuntimeLogger } from "../../core/runtime.ts";
import type { RequestGrants } from "../auth.ts";
import type { HttpMetrics } from "../metrics/runtime-metrics.ts";
import { errorResponses } from "../error-body.ts";
import { EventsQuery, EventsResponse, EventStreamResponse, StreamHeaders, StreamQuery } from "../http-schema.ts";
import { strictQuery } from "../query.ts";
import { eventStreamResponse, SSE_HEADERS } from "../sse.ts";
import { GUARDED, READ } from "./common.ts";

export interface EventStreamOptions {
  /** Interval of `: heartbeat` comments on the event stream. */
  heartbeat_ms: number;
  /** Events an SSE client may fall behind before it gets `event: overflow` and the stream ends. */
  queue_limit: number | undefined;
  logger: RuntimeLogger;
  /** What the guard admitted each request with: a signed token's workers and expiry. */
  grants: RequestGrants;
  metrics: HttpMetrics;
}

/** The event log (SPEC §6): polled after a cursor, or followed live as Server-Sent Events. */
export function eventRoutes(runtime: Runtime, { heartbeat_ms, queue_limit, logger, grants, metrics }: EventStreamOptions) {
  return new Elysia()
    .get(
      "/v1/events",
      async ({ query, request }) => {
        const batch = await runtime.readEvents({ after: query.after, worker_id: query.worker_id }, query.limit);
        // Filtered after reading: `next_after` still moves past what this token may not see.
        const visible = grants.workerFilter(request);
        return { events: visible === null ? batch : { ...batch, events: batch.events.filter((event) => visible(event.worker_ref?.worker_id)) } };
      },
      {
      query: EventsQuery,
      transform: strictQuery(EventsQuery),
      response: {
        200: EventsResponse,
        ...errorResponses([...READ, "invalid_request", "invalid_worker_id", "limit_too_large", "cursor_expired"]),
      },
      detail: { operationId: "listEvents", summary: "Poll stored events after a cursor", tags: ["observation"] },
      },
    )
    .get(
      "/v1/events/stream",
      ({ query, headers, request }) => {
        const resume = headers["last-event-id"];
        const after = resume !== undefined ? Number(resume) : query.after;
        // HEAD must not open a subscription that no one would ever read or cancel.
        if (request.method === "HEAD") return new Response(null, { status: 200, headers: SSE_HEADERS });
        const subscription = runtime.subscribe({ after, worker_id: query.worker_id, queue_limit, signal: request.signal });
        const grant = grants.grantOf(request);
        const visible = grants.workerFilter(request);
        metrics.sseOpened();
        return eventStreamResponse(subscription, {
          heartbeat_ms,
          signal: request.signal,
          logger,
          // A signed token's stream ends with `event: token_expired` when the token does.
          expires_at: grant.kind === "token" ? grant.expires_at : undefined,
          filter: visible === null ? undefined : (event) => visible(event.worker_ref?.worker_id),
          onClose: (dropped) => metrics.sseClosed(dropped),
        });
      },
      {
        query: StreamQuery,
        headers: StreamHeaders,
        transform: strictQuery(StreamQuery),
        response: {
          200: EventStreamResponse,
          ...errorResponses([...GUARDED, "invalid_request", "invalid_worker_id", "cursor_expired", "runtime_unavailable"]),
        },
        detail: {
          operationId: "streamEvents",
          summary: "Follow events live as Server-Sent Events, resumable with Last-Event-ID or ?after=",
          tags: ["observation"],
        },
      },
    );
}
