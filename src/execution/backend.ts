import type { TSchema } from "@sinclair/typebox";
import type { WorkerRef } from "../core/schema/common.ts";
import type { Usage } from "../core/schema/run.ts";
import type { TranscriptEntry } from "../core/schema/transcript.ts";

export interface RunContext {
  worker_ref: WorkerRef;
  run_id: string;
  /** The user input that started this run. */
  input: string;
  /** The last `max` transcript entries before this run's input (oldest first), read only when asked. */
  history(max: number): Promise<TranscriptEntry[]>;
  /** The store's per-worker directory, or null when the store keeps nothing on disk. */
  work_dir: string | null;
  /** Aborted on cancel, stop, timeout and shutdown; the backend must stop its work before returning. */
  signal: AbortSignal;
}

export type RunOutput = { type: "delta"; text: string } | { type: "usage"; usage: Usage };

/**
 * A run fails with this to report a specific run status or error code; any other thrown error
 * fails the run as `backend_error`.
 */
export class BackendError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "BackendError";
    this.code = code;
    this.details = details;
  }
}

export interface ExecutionBackend {
  /** Yields output as it is produced. Returning ends the run `completed`; throwing ends it `failed`. */
  run(context: RunContext): AsyncIterable<RunOutput>;
  /** Releases anything the backend holds (temporary directories, pooled connections). */
  close?(): Promise<void>;
}

/** A backend kind: the settings it accepts in `[profiles.<name>]` and how to build one. */
export interface BackendDefinition<S = Record<string, unknown>> {
  kind: string;
  /** Strict TypeBox schema of the profile settings (excluding the common keys `backend`, `capabilities`, `timeout_s`). */
  settings: TSchema;
  create(profile_name: string, settings: S): ExecutionBackend;
}
