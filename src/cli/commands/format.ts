import type { PermissionRequest, Run, RuntimeEvent, WorkerDetail, WorkerSummary, WorkspaceStatus } from "../../client/index.ts";
import { write } from "../../platform/index.ts";

export const out = (text: string): Promise<void> => write("stdout", text);
export const err = (text: string): Promise<void> => write("stderr", text);
export const printJson = (value: unknown): Promise<void> => out(`${JSON.stringify(value, null, 2)}\n`);

const dash = (value: string | null | undefined): string => (value === null || value === undefined || value === "" ? "-" : value);

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ");
  return [header, ...rows].map(line).join("\n") + "\n";
}

export function workerTable(workers: WorkerSummary[]): string {
  return table(
    ["WORKER", "STATUS", "PROFILE", "ACTIVE RUN", "DISPLAY NAME"],
    workers.map((worker) => [
      worker.worker_ref.worker_id,
      worker.status,
      worker.profile.name,
      dash(worker.active_run_id),
      dash(worker.display_name),
    ]),
  );
}

export function workerDetail(worker: WorkerDetail): string {
  const intent = worker.intent;
  // Null for an unavailable worker, whose files could not be read.
  const intentText =
    intent === null
      ? "-"
      : intent.kind === "task"
        ? `task: ${intent.objective}`
        : intent.kind === "role"
          ? `role: ${intent.role}`
          : "assistant";
  const purpose = intent !== null && intent.kind !== "task" && intent.purpose ? intent.purpose : null;
  const rows: Array<[string, string | null]> = [
    ["worker", worker.worker_ref.worker_id],
    ["runtime", worker.worker_ref.runtime_id],
    ["display_ref", worker.display_ref],
    ["status", worker.status],
    ["profile", `${worker.profile.name} (${worker.profile.backend})`],
    ["intent", intentText],
    ["purpose", purpose],
    ["active_run", dash(worker.active_run_id)],
    ["transcript", `${worker.transcript_items} items`],
    ["runs", String(worker.run_count)],
    ["capabilities", worker.requested_capabilities.length > 0 ? worker.requested_capabilities.map((c) => c.name).join(", ") : null],
    ["stopped_reason", worker.stopped_reason],
    ["unavailable", worker.unavailable_reason],
    ["created_at", worker.created_at],
    ["updated_at", worker.updated_at],
  ];
  for (const ws of worker.workspaces ?? []) rows.push([`workspace ${ws.name}`, workspaceLine(ws)]);
  const shown = rows.filter((row): row is [string, string] => row[1] !== null);
  const width = Math.max(...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n") + "\n";
}

/** `yoi/w1 from main at 1a2b3c4d5e6f, 2 modified, 1 untracked` (state unknown until first read: `?`). */
function workspaceLine(ws: WorkspaceStatus): string {
  const head = ws.head === null ? "?" : ws.head.slice(0, 12);
  const state =
    ws.changes === null ? "state unknown" : ws.dirty ? `${ws.changes.modified} modified, ${ws.changes.untracked} untracked` : "clean";
  return `${ws.branch} from ${ws.base} at ${head}, ${state}`;
}

/** `completed in 12 ms`, `failed in 3 ms: code: message`. */
export function runOutcome(run: Run): string {
  const ms = run.finished_at === null ? null : Date.parse(run.finished_at) - Date.parse(run.started_at);
  const took = ms === null || Number.isNaN(ms) ? "" : ` in ${ms} ms`;
  const error = run.error ? `: ${run.error.code}: ${run.error.message}` : "";
  return `${run.status}${took}${error}`;
}

/** One line per event for `tail`: id (or `-` for a delta), time, kind, worker, run, what happened. */
export function eventLine(event: RuntimeEvent): string {
  const parts = [
    event.id === null ? "-" : `#${event.id}`,
    event.created_at,
    event.kind,
    dash(event.worker_ref?.worker_id),
    dash(event.run_id),
  ];
  const what = eventSummary(event);
  if (what) parts.push(what);
  return parts.join(" ");
}

function eventSummary(event: RuntimeEvent): string {
  switch (event.kind) {
    case "run_output_delta":
      return JSON.stringify(event.data.delta);
    case "worker_created": {
      const { intent_kind, profile, display_name } = event.data;
      return `${intent_kind} on profile ${profile.name}${display_name ? ` ${JSON.stringify(display_name)}` : ""}`;
    }
    case "run_started":
      return `profile ${event.data.profile}`;
    case "worker_input_accepted":
      return `${event.data.role} input #${event.data.transcript_sequence}`;
    case "run_completed":
    case "run_failed":
    case "run_cancelled":
    case "run_timed_out":
    case "run_interrupted":
      return runOutcome(event.data.run);
    case "run_thought_delta":
      return `thought ${JSON.stringify(event.data.delta)}`;
    case "run_tool_call": {
      const call = event.data.tool_call;
      return `${call.tool_call_id} ${call.kind} ${call.status} ${JSON.stringify(call.title)}`;
    }
    case "run_plan":
      return event.data.entries.map((entry) => `[${entry.status}] ${entry.content}`).join("; ");
    case "run_permission_requested":
      return `${permissionText(event.data.permission)} (policy ${event.data.policy})`;
    case "run_permission_answered":
    case "run_permission_timed_out":
      return `${event.data.request_id} ${event.data.outcome === "selected" ? `chose ${event.data.option_id}` : "cancelled"} (by ${event.data.by})`;
    case "diagnostic": {
      const { level, code, message } = event.data.diagnostic;
      return `${level} ${code}: ${message}`;
    }
    default:
      return Object.keys(event.data).length > 0 ? JSON.stringify(event.data) : "";
  }
}

/** `asks to delete "<title>": allow (allow_once), deny (reject_once)`: an agent's permission request in one line. */
function permissionText(request: PermissionRequest): string {
  const options = request.options.map((o) => `${o.option_id} (${o.kind})`).join(", ");
  return `asks to ${request.tool_call.kind} ${JSON.stringify(request.tool_call.title)}: ${options}`;
}
