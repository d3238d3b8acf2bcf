import { answerPermission } from "./agent-activity.ts";
import { createWorker, deleteWorker, getWorker, listWorkers, type ListWorkersQuery } from "./catalog.ts";
import type { RuntimeContext } from "./context.ts";
import { idempotent, type WriteOptions } from "./idempotency.ts";
import { workerIdOf, type WorkerAddress } from "./identity.ts";
import { sendInput, waitRun } from "./interaction.ts";
import { cancelRun, restoreWorker, stopWorker } from "./lifecycle.ts";
import { closeRuntime, diagnostics, openRuntime, summary, type RuntimeOptions } from "./management.ts";
import { getRun, listRuns, readEvents, subscribe, transcript, type ListRunsQuery, type TranscriptQuery } from "./observation.ts";
import type { WorkerRef } from "./schema/common.ts";
import type { Diagnostic } from "./schema/diagnostic.ts";
import type { EventBatch, RuntimeEvent } from "./schema/event.ts";
import { notReady, READY, type Readiness } from "./readiness.ts";
import type { Ack, InputRequest } from "./schema/interaction.ts";
import type { PermissionAnswerRequest } from "./schema/agent.ts";
import type { Run } from "./schema/run.ts";
import type { RemovedWorkspace } from "./schema/workspace.ts";
import type { Limits, RuntimeSummary } from "./schema/runtime.ts";
import type { TranscriptPage } from "./schema/transcript.ts";
import type { CreateWorkerRequest, WorkerDetail, WorkerSummary } from "./schema/worker.ts";
import type { EventSubscription, SubscribeOptions } from "./subscription.ts";

export type { RuntimeLogger } from "./ports/logger.ts";
export type { WorkspaceProvider } from "./ports/workspaces.ts";
export type { RuntimeOptions } from "./management.ts";
export type { WorkerAddress } from "./identity.ts";
export type { IdempotencyOption, WriteOptions } from "./idempotency.ts";
export type { ListWorkersQuery } from "./catalog.ts";
export type { ListRunsQuery, TranscriptQuery } from "./observation.ts";

/**
 * The runtime core (SPEC §3): owns workers, their runs, transcripts and events, over a
 * `RuntimeStore`. A facade over the core's responsibilities; each operation validates its input,
 * moves the worker through the §5 state machine, commits to the store, then publishes its events.
 * Every method fails with `RuntimeError`.
 */
export class Runtime {
  readonly runtime_id: string;
  readonly limits: Readonly<Limits>;
  private readonly ctx: RuntimeContext;
  private closing: Promise<void> | null = null;

  private constructor(ctx: RuntimeContext) {
    this.ctx = ctx;
    this.runtime_id = ctx.runtime_id;
    this.limits = ctx.limits;
  }

  /** Opens the store, restores every worker and marks runs that were running as `interrupted`. */
  static async open(options: RuntimeOptions): Promise<Runtime> {
    return new Runtime(await openRuntime(options));
  }

  // ---------------------------------------------------------------- management

  async summary(): Promise<RuntimeSummary> {
    return summary(this.ctx);
  }

  async diagnostics(): Promise<Diagnostic[]> {
    return diagnostics(this.ctx);
  }

  /** Interrupts active runs, records `runtime_stopped` and closes the store. Idempotent. */
  close(): Promise<void> {
    this.closing ??= closeRuntime(this.ctx);
    return this.closing;
  }

  // ---------------------------------------------------------------- catalog and lifecycle

  async listWorkers(query: ListWorkersQuery = {}): Promise<{ workers: WorkerSummary[]; next_after: string | null }> {
    return listWorkers(this.ctx, query);
  }

  async getWorker(ref: WorkerAddress): Promise<WorkerDetail> {
    return getWorker(this.ctx, ref);
  }

  /** `options.idempotency`: a retry with the same key and request answers the first result (SPEC §10). */
  async createWorker(input: CreateWorkerRequest = {}, options: WriteOptions = {}): Promise<WorkerDetail> {
    return idempotent(this.ctx, options.idempotency, "createWorker", () => [input], (claim) => createWorker(this.ctx, input, claim));
  }

  /** Aborts the active run as `cancelled` and sets the worker `stopped`. Stopping a stopped worker is a no-op. */
  async stopWorker(ref: WorkerAddress, reason?: string, options: WriteOptions = {}): Promise<Ack> {
    return idempotent(this.ctx, options.idempotency, "stopWorker", () => [this.idOf(ref), reason], (claim) => stopWorker(this.ctx, ref, reason, claim));
  }

