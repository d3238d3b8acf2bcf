import { CodedError } from "../errors.ts";
import type { TSchema } from "@sinclair/typebox";
import type { PermissionOption, PermissionPolicy, PlanEntry, StopReason, ToolCall } from "../schema/agent.ts";
import type { WorkerRef } from "../schema/common.ts";
import type { RunErrorCode, Usage } from "../schema/run.ts";
import type { TranscriptEntry } from "../schema/transcript.ts";

export interface RunContext {
  worker_ref: WorkerRef;
  run_id: string;
  /** 1-based count of the worker's runs: this is its `run_number`th. */
  run_number: number;
  /** A UUID fixed for the worker's life, for programs that resume a session by id (`YOI_SESSION_ID`). */
  worker_session_id: string;
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
  /** The agent session the worker keeps across runs (see the `session` output), null before the first. */
  session_id: string | null;
}

/** The outcome a backend hands back to an agent that asked permission. */
export type PermissionOutcome = { outcome: "selected"; option_id: string } | { outcome: "cancelled" };

/** An agent asks to go ahead with a tool call; the run waits until `answer` is called. */
export interface PermissionAsk {
  type: "permission";
  request_id: string;
  tool_call: { tool_call_id: string; title: string; kind: string };
  options: PermissionOption[];
  policy: PermissionPolicy;
  /** With policy `ask`: how long to wait before the first reject option is chosen. */
  timeout_ms: number;
  /** Called exactly once by the runtime, also when the run ends first (`cancelled`). */
  answer(outcome: PermissionOutcome): void;
}

/**
 * What a run yields, in order. `delta` and `thought` are live only; `tool_call`, `plan` and
 * `permission` become stored events; `session` is kept in the worker's state.
 */
export type RunOutput =
  | { type: "delta"; text: string }
  | { type: "usage"; usage: Usage }
  | { type: "thought"; text: string }
  | { type: "session"; session_id: string }
  | { type: "tool_call"; tool_call: ToolCall }
  | { type: "plan"; entries: PlanEntry[] }
  | { type: "stop_reason"; stop_reason: StopReason }
  | { type: "diagnostic"; code: string; message: string; details?: Record<string, unknown> }
  | PermissionAsk;

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
  /** Ends what the backend keeps for one worker between runs (an agent process); called on stop and delete. */
  release?(worker_id: string): Promise<void>;
  /** Releases anything the backend holds (temporary directories, pooled connections, agent processes). */
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
