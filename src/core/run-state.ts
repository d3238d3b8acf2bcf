import { RuntimeError } from "./errors.ts";
import type { Ack } from "./schema/interaction.ts";
import type { WorkerStatus } from "./schema/worker.ts";

/**
 * What a loaded worker is doing (SPEC §5). `stopping` lives in memory only: input is refused
 * while the active run (if any) ends and the stop is recorded; `stopped` settles with the stop's ack.
 * `A` is the active run (generic so the table can be tested on its own).
 */
export type RunState<A> =
  | { readonly status: "idle" }
  | { readonly status: "running"; readonly active: A }
  | { readonly status: "stopping"; readonly active: A | null; readonly stopped: Promise<Ack> }
  | { readonly status: "stopped" };

export type RunMove<A> =
  /** Input started a run. */
  | { readonly type: "start_run"; readonly active: A }
  /** The active run ended (or was never stored). */
  | { readonly type: "end_run" }
  /** A stop began; the active run, if any, is being cancelled. */
  | { readonly type: "stop"; readonly stopped: Promise<Ack> }
  /** The stop is recorded; only once no run is active. */
  | { readonly type: "stop_recorded" }
  /** `restoreWorker`: back to accepting input. */
  | { readonly type: "restore" };

/**
 * The one place a worker's status changes; the table is SPEC §5. A move the table does not allow
 * is a bug in the caller, which checks the status first and answers the user with a typed error.
 */
export function transition<A>(from: RunState<A>, move: RunMove<A>): RunState<A> {
  switch (move.type) {
    case "start_run":
      if (from.status === "idle") return { status: "running", active: move.active };
      break;
    case "end_run":
      if (from.status === "running") return { status: "idle" };
      if (from.status === "stopping" && from.active !== null) return { ...from, active: null };
      break;
    case "stop":
      if (from.status === "idle") return { status: "stopping", active: null, stopped: move.stopped };
      if (from.status === "running") return { status: "stopping", active: from.active, stopped: move.stopped };
      break;
    case "stop_recorded":
      if (from.status === "stopping" && from.active === null) return { status: "stopped" };
      break;
    case "restore":
      if (from.status === "stopped") return { status: "idle" };
      break;
  }
  throw new RuntimeError("internal", `a worker cannot move from ${describe(from)} by ${move.type}`);
}

function describe(state: RunState<unknown>): string {
  return state.status === "stopping" && state.active !== null ? "stopping (with an active run)" : state.status;
}

/** The run in flight, if any: it is being executed, or cancelled by a stop. */
export function activeOf<A>(state: RunState<A>): A | null {
  return state.status === "running" || state.status === "stopping" ? state.active : null;
}

/** Whether work is in flight (a run, or a stop being recorded): such a worker cannot be deleted. */
export function isActive(state: RunState<unknown>): boolean {
  return state.status === "running" || state.status === "stopping";
}

/** The status users see and the store keeps: a stop in progress still shows what it stops. */
export function statusOf(state: RunState<unknown>): Exclude<WorkerStatus, "unavailable"> {
  switch (state.status) {
    case "stopping":
      return state.active === null ? "idle" : "running";
    default:
      return state.status;
  }
}

/** The state a stored status restores to: nothing runs after a restart (runs that did are interrupted). */
export function restoredState<A>(stored: WorkerStatus): RunState<A> {
  return stored === "stopped" ? { status: "stopped" } : { status: "idle" };
}