  /** Aborts the active run as `cancelled` once its backend work has stopped; no active run is a success. */
  async cancelRun(ref: WorkerAddress, reason?: string, options: WriteOptions = {}): Promise<Ack> {
    return idempotent(this.ctx, options.idempotency, "cancelRun", () => [this.idOf(ref), reason], () => cancelRun(this.ctx, ref, reason));
  }

  /** Moves a `stopped` worker back to `idle`; any other status is left as it is. */
  async restoreWorker(ref: WorkerAddress, options: WriteOptions = {}): Promise<Ack> {
    return idempotent(this.ctx, options.idempotency, "restoreWorker", () => [this.idOf(ref)], (claim) => restoreWorker(this.ctx, ref, claim));
  }

  /**
   * Removes a worker that has no active run, with its transcript, runs, files and worktrees. A
   * worktree with uncommitted changes fails `workspace_dirty` unless `force`; `workspaces` says
   * what became of each (branches kept, changes discarded).
   */
  async deleteWorker(ref: WorkerAddress, options: { force?: boolean } = {}): Promise<{ deleted: WorkerRef; workspaces?: RemovedWorkspace[] }> {
    return deleteWorker(this.ctx, ref, options);
  }

  // ---------------------------------------------------------------- interaction

  /**
   * Appends input to the transcript. `user` input starts a run in the background and is
   * acknowledged once it is stored; `system` input is context for later runs.
   */
  async sendInput(ref: WorkerAddress, input: InputRequest, options: WriteOptions = {}): Promise<Ack> {
    return idempotent(this.ctx, options.idempotency, "sendInput", () => [this.idOf(ref), input], (claim) => sendInput(this.ctx, ref, input, claim));
  }

  /**
   * Answers the permission request an agent run waits on with one of its offered options
   * (`no_pending_permission` when it waits on none); returns the run as it is then.
   */
  async answerPermission(ref: WorkerAddress, run_id: string, answer: PermissionAnswerRequest, options: WriteOptions = {}): Promise<Run> {
    return idempotent(this.ctx, options.idempotency, "answerPermission", () => [this.idOf(ref), run_id, answer], (claim) =>
      answerPermission(this.ctx, ref, run_id, answer, claim),
    );
  }

  /** Resolves with the run once it has ended, or as it is when `timeoutMs` passes first. */
  async waitRun(ref: WorkerAddress, run_id: string, timeoutMs: number): Promise<Run> {
    return waitRun(this.ctx, ref, run_id, timeoutMs);
  }

  // ---------------------------------------------------------------- observation

  async getRun(ref: WorkerAddress, run_id: string): Promise<Run> {
    return getRun(this.ctx, ref, run_id);
  }

  async listRuns(ref: WorkerAddress, query: ListRunsQuery = {}): Promise<{ runs: Run[]; next_after: string | null }> {
    return listRuns(this.ctx, ref, query);
  }

  async transcript(ref: WorkerAddress, query: TranscriptQuery = {}): Promise<TranscriptPage> {
    return transcript(this.ctx, ref, query);
  }

  /** Stored events with id > after (all workers, or one), at most `limit`. */
  async readEvents(cursor: { after?: number; worker_id?: string } = {}, limit?: number): Promise<EventBatch> {
    return readEvents(this.ctx, cursor, limit);
  }

  /**
   * Live, resumable events: replays stored events after `options.after`, then follows live ones,
   * including ephemeral `run_output_delta` events. Fails `cursor_expired` at once for a pruned cursor.
   */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    return subscribe(this.ctx, options);
  }

  /**
   * Calls `observer` synchronously with every event as it is published (stored and ephemeral),
   * for in-process instruments such as metrics: no queue, no replay, not a subscription. An
   * observer must not throw or block. Returns a function that removes it.
   */
  observe(observer: (event: RuntimeEvent) => void): () => void {
    this.ctx.observers.add(observer);
    return () => this.ctx.observers.delete(observer);
  }

  /** Ready to take work: running, with a store that can write (SPEC §10 `/readyz`). */
  readiness(): Readiness {
    if (this.ctx.status !== "running") return notReady(this.ctx.status);
    const health = this.ctx.store.health?.();
    if (health !== undefined && !health.writable) return notReady(health.cause ?? "store_unwritable");
    return READY;
  }

  /** How many idempotency keys are kept now (expired ones are not counted). */
  get idempotencyKeyCount(): number {
    return this.ctx.idempotency.size;
  }

  /** The worker id an address names, for a request's fingerprint. */
  private idOf(ref: WorkerAddress): string {
    return workerIdOf(this.runtime_id, ref);
  }

  /** Number of live subscriptions, for observing that disconnects free them. */
  get subscriberCount(): number {
    return this.ctx.subscribers.size;
  }
}
