import { CodedError } from "../errors.ts";
import type { TSchema } from "@sinclair/typebox";
import type { WorkerRef } from "../schema/common.ts";
import type { RunErrorCode, Usage } from "../schema/run.ts";
import type { TranscriptEntry } from "../schema/transcript.ts";

export interface RunContext {
  worker_ref: WorkerRef;
  run_id: string;
  /** 1-based count of the worker's runs: this is its `run_number`th. */
  run_number: number;
  /** A UUID fixed for the worker's life, for programs that resume a session by id. */
  session_id: string;
  /** The user input that started this run. */
  input: string;
  /** The last `max` transcript entries before this run's input (oldest first), read only when asked. */
  history(max: number): Promise<TranscriptEntry[]>;
  /** The store's per-worker directory, or null when the store keeps nothing on disk. */
  work_dir: string | null;
  /** The worker's first worktree (issue 11), where its runs work; null when it has no workspaces. */
  workspace: string | null;
  /** Aborted on cancel, stop, timeout and shutdown; the backend must stop its work before returning. */
  signal: AbortSignal;
}

export type RunOutput = { type: "delta"; text: string } | { type: "usage"; usage: Usage };

/**
 * A run fails with this to report a specific error code (`timed_out` ends it `timed_out`, any other
 * code `failed`); any other thrown error fails the run as `backend_error`. The one error type of the
 * execution port: its code is `Run.error.code`'s union.
 */
export class BackendError extends CodedError<RunErrorCode> {
  override readonly name = "BackendError";
}

export interface ExecutionBackend {
  /** Yields output as it is produced. Returning ends the run `completed`; throwing ends it `failed`. */
  run(context: RunContext): AsyncIterable<RunOutput>;
  /** Releases anything the backend holds (temporary directories, pooled connections). */
  close?(): Promise<void>;
}

/** The process environment a backend is built with (command children inherit from it; providers read keys from it). */
export type BackendEnvironment = Readonly<Record<string, string | undefined>>;

/** A backend kind: the settings it accepts in `[profiles.<name>]` and how to build one. */
export interface BackendDefinition<S = Record<string, unknown>> {
  kind: string;
  /** Strict TypeBox schema of the profile settings (excluding the common keys `backend`, `capabilities`, `timeout_s`). */
  settings: TSchema;
  /** `env` is `RuntimeOptions.env` when the embedder gave one; a backend that needs it defaults to the process environment. */
  create(profile_name: string, settings: S, env?: BackendEnvironment): ExecutionBackend;
}
