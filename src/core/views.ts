import type { RuntimeContext } from "./context.ts";
import { displayRef } from "./identity.ts";
import { activeOf } from "./run-state.ts";
import type { Ack } from "./schema/interaction.ts";
import type { WorkerDetail, WorkerSummary } from "./schema/worker.ts";
import { countersOf, workerStatus, type WorkerEntry } from "./worker-entry.ts";

/** How a worker reads from outside: its summary, detail and the ack of a command on it. */

export function summaryOf(ctx: RuntimeContext, entry: WorkerEntry): WorkerSummary {
  const record = entry.record;
  const counters = countersOf(entry);
  const display_name = record?.display_name ?? null;
  return {
    worker_ref: ctx.refOf(entry.id),
    display_name,
    display_ref: displayRef({ display_name, worker_id: entry.id }, ctx),
    status: workerStatus(entry),
    intent_kind: record?.intent.kind ?? "unknown",
    profile: record?.profile ?? { name: "unknown", backend: "unknown" },
    active_run_id: entry.kind === "loaded" ? (activeOf(entry.run)?.run.run_id ?? null) : null,
    created_at: record?.created_at ?? counters?.updated_at ?? ctx.started_at,
    updated_at: counters?.updated_at ?? record?.created_at ?? ctx.started_at,
  };
}

export function detailOf(ctx: RuntimeContext, entry: WorkerEntry): WorkerDetail {
  const record = entry.record;
  const counters = countersOf(entry);
  return {
    ...summaryOf(ctx, entry),
    intent: record?.intent ?? null,
    config_bundle: record?.config_bundle ?? null,
    requested_capabilities: record?.requested_capabilities ?? [],
    workspace_refs: record?.workspace_refs ?? [],
    mount_refs: record?.mount_refs ?? [],
    transcript_items: counters?.transcript_items ?? 0,
    run_count: counters?.run_count ?? 0,
    last_event_id: counters?.last_event_id ?? 0,
    stopped_reason: counters?.stopped_reason ?? null,
    unavailable_reason: entry.kind === "unavailable" ? entry.reason : null,
    ...(counters?.session_id ? { session_id: counters.session_id } : {}),
  };
}

export interface AckFields {
  run_id: string | null;
  event_id: number | null;
  transcript_sequence?: number | null;
  cancelled_run_id?: string | null;
}

export function ackOf(ctx: RuntimeContext, entry: WorkerEntry, fields: AckFields): Ack {
  const ack: Ack = {
    worker_ref: ctx.refOf(entry.id),
    status: workerStatus(entry),
    run_id: fields.run_id,
    transcript_sequence: fields.transcript_sequence ?? null,
    event_id: fields.event_id,
  };
  if (fields.cancelled_run_id !== undefined) ack.cancelled_run_id = fields.cancelled_run_id;
  return ack;
}
