import { endPermissions, recordAgentOutput } from "./agent-activity.ts";
import { now } from "./clock.ts";
import { stableUuid } from "./ids.ts";
import { newDiagnostic, type RuntimeContext } from "./context.ts";
import { BackendError, type RunOutput } from "./ports/backend.ts";
import type { StoreCommit } from "./ports/store.ts";
import type { Profile } from "./profiles.ts";
import type { StopReason } from "./schema/agent.ts";
import type { Run, RunError, RunStatus, Usage } from "./schema/run.ts";
import type { TranscriptEntry } from "./schema/transcript.ts";
import { abortRun, storedState, type ActiveRun, type LoadedWorker, type WorkerEntry } from "./worker-entry.ts";

/** Executes one run in the background: feeds the backend, streams its output, records how it ended. */

type TerminalStatus = Exclude<RunStatus, "running">;

interface Outcome {
  status: TerminalStatus;
  output: string;
  usage: Usage | null;
  error: RunError | null;
}

export async function executeRun(ctx: RuntimeContext, entry: LoadedWorker, active: ActiveRun, profile: Profile, input: string): Promise<void> {
  const outcome = await runBackend(ctx, entry, active, profile, input);
  await finishRun(ctx, entry, active, outcome);
}

async function runBackend(ctx: RuntimeContext, entry: LoadedWorker, active: ActiveRun, profile: Profile, input: string): Promise<Outcome> {
  const { run, controller } = active;
  let output = "";
  let usage: Usage | null = null;
  let failure: RunError | null = null;
  let stopReason: StopReason | null = null;
  const timeout_ms = profile.timeout_ms;
  const timer =
    timeout_ms === null
      ? null
      : setTimeout(() => abortRun(active, "timed_out", `the run exceeded its timeout of ${timeout_ms / 1000}s`), timeout_ms);
  try {
    const outputs: AsyncIterable<RunOutput> = profile.backend.run({
      worker_ref: run.worker_ref,
      run_id: run.run_id,
      // Counted when the run started; no other run can start before this one ends.
      run_number: entry.counters.run_count,
      worker_session_id: sessionIdOf(entry),
      input,
      work_dir: ctx.store.workDir(entry.id),
      workspace: entry.record.workspaces?.[0]?.path ?? null,
      signal: controller.signal,
      history: (max) => history(ctx, entry, run.input_sequence, max),
      session_id: entry.counters.session_id ?? null,
    });
    for await (const item of outputs) {
      if (item.type === "delta") {
        if (item.text.length === 0) continue;
        output += item.text;
        ctx.publish(ctx.events.outputDelta(run.worker_ref, run.run_id, item.text));
      } else if (item.type === "usage") {
        usage = item.usage;
      } else if (item.type === "stop_reason") {
        stopReason = item.stop_reason;
      } else {
        await recordAgentOutput(ctx, entry, active, item);
      }
      if (active.abort) break;
    }
  } catch (error) {
    if (!active.abort) failure = backendFailure(error);
  } finally {
    if (timer) clearTimeout(timer);
    await endPermissions(ctx, active);
  }
  if (stopReason !== null) active.run = { ...active.run, stop_reason: stopReason };
  if (active.abort) return { status: active.abort.kind, output, usage, error: { code: active.abort.kind, message: active.abort.reason } };
  if (failure) return { status: failure.code === "timed_out" ? "timed_out" : "failed", output, usage, error: failure };
  // An agent that ended its turn as cancelled by itself; its other stop reasons are answers.
  if (stopReason === "cancelled") return { status: "cancelled", output, usage, error: { code: "cancelled", message: "the agent ended its turn as cancelled" } };
  return { status: "completed", output, usage, error: null };
}

// Derived from the record, which never changes: hashed once per worker, not once per run.
const derivedSessionIds = new WeakMap<LoadedWorker["record"], string>();

/** The worker's session id: the record's, or one derived from its identity (stable across restarts). */
function sessionIdOf(entry: LoadedWorker): string {
  const record = entry.record;
  if (record.worker_session_id != null) return record.worker_session_id;
  let id = derivedSessionIds.get(record);
  if (id === undefined) {
    id = stableUuid(`${record.worker_ref.runtime_id}/${entry.id}/${record.created_at}`);
    derivedSessionIds.set(record, id);
  }
  return id;
}

