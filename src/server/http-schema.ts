import { Type, type TProperties } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../core/ids.ts";
import { Id, Nullable, WorkerRef } from "../core/schema/common.ts";
import { Diagnostic } from "../core/schema/diagnostic.ts";
import { EventBatch } from "../core/schema/event.ts";
import { Ack } from "../core/schema/interaction.ts";
import { Run } from "../core/schema/run.ts";
import { RuntimeSummary } from "../core/schema/runtime.ts";
import { TranscriptPage } from "../core/schema/transcript.ts";
import { WorkerDetail, WorkerStatus, WorkerSummary } from "../core/schema/worker.ts";
import { RemovedWorkspace } from "../core/schema/workspace.ts";

/**
 * The HTTP envelopes around the core's schemas (SPEC §10). Response schemas are declared for the
 * OpenAPI document and the Eden types only: `noValidate` keeps Elysia from re-checking each
 * response the core already produced typed, which would cost every request.
 */
const envelope = <P extends TProperties>(properties: P, description: string) =>
  Type.Object(properties, { description, noValidate: true });

const strict = { additionalProperties: false } as const;

/** The core's `Id` with a description for the document. */
const idString = (description: string) =>
  Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: ID_PATTERN, description });

// ---------------------------------------------------------------- path and query

export const WorkerParams = Type.Object(
  { worker_id: idString("worker id") },
  strict,
);
export const RunParams = Type.Object(
  { worker_id: idString("worker id"), run_id: idString("run id") },
  strict,
);

/**
 * Whole seconds to wait for the run to end; longer waits are refused rather than silently
 * shortened. An integer because Elysia rewrites a query `Number` into its lenient numeric string
 * type (accepting `1e2`, `0x10`), which would bypass `strictQuery`.
 */
export const MAX_WAIT_SECONDS = 300;
const Wait = Type.Integer({
  minimum: 0,
  maximum: MAX_WAIT_SECONDS,
  description: `whole seconds to wait for the run to end (0-${MAX_WAIT_SECONDS})`,
});

export const ListWorkersQuery = Type.Object(
  {
    status: Type.Optional(WorkerStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: "page size, default 100, at most 500 (else limit_too_large)" })),
    after: Type.Optional(idString("return workers whose id sorts after this one")),
  },
  strict,
);
export const DeleteWorkerQuery = Type.Object(
  {
    force: Type.Optional(
      Type.Union([Type.Literal("true"), Type.Literal("false")], {
        description: "true: delete even when a worktree has uncommitted changes (they are discarded)",
      }),
    ),
  },
  strict,
);
export const InputQuery = Type.Object({ wait: Type.Optional(Wait) }, strict);
export const RunQuery = Type.Object({ wait: Type.Optional(Wait) }, strict);
export const TranscriptQuery = Type.Object(
  {
    start: Type.Optional(Type.Integer({ minimum: 0, description: "first sequence to return (default 0)" })),
    limit: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "items to return, default 100, at most limits.max_transcript_projection_items (else limit_too_large)",
      }),
    ),
    tail: Type.Optional(Type.Integer({ minimum: 0, description: "return the last N items instead (not with start)" })),
  },
  strict,
);
export const ListRunsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, description: "page size, default 100, at most 500 (else limit_too_large)" })),
    after: Type.Optional(idString("return runs whose id sorts after this one")),
  },
  strict,
);
const EventId = Type.Integer({ minimum: 0, description: "return events with a larger id" });
const WorkerFilter = idString("only this worker's events");
export const EventsQuery = Type.Object(
  {
    after: Type.Optional(EventId),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, description: "default 100, at most limits.max_event_batch_items (else limit_too_large)" }),
    ),
    worker_id: Type.Optional(WorkerFilter),
  },
  strict,
);
export const StreamQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: "replay stored events after this id, then follow live (default: live only)" }),
    ),
    worker_id: Type.Optional(WorkerFilter),
  },
  strict,
);
/** Header names are lower-case as Elysia exposes them; other headers pass. */
export const StreamHeaders = Type.Object({
  "last-event-id": Type.Optional(
    Type.String({
      pattern: "^(0|[1-9][0-9]{0,15})$",
      description: "resume after this event id (sent by EventSource on reconnect); takes precedence over `after`",
    }),
  ),
});

// ---------------------------------------------------------------- bodies

export const EmptyBody = Type.Object({}, { ...strict, description: "no fields; the body may also be empty" });

// ---------------------------------------------------------------- responses

export const RuntimeResponse = envelope({ runtime: RuntimeSummary }, "The runtime's summary");
export const WorkerListResponse = envelope(
  { workers: Type.Array(WorkerSummary), next_after: Nullable(Id) },
  "A page of workers in id order; next_after is the cursor of the next page, or null",
);
export const WorkerResponse = envelope({ worker: WorkerDetail }, "The worker");
export const CreatedWorkerResponse = envelope({ worker: WorkerDetail }, "The worker was created");
export const DeletedResponse = envelope(
  { deleted: WorkerRef, workspaces: Type.Optional(Type.Array(RemovedWorkspace)) },
  "The worker and its data were removed; `workspaces` says what became of its worktrees and branches",
);
export const AckResponse = envelope({ ack: Ack }, "Done");
export const AcceptedResponse = envelope(
  { ack: Ack },
  "The input was stored; its run (if any) continues in the background (with ?wait: it had not ended by the deadline)",
);
export const AckRunResponse = envelope({ ack: Ack, run: Run }, "With ?wait: the run ended within the wait");
export const TranscriptResponse = envelope({ transcript: TranscriptPage }, "A page of the worker's transcript");
export const RunListResponse = envelope(
  { runs: Type.Array(Run), next_after: Nullable(Type.String()) },
  "A page of the worker's runs in id (start) order",
);
export const RunResponse = envelope({ run: Run }, "The run (with ?wait: once it ended, or as it is at the deadline)");
export const EventsResponse = envelope({ events: EventBatch }, "Stored events after the cursor");
export const DiagnosticsResponse = envelope({ diagnostics: Type.Array(Diagnostic) }, "Recent diagnostics, oldest first");
export const HealthResponse = envelope({ ok: Type.Literal(true) }, "The process is serving");
export const EventStreamResponse = Type.String({
  contentMediaType: "text/event-stream",
  noValidate: true,
  description:
    "Server-Sent Events. Stored events: `id: <event id>` + `data: <RuntimeEvent JSON>`. Ephemeral " +
    "run_output_delta events: `data:` only (no id, so Last-Event-ID is unaffected). `: heartbeat` " +
    "comments keep the connection alive. `event: overflow` with data {\"last_event_id\": N} means the " +
    "client fell too far behind: the stream ends and the client resumes after N. `event: stream_error` " +
    "with an Error body ends a stream that failed after it started. `event: token_expired` ends a stream " +
    "whose signed token expired: reconnect with a fresh token (and Last-Event-ID).",
});
export const ReadinessResponse = Type.Object(
  {
    ready: Type.Boolean(),
    cause: Type.Optional(Type.String({ description: "Why not ready: opening, closing, closed, or the store's cause (disk_full, io_error)" })),
  },
  { additionalProperties: false, description: "Whether the runtime takes work now (200 ready, 503 not)" },
);
export const MetricsResponse = Type.String({
  contentMediaType: "text/plain; version=0.0.4",
  noValidate: true,
  description: "Prometheus text exposition format 0.0.4 (see docs/metrics.md for every metric)",
});
export const OpenApiResponse = Type.Record(Type.String(), Type.Unknown(), {
  description: "This document",
  noValidate: true,
});
