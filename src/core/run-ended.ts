import type { RunEndedEvent, RuntimeEvent } from "./schema/event.ts";
import type { RunStatus } from "./schema/run.ts";

/** Kept free of TypeBox: the client bundles this guard. */

/** The terminal event kind of each way a run ends. */
export const RUN_ENDED_KIND = {
  completed: "run_completed",
  failed: "run_failed",
  cancelled: "run_cancelled",
  timed_out: "run_timed_out",
  interrupted: "run_interrupted",
} as const satisfies Record<Exclude<RunStatus, "running">, RunEndedEvent["kind"]>;

const KINDS: ReadonlySet<string> = new Set(Object.values(RUN_ENDED_KIND));

/** Whether an event ends a run (`run_completed`, `run_failed`…); its `data.run` is the run as it ended. */
export function isRunEnded(event: RuntimeEvent): event is RunEndedEvent {
  return KINDS.has(event.kind);
}
