import { RuntimeError } from "./errors.ts";
import { assertWorkerId } from "./ids.ts";
import type { WorkerRef } from "./schema/common.ts";

/** How callers name a worker: its `worker_ref` (the authority, SPEC §2) or, within one runtime, its id. */
export type WorkerAddress = WorkerRef | string;

/** The worker id an address names on this runtime; a ref of another runtime fails `wrong_runtime`. */
export function workerIdOf(runtime_id: string, address: WorkerAddress): string {
  let worker_id: unknown = address;
  if (typeof address === "object" && address !== null) {
    if (address.runtime_id !== runtime_id) {
      throw new RuntimeError("wrong_runtime", `worker_ref names another runtime; this is ${runtime_id}`);
    }
    worker_id = address.worker_id;
  }
  return assertWorkerId(worker_id);
}

export function refOf(runtime_id: string, worker_id: string): WorkerRef {
  return { runtime_id, worker_id };
}

/** A label for humans, never an address: an empty display name labels nothing, so the id stands in. */
export function displayRef(worker: { display_name: string | null; worker_id: string }, runtime: { display_name: string | null; runtime_id: string }): string {
  return `${worker.display_name || worker.worker_id}@${runtime.display_name || runtime.runtime_id}`;
}