/** Stores the run's end with its output; the worker takes input again at once (SPEC §5). */
async function finishRun(ctx: RuntimeContext, entry: LoadedWorker, active: ActiveRun, outcome: Outcome): Promise<void> {
  const { status, output, usage, error } = outcome;
  const finished_at = now();
  const counters = entry.counters;
  const output_sequence = output.length > 0 ? counters.transcript_items : null;
  const partial = status !== "completed" && output_sequence !== null;
  const run = { ...active.run, status, output_sequence, partial, finished_at, error, usage };
  const commit = endOf(ctx, run, output);

  active.run = run;
  ctx.workers.move(entry, { type: "end_run" });
  entry.ending = active;
  entry.counters = {
    ...counters,
    transcript_items: output_sequence === null ? counters.transcript_items : output_sequence + 1,
    last_event_id: ctx.lastEventId,
    updated_at: finished_at,
  };
  commit.states = [storedState(entry)];
  try {
    await ctx.commit(commit);
  } catch (failure) {
    ctx.log.error("could not record the end of a run", { run_id: run.run_id, error: String(failure) });
  }
  if (entry.ending === active) entry.ending = null;
  ctx.log.debug("run finished", { worker_id: entry.id, run_id: run.run_id, status });
  active.settle(run);
}

/** What the end of a run stores: the run, its terminal event, its output and, for a failure, a diagnostic. */
function endOf(ctx: RuntimeContext, run: Run & { status: TerminalStatus; finished_at: string }, output: string): StoreCommit {
  const terminal = ctx.events.runEnded(run);
  const commit: StoreCommit = { runs: [run], events: [terminal] };
  if (run.output_sequence !== null) {
    // The assistant entry's event is the terminal run event that carries it.
    const { output_sequence: sequence, worker_ref, run_id, partial, finished_at: created_at } = run;
    commit.transcript = [{ sequence, worker_ref, role: "assistant", content: output, run_id, partial, event_id: terminal.id, created_at }];
  }
  if (run.status === "failed") {
    // The message can quote the program's stderr or the provider's answer, which can echo the
    // input: the log line names only the error code and the backend's status.
    const diagnostic = newDiagnostic({
      level: "warning",
      code: "run_failed",
      message: `run ${run.run_id} failed: ${run.error?.message ?? "unknown error"}`,
      worker_ref: run.worker_ref,
      run_id: run.run_id,
      details: { error: run.error },
    });
    ctx.addDiagnostic(commit, diagnostic, `run ${run.run_id} failed: ${run.error?.code ?? "unknown"}`, {
      run_id: run.run_id,
      error_code: run.error?.code ?? null,
      ...backendStatus(run.error),
    });
  }
  return commit;
}

/**
 * The backend's own verdict on a failed run, for the log: a program's exit code or signal, a
 * provider's HTTP status. Never the stderr tail or the provider's text, which can echo the input.
 */
function backendStatus(error: RunError | null): Record<string, unknown> {
  const details: Record<string, unknown> = error?.details ?? {};
  const fields: Record<string, unknown> = {};
  if (typeof details.exit_code === "number") fields.exit_code = details.exit_code;
  if (typeof details.signal === "string") fields.signal = details.signal;
  if (typeof details.status === "number") fields.http_status = details.status;
  return fields;
}

async function history(ctx: RuntimeContext, entry: WorkerEntry, before: number, max: number): Promise<TranscriptEntry[]> {
  if (max <= 0 || before <= 0) return [];
  const start = Math.max(0, before - max);
  return ctx.readStored(entry, () => ctx.store.readTranscript(entry.id, start, before - start));
}

/** A `BackendError` names the run's error; anything else a backend throws is `backend_error`. */
function backendFailure(error: unknown): RunError {
  if (error instanceof BackendError) {
    return error.details === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, details: error.details };
  }
  return { code: "backend_error", message: error instanceof Error ? error.message : describeThrown(error) };
}

/** String() itself throws for some values (e.g. objects without a prototype); a run must still end. */
function describeThrown(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "the backend failed with a value that is not an Error";
  }
}
