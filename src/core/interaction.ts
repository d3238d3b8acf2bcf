import { now } from "./clock.ts";
import type { RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { newRunId } from "./ids.ts";
import type { IdempotencyClaim } from "./idempotency.ts";
import type { WorkerAddress } from "./identity.ts";
import { getRun } from "./observation.ts";
import { executeRun } from "./run-executor.ts";
import { InputRequest, type Ack } from "./schema/interaction.ts";
import type { Run } from "./schema/run.ts";
import type { WorkerRef } from "./schema/common.ts";
import type { TranscriptEntry, TranscriptRole } from "./schema/transcript.ts";
import { validate } from "./validate.ts";
import type { StoreCommit } from "./ports/store.ts";
import { ackOf } from "./views.ts";
import { newActiveRun, runInMemory, storedState, type LoadedWorker } from "./worker-entry.ts";

/** Interaction: input to a worker and waiting for its runs (SPEC §5). */

const MAX_TIMER_MS = 2 ** 31 - 1;
const utf8 = new TextEncoder();

/**
 * Appends input to the transcript. `user` input starts a run in the background and is
 * acknowledged once it is stored; `system` input is context for later runs.
 */
export async function sendInput(ctx: RuntimeContext, address: WorkerAddress, input: InputRequest, claim: IdempotencyClaim | null = null): Promise<Ack> {
  ctx.assertOpen();
  const request = validate(InputRequest, input, "input");
  const entry = ctx.loaded(address);
  // A UTF-16 code unit is at most 3 bytes in UTF-8: only content that might be too long is encoded to count.
  const maxBytes = ctx.limits.max_input_bytes;
  const bytes = request.content.length * 3 <= maxBytes ? 0 : utf8.encode(request.content).length;
  if (bytes > maxBytes) {
    throw new RuntimeError("payload_too_large", `content is ${bytes} bytes; limits.max_input_bytes is ${ctx.limits.max_input_bytes}`);
  }
  const { run } = entry;
  if (run.status === "stopped" || run.status === "stopping") {
    throw new RuntimeError("worker_stopped", `worker ${entry.id} is stopped; restore it first`);
  }
  if (run.status === "running") {
    throw new RuntimeError("worker_busy", `worker ${entry.id} already has an active run`, { active_run_id: run.active.run.run_id });
  }
  return request.kind === "system" ? appendContext(ctx, entry, request.content, claim) : startRun(ctx, entry, request.content, claim);
}

async function appendContext(ctx: RuntimeContext, entry: LoadedWorker, content: string, claim: IdempotencyClaim | null): Promise<Ack> {
  const worker_ref = ctx.refOf(entry.id);
  const previous = entry.counters;
  const sequence = previous.transcript_items;
  const created_at = now();
  const event = ctx.events.inputAccepted(worker_ref, null, "system", sequence);
  entry.counters = { ...previous, transcript_items: sequence + 1, last_event_id: event.id, updated_at: created_at };
  const commit: StoreCommit = {
    transcript: [inputEntry(worker_ref, sequence, "system", content, null, event.id, created_at)],
    states: [storedState(entry)],
    events: [event],
  };
  const ack = ackOf(ctx, entry, { run_id: null, event_id: event.id, transcript_sequence: sequence });
  claim?.attach(commit, ack);
  try {
    await ctx.commit(commit);
  } catch (error) {
    entry.counters = previous;
    throw error;
  }
  return ack;
}

async function startRun(ctx: RuntimeContext, entry: LoadedWorker, content: string, claim: IdempotencyClaim | null): Promise<Ack> {
  const profile = ctx.profileOf(entry);
  const previous = entry.counters;
  const sequence = previous.transcript_items;
  const created_at = now();
  const run = newRun(ctx.refOf(entry.id), profile.info.name, sequence, created_at);
  const active = newActiveRun(run);
  // Claimed synchronously, before any await: this is what makes single flight hold under concurrency.
  ctx.workers.move(entry, { type: "start_run", active });
  const accepted = ctx.events.inputAccepted(run.worker_ref, run.run_id, "user", sequence);
  const started = ctx.events.runStarted(run);
  entry.counters = {
    ...previous,
    transcript_items: sequence + 1,
    run_count: previous.run_count + 1,
    last_event_id: started.id,
    updated_at: created_at,
  };
  const commit: StoreCommit = {
    transcript: [inputEntry(run.worker_ref, sequence, "user", content, run.run_id, accepted.id, created_at)],
    runs: [run],
    states: [storedState(entry)],
    events: [accepted, started],
  };
  const ack = ackOf(ctx, entry, { run_id: run.run_id, event_id: accepted.id, transcript_sequence: sequence });
  claim?.attach(commit, ack);
  try {
    await ctx.commit(commit);
  } catch (error) {
    ctx.workers.move(entry, { type: "end_run" });
    entry.counters = previous;
    active.settle(run);
    throw error;
  }
  void executeRun(ctx, entry, active, profile, content);
  return ack;
}

function newRun(worker_ref: WorkerRef, profile: string, input_sequence: number, started_at: string): Run {
  return {
    run_id: newRunId(),
    worker_ref,
    status: "running",
    profile,
    input_sequence,
    output_sequence: null,
    partial: false,
    started_at,
    finished_at: null,
    error: null,
    usage: null,
  };
}

function inputEntry(
  worker_ref: WorkerRef,
  sequence: number,
  role: TranscriptRole,
  content: string,
  run_id: string | null,
  event_id: number,
  created_at: string,
): TranscriptEntry {
  return { sequence, worker_ref, role, content, run_id, partial: false, event_id, created_at };
}

/** Resolves with the run once it has ended, or as it is when `timeoutMs` passes first. */
export async function waitRun(ctx: RuntimeContext, address: WorkerAddress, run_id: string, timeoutMs: number): Promise<Run> {
  ctx.assertReadable();
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
    throw new RuntimeError("invalid_request", "timeoutMs must be a non-negative number of milliseconds");
  }
  const entry = ctx.entry(address);
  const active = runInMemory(entry, run_id);
  if (active && timeoutMs > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // setTimeout fires at once for delays past its 32-bit range, which would end the wait early.
    const delay = Math.min(timeoutMs, MAX_TIMER_MS);
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), delay)));
    const run = await Promise.race([active.done, timeout]);
    clearTimeout(timer);
    if (run) return run;
  }
  return getRun(ctx, entry.id, run_id);
}
