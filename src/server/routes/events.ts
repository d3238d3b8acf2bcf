import { Elysia } from "elysia";
import type { Runtime, RuntimeLogger } from "../../core/runtime.ts";
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
}

/** The event log (SPEC §6): polled after a cursor, or followed live as Server-Sent Events. */
export function eventRoutes(runtime: Runtime, { heartbeat_ms, queue_limit, logger }: EventStreamOptions) {
  return new Elysia()
    .get("/v1/events", async ({ query }) => ({ events: await runtime.readEvents({ after: query.after, worker_id: query.worker_id }, query.limit) }), {
      query: EventsQuery,
      transform: strictQuery(EventsQuery),
      response: {
        200: EventsResponse,
        ...errorResponses([...READ, "invalid_request", "invalid_worker_id", "limit_too_large", "cursor_expired"]),
      },
      detail: { operationId: "listEvents", summary: "Poll stored events after a cursor (SPEC §6.2)", tags: ["observation"] },
    })
    .get(
      "/v1/events/stream",
      ({ query, headers, request }) => {
        const resume = headers["last-event-id"];
        const after = resume !== undefined ? Number(resume) : query.after;
        // HEAD must not open a subscription that no one would ever read or cancel.
        if (request.method === "HEAD") return new Response(null, { status: 200, headers: SSE_HEADERS });
        const subscription = runtime.subscribe({ after, worker_id: query.worker_id, queue_limit, signal: request.signal });
        return eventStreamResponse(subscription, { heartbeat_ms, signal: request.signal, logger });
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
