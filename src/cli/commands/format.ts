import type { PermissionRequest, Run, RuntimeEvent, WorkerDetail, WorkerSummary, WorkspaceStatus } from "../../client/index.ts";
import { write } from "../../platform/index.ts";
import { duration, relativeTime } from "../relative-time.ts";
import { painter, statusStyle, visibleLength } from "../style.ts";

export const out = (text: string): Promise<void> => write("stdout", text);
export const err = (text: string): Promise<void> => write("stderr", text);
export const printJson = (value: unknown): Promise<void> => out(`${JSON.stringify(value, null, 2)}\n`);

export const dash = (value: string | null | undefined): string => (value === null || value === undefined || value === "" ? "-" : value);

/** Colours text for stdout (a no-op when stdout is not a terminal, or with NO_COLOR). */
export const paint = painter("stdout");
const paintErr = painter("stderr");

/** A hint for the human on stderr (dim on a terminal): stdout stays the command's output. */
export const note = (text: string): Promise<void> => err(`${paintErr("dim", text)}\n`);
/** A status word in its colour: green went well, red failed, yellow in between. */
export const status = (value: string): string => {
  const style = statusStyle(value);
  return style === null ? value : paint(style, value);
};

/** Left-aligned columns separated by two spaces; the last column is not padded. Colour takes no width. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => visibleLength(row[column]!))));
  const pad = (cell: string, width: number) => cell + " ".repeat(Math.max(0, width - visibleLength(cell)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : pad(cell, widths[column]!))).join("  ");
  return [header.map((title) => paint("bold", title)), ...rows].map(line).join("\n") + "\n";
}

/** `key  value` lines with the keys aligned; rows with a null value are left out. */
export function keyValues(rows: Array<[string, string | null]>): string {
  const shown = rows.filter((row): row is [string, string] => row[1] !== null);
  const width = Math.max(...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${paint("dim", key.padEnd(width))}  ${value}`).join("\n") + "\n";
}

/** `2026-12-02T01:00:00.000Z (5m ago)`: the exact time and how long ago. */
export const when = (iso: string | null): string => (iso === null ? "-" : `${iso} (${relativeTime(iso)})`);

export function workerTable(workers: WorkerSummary[]): string {
  return table(
    ["WORKER", "STATUS", "PROFILE", "ACTIVE RUN", "LAST ACTIVITY", "DISPLAY NAME"],
    workers.map((worker) => [
      worker.worker_ref.worker_id,
      status(worker.status),
      worker.profile.name,
      dash(worker.active_run_id),
      relativeTime(worker.updated_at),
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
    ["status", status(worker.status)],
    ["profile", `${worker.profile.name} (${worker.profile.backend})`],
    ["intent", intentText],
    ["purpose", purpose],
    ["active_run", dash(worker.active_run_id)],
    ["transcript", `${worker.transcript_items} items`],
    ["runs", String(worker.run_count)],
    ["capabilities", worker.requested_capabilities.length > 0 ? worker.requested_capabilities.map((c) => c.name).join(", ") : null],
    ["stopped_reason", worker.stopped_reason],
    ["unavailable", worker.unavailable_reason],
    ["created", when(worker.created_at)],
    ["last_activity", `${when(worker.updated_at)}, event #${worker.last_event_id}`],
  ];
  for (const ws of worker.workspaces ?? []) rows.push([`workspace ${ws.name}`, workspaceLine(ws)]);
  return keyValues(rows);
}

/** How long a run took (so far, for an active one), e.g. `12 ms`; null when its times cannot be read. */
export function runDuration(run: Run, now: number = Date.now()): string | null {
  const ms = (run.finished_at === null ? now : Date.parse(run.finished_at)) - Date.parse(run.started_at);
  return Number.isNaN(ms) ? null : duration(Math.max(0, ms));
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
  const took = run.finished_at === null || runDuration(run) === null ? "" : ` in ${runDuration(run)}`;
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
export function permissionText(request: PermissionRequest): string {
  const options = request.options.map((o) => `${o.option_id} (${o.kind})`).join(", ");
  return `asks to ${request.tool_call.kind} ${JSON.stringify(request.tool_call.title)}: ${options}`;
}
