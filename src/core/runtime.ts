import { notReady, READY, type Readiness } from "./readiness.ts";
import type { BackendDefinition, RunOutput } from "../execution/backend.ts";
import type { RuntimeStore, StoreCommit } from "../store/store.ts";
import { RuntimeError } from "./errors.ts";
import { assertWorkerId, isValidId, newRunId, newRuntimeId, newWorkerId } from "./ids.ts";
import { BUILTIN_PROFILE, buildProfiles, resolveProfile, type Profile, type ProfileConfig } from "./profiles.ts";
import { DisplayName, type WorkerRef } from "./schema/common.ts";
import type { Diagnostic, DiagnosticLevel } from "./schema/diagnostic.ts";
import type { EventBatch, EventKind, RuntimeEvent, StoredEvent } from "./schema/event.ts";
import { Ack, InputRequest, ReasonRequest } from "./schema/interaction.ts";
import type { Run, RunStatus, Usage } from "./schema/run.ts";
import { DEFAULT_LIMITS, Limits, type ProfileInfo, type RuntimeRecord, type RuntimeStatus, type RuntimeSummary } from "./schema/runtime.ts";
import type { TranscriptEntry, TranscriptPage, TranscriptRole } from "./schema/transcript.ts";
import {
  CreateWorkerRequest,
  WorkerStatus,
  type WorkerDetail,
  type WorkerRecord,
  type WorkerState,
  type WorkerSummary,
} from "./schema/worker.ts";
import { EventSubscription, type SubscribeOptions } from "./subscription.ts";
import { validate } from "./validate.ts";

export interface RuntimeLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface RuntimeOptions {
  store: RuntimeStore;
  /** Backend kinds profiles may use; must include `echo` for the builtin profile. */
  backends: readonly BackendDefinition<any>[];
  runtime_id?: string;
  display_name?: string | null;
  profiles?: Record<string, ProfileConfig>;
  default_profile?: string;
  limits?: Partial<Limits>;
  version?: string;
  logger?: RuntimeLogger;
}

export type WorkerAddress = WorkerRef | string;

export interface ListWorkersQuery {
  status?: WorkerStatus;
  limit?: number;
  after?: string;
}

export interface TranscriptQuery {
  start?: number;
  limit?: number;
  tail?: number;
}

export interface ListRunsQuery {
  limit?: number;
  after?: string;
}

type AbortKind = "cancelled" | "timed_out" | "interrupted";

interface ActiveRun {
  run: Run;
  controller: AbortController;
  abort: { kind: AbortKind; reason: string } | null;
  done: Promise<Run>;
  settle: (run: Run) => void;
}

interface WorkerEntry {
  id: string;
  record: WorkerRecord | null;
  state: WorkerState | null;
  unavailable: string | null;
  active: ActiveRun | null;
  /**
   * The last run while its final record is being stored. The worker already takes new input, but
   * the store still holds the run as `running`, so reads of it must come from here meanwhile.
   */
  ending: ActiveRun | null;
  /** Set while a stop is in progress; input is refused meanwhile. */
  stopping: Promise<Ack> | null;
}

const MAX_WORKER_PAGE = 500;
const MAX_RUN_PAGE = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;
const STATUS_BY_ABORT: Record<AbortKind, RunStatus> = {
  cancelled: "cancelled",
  timed_out: "timed_out",
  interrupted: "interrupted",
};
const EVENT_BY_RUN_STATUS: Record<Exclude<RunStatus, "running">, EventKind> = {
  completed: "run_completed",
  failed: "run_failed",
  cancelled: "run_cancelled",
  timed_out: "run_timed_out",
  interrupted: "run_interrupted",
};
const SILENT_LOGGER: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

const now = (): string => new Date().toISOString();
const utf8 = new TextEncoder();

/**
 * The runtime core: owns workers, their runs, transcripts and events, over a `RuntimeStore`.
 * Every public method validates its input and fails with `RuntimeError`.
 */
export class Runtime {
  readonly runtime_id: string;
  readonly limits: Readonly<Limits>;
  private readonly display_name: string | null;
  private readonly store: RuntimeStore;
  private readonly profiles: Map<string, Profile>;
  /** What the summary says of the profiles; fixed once the runtime is open. */
  private readonly profileInfo: { profiles: ProfileInfo[]; capabilities: string[] };
  private readonly default_profile: string;
  private readonly version: string;
  private readonly log: RuntimeLogger;
  private readonly workers = new Map<string, WorkerEntry>();
  private readonly subscribers = new Set<EventSubscription>();
  private readonly observers = new Set<(event: RuntimeEvent) => void>();
  private readonly started_at = now();
  private lastEventId: number;
  private diagnosticCount: number;
  private status: RuntimeStatus = "running";
  private closing: Promise<void> | null = null;

  private constructor(
    options: RuntimeOptions,
    record: RuntimeRecord,
    lastEventId: number,
    diagnosticCount: number,
    profiles: Map<string, Profile>,
    limits: Limits,
  ) {
    this.store = options.store;
    this.runtime_id = record.id;
    this.display_name = record.display_name;
    this.default_profile = options.default_profile ?? BUILTIN_PROFILE;
    this.version = options.version ?? "0.0.0";
    this.log = options.logger ?? SILENT_LOGGER;
    this.profiles = profiles;
    const infos = [...profiles.values()].map((p) => p.info);
    // Not frozen: JSC's JSON.stringify takes a slow path for frozen arrays, and every summary
    // encodes these.
    this.profileInfo = { profiles: infos, capabilities: [...new Set(infos.flatMap((p) => p.capabilities))].sort() };
    this.limits = Object.freeze(limits);
    this.lastEventId = lastEventId;
    this.diagnosticCount = diagnosticCount;
  }

  /** Opens the store, restores every worker and marks runs that were running as `interrupted`. */
  static async open(options: RuntimeOptions): Promise<Runtime> {
    assertObject(options, "options");
    if (!Array.isArray(options.backends)) {
      throw new RuntimeError("invalid_request", "options.backends must list the backend definitions (e.g. builtinBackends)");
    }
    if (typeof options.store?.open !== "function") {
      throw new RuntimeError("invalid_request", "options.store must be a RuntimeStore (e.g. new MemoryStore())");
    }
    const limits = validate(Limits, { ...DEFAULT_LIMITS, ...options.limits }, "limits");
    if (options.runtime_id !== undefined && !isValidId(options.runtime_id)) {
      throw new RuntimeError("invalid_request", "runtime_id must be 1-128 characters matching ^[A-Za-z0-9][A-Za-z0-9._-]*$");
    }
    if (options.display_name != null) validate(DisplayName, options.display_name, "display_name");
    const profiles = buildProfiles(options.profiles ?? {}, options.backends, options.default_profile ?? BUILTIN_PROFILE);
    const snapshot = await options.store.open({
      runtime_id: options.runtime_id,
      display_name: options.display_name ?? null,
      newRuntimeId,
      max_retained_events: limits.max_retained_events,
    });
    const existing = await options.store.listDiagnostics();
    const runtime = new Runtime(options, snapshot.runtime, snapshot.last_event_id, existing.length, profiles, limits);
    for (const stored of snapshot.workers) {
      runtime.workers.set(stored.worker_id, {
        id: stored.worker_id,
        record: stored.record,
        state: stored.state,
        unavailable: stored.unavailable ?? null,
        active: null,
        ending: null,
        stopping: null,
      });
    }
    await runtime.start(snapshot.diagnostics);
    return runtime;
  }

  private async start(repairs: Diagnostic[]): Promise<void> {
    const commit: Required<Pick<StoreCommit, "events" | "diagnostics" | "runs" | "states">> = {
      events: [],
      diagnostics: [],
      runs: [],
      states: [],
    };
    commit.events.push(this.event("runtime_started", null, null, { version: this.version, store: this.store.kind }));
    for (const diagnostic of repairs) this.addDiagnostic(commit, diagnostic);
    for (const entry of this.workers.values()) {
      if (entry.unavailable) {
        this.addDiagnostic(
          commit,
          this.diagnostic("error", "worker_unavailable", entry.unavailable, this.refOf(entry.id), null),
        );
        continue;
      }
      const state = entry.state!;
      if (state.status !== "running" && state.active_run_id === null) continue;
      const runId = state.active_run_id;
      const stored = runId ? await this.store.getRun(entry.id, runId) : undefined;
      if (stored && stored.status === "running") {
        const run: Run = {
          ...stored,
          status: "interrupted",
          finished_at: now(),
          error: { code: "interrupted", message: "the runtime stopped while this run was active" },
        };
        commit.runs.push(run);
        commit.events.push(this.event("run_interrupted", run.worker_ref, run.run_id, { run }));
        this.addDiagnostic(
          commit,
          this.diagnostic("warning", "run_interrupted", `run ${run.run_id} was interrupted by a restart`, run.worker_ref, run.run_id),
        );
      }
      entry.state = { ...state, status: state.status === "stopped" ? "stopped" : "idle", active_run_id: null, updated_at: now() };
      commit.states.push({ worker_id: entry.id, state: entry.state });
    }
    await this.persist(commit);
  }

  // ---------------------------------------------------------------- management

  /** Ready to take work: running, with a store that can write (SPEC §10 `/readyz`). */
  readiness(): Readiness {
    if (this.status !== "running") return notReady(this.status);
    const health = this.store.health?.();
    if (health !== undefined && !health.writable) return notReady(health.cause ?? "store_unwritable");
    return READY;
  }

  summary(): Promise<RuntimeSummary> {
    const workers = { total: 0, idle: 0, running: 0, stopped: 0, unavailable: 0 };
    let active_runs = 0;
    for (const entry of this.workers.values()) {
      workers.total++;
      workers[this.statusOf(entry)]++;
      if (entry.active) active_runs++;
    }
    return Promise.resolve({
      id: this.runtime_id,
      runtime_id: this.runtime_id,
      display_name: this.display_name,
      store: this.store.kind,
      status: this.status,
      version: this.version,
      started_at: this.started_at,
      workers,
      active_runs,
      diagnostic_count: this.diagnosticCount,
      last_event_id: this.lastEventId,
      limits: this.limits,
      default_profile: this.default_profile,
      profiles: this.profileInfo.profiles,
      capabilities: this.profileInfo.capabilities,
    });
  }

  async diagnostics(): Promise<Diagnostic[]> {
    this.assertReadable();
    return this.store.listDiagnostics();
  }

  /** Interrupts active runs, records `runtime_stopped` and closes the store. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.status = "closing";
      const active = [...this.workers.values()].flatMap((e) => (e.active ? [e.active] : []));
      for (const run of active) this.abortRun(run, "interrupted", "the runtime is shutting down");
      await Promise.allSettled(active.map((run) => run.done));
      try {
        await this.persist({ events: [this.event("runtime_stopped", null, null, {})] });
      } catch (error) {
        this.log.error("could not record runtime_stopped", { error: String(error) });
      }
      // Ended, not cut off: subscribers still receive what is queued, runtime_stopped included.
      for (const subscriber of [...this.subscribers]) subscriber.end();
      await Promise.allSettled([...this.profiles.values()].map((p) => p.backend.close?.()));
      await this.store.close();
      this.status = "closed";
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- catalog and lifecycle

  async listWorkers(query: ListWorkersQuery = {}): Promise<{ workers: WorkerSummary[]; next_after: string | null }> {
    this.assertReadable();
    assertObject(query, "query");
    if (query.status !== undefined) validate(WorkerStatus, query.status, "status");
    const limit = this.pageLimit(query.limit, MAX_WORKER_PAGE, 100);
    assertCursor(query.after);
    const ids = [...this.workers.keys()].sort();
    let index = 0;
    if (query.after !== undefined) {
      const after = query.after;
      index = ids.findIndex((id) => id > after);
      if (index < 0) index = ids.length;
    }
    const workers: WorkerSummary[] = [];
    let next_after: string | null = null;
    for (; index < ids.length; index++) {
      const entry = this.workers.get(ids[index]!)!;
      if (query.status !== undefined && this.statusOf(entry) !== query.status) continue;
      if (workers.length === limit) {
        next_after = workers[workers.length - 1]!.worker_ref.worker_id;
        break;
      }
      workers.push(this.summaryOf(entry));
    }
    return { workers, next_after };
  }

  async getWorker(ref: WorkerAddress): Promise<WorkerDetail> {
    this.assertReadable();
    return this.detailOf(this.entry(ref, { allowUnavailable: true }));
  }

  async createWorker(input: CreateWorkerRequest = {}): Promise<WorkerDetail> {
    this.assertOpen();
    // A bad id gets its own code (§9), whatever else is wrong with the request.
    const requested_id = (input as { worker_id?: unknown } | null)?.worker_id;
    if (requested_id !== undefined) assertWorkerId(requested_id);
    // A copy: the record must not change when the caller later reuses or edits its request object.
    const request = plainCopy(validate(CreateWorkerRequest, input, "create request"), "create request");
    const worker_id = request.worker_id ?? newWorkerId();
    if (this.workers.has(worker_id)) {
      throw new RuntimeError("worker_exists", `worker ${worker_id} already exists`, { worker_id });
    }
    if (this.workers.size >= this.limits.max_workers) {
      throw new RuntimeError("worker_limit_reached", `this runtime holds at most ${this.limits.max_workers} workers`);
    }
    const profile = resolveProfile(this.profiles, request.profile ?? { kind: "runtime_default" }, this.default_profile);
    for (const capability of request.requested_capabilities ?? []) {
      if (!profile.info.capabilities.includes(capability.name)) {
        throw new RuntimeError(
          "unsupported_capability",
          `profile "${profile.info.name}" does not offer capability "${capability.name}"`,
          { capability: capability.name, profile: profile.info.name },
        );
      }
    }
    const created_at = now();
    const worker_ref = this.refOf(worker_id);
    const record: WorkerRecord = {
      worker_ref,
      display_name: request.display_name ?? null,
      intent: request.intent ?? { kind: "assistant" },
      profile: { name: profile.info.name, backend: profile.info.backend },
      config_bundle: request.config_bundle ?? null,
      requested_capabilities: request.requested_capabilities ?? [],
      workspace_refs: request.workspace_refs ?? [],
      mount_refs: request.mount_refs ?? [],
      created_at,
    };
    const event = this.event("worker_created", worker_ref, null, {
      display_name: record.display_name,
      profile: record.profile,
      intent_kind: record.intent.kind,
    });
    const state: WorkerState = {
      status: "idle",
      active_run_id: null,
      transcript_items: 0,
      run_count: 0,
      last_event_id: event.id,
      stopped_reason: null,
      updated_at: created_at,
    };
    const entry: WorkerEntry = { id: worker_id, record, state, unavailable: null, active: null, ending: null, stopping: null };
    // Claimed before the first await so a concurrent create of the same id fails `worker_exists`.
    this.workers.set(worker_id, entry);
    const commit: StoreCommit = { createWorker: record, states: [{ worker_id, state }], events: [event] };
    if (record.config_bundle) {
      this.addDiagnostic(
        commit,
        this.diagnostic(
          "warning",
          "config_bundle_unresolved",
          `config bundle "${record.config_bundle.id}" is recorded but not resolved by this runtime`,
          worker_ref,
          null,
        ),
      );
    }
    try {
      await this.persist(commit);
    } catch (error) {
      this.workers.delete(worker_id);
      throw error;
    }
    return this.detailOf(entry);
  }

  /** Aborts the active run as `cancelled` and sets the worker `stopped`. Stopping a stopped worker is a no-op. */
  async stopWorker(ref: WorkerAddress, reason?: string): Promise<Ack> {
    this.assertOpen();
    const why = this.reason(reason);
    const entry = this.entry(ref);
    if (entry.stopping) return entry.stopping;
    if (entry.state!.status === "stopped") return this.ack(entry, { run_id: null, event_id: null });
    entry.stopping = (async () => {
      try {
        let cancelled: string | null = null;
        if (entry.active) {
          const active = entry.active;
          this.abortRun(active, "cancelled", why ?? "the worker was stopped");
          const run = await active.done;
          if (run.status === "cancelled") cancelled = run.run_id;
        }
        const event = this.event("worker_stopped", this.refOf(entry.id), null, {
          reason: why ?? null,
          cancelled_run_id: cancelled,
        });
        entry.state = { ...entry.state!, status: "stopped", stopped_reason: why ?? null, last_event_id: event.id, updated_at: now() };
        await this.persist({ states: [{ worker_id: entry.id, state: entry.state }], events: [event] });
        return this.ack(entry, { run_id: null, event_id: event.id, cancelled_run_id: cancelled });
      } finally {
        entry.stopping = null;
      }
    })();
    return entry.stopping;
  }

  /** Aborts the active run as `cancelled` once its backend work has stopped; no active run is a success. */
  async cancelRun(ref: WorkerAddress, reason?: string): Promise<Ack> {
    this.assertOpen();
    const why = this.reason(reason);
    const entry = this.entry(ref);
    const active = entry.active;
    if (!active) return this.ack(entry, { run_id: null, event_id: null, cancelled_run_id: null });
    this.abortRun(active, "cancelled", why ?? "cancelled by request");
    const run = await active.done;
    const cancelled = run.status === "cancelled";
    return this.ack(entry, {
      run_id: run.run_id,
      event_id: entry.state!.last_event_id,
      cancelled_run_id: cancelled ? run.run_id : null,
    });
  }

  /** Moves a `stopped` worker back to `idle`; any other status is left as it is. */
  async restoreWorker(ref: WorkerAddress): Promise<Ack> {
    this.assertOpen();
    const entry = this.entry(ref);
    if (entry.stopping) {
      await entry.stopping.catch(() => undefined);
      // The runtime may have begun closing meanwhile; nothing is recorded after runtime_stopped.
      this.assertOpen();
    }
    if (entry.state!.status !== "stopped") return this.ack(entry, { run_id: null, event_id: null });
    const event = this.event("worker_restored", this.refOf(entry.id), null, {});
    entry.state = { ...entry.state!, status: "idle", stopped_reason: null, last_event_id: event.id, updated_at: now() };
    await this.persist({ states: [{ worker_id: entry.id, state: entry.state }], events: [event] });
    return this.ack(entry, { run_id: null, event_id: event.id });
  }

  /** Removes a worker that has no active run, with its transcript, runs and files. */
  async deleteWorker(ref: WorkerAddress): Promise<{ deleted: WorkerRef }> {
    this.assertOpen();
    const entry = this.entry(ref, { allowUnavailable: true });
    if (entry.active || entry.stopping) {
      throw new RuntimeError("worker_busy", `worker ${entry.id} has an active run; cancel or stop it first`, {
        active_run_id: entry.active?.run.run_id ?? null,
      });
    }
    const worker_ref = this.refOf(entry.id);
    this.workers.delete(entry.id);
    try {
      await this.persist({ deleteWorker: entry.id, events: [this.event("worker_deleted", worker_ref, null, {})] });
    } catch (error) {
      this.workers.set(entry.id, entry);
      throw error;
    }
    return { deleted: worker_ref };
  }

  // ---------------------------------------------------------------- interaction

  /**
   * Appends input to the transcript. `user` input starts a run in the background and is
   * acknowledged once it is stored; `system` input is context for later runs.
   */
  async sendInput(ref: WorkerAddress, input: InputRequest): Promise<Ack> {
    this.assertOpen();
    const request = validate(InputRequest, input, "input");
    const entry = this.entry(ref);
    const bytes = utf8.encode(request.content).length;
    if (bytes > this.limits.max_input_bytes) {
      throw new RuntimeError(
        "payload_too_large",
        `content is ${bytes} bytes; limits.max_input_bytes is ${this.limits.max_input_bytes}`,
      );
    }
    if (entry.state!.status === "stopped" || entry.stopping) {
      throw new RuntimeError("worker_stopped", `worker ${entry.id} is stopped; restore it first`);
    }
    if (entry.active) {
      throw new RuntimeError("worker_busy", `worker ${entry.id} already has an active run`, {
        active_run_id: entry.active.run.run_id,
      });
    }
    const worker_ref = this.refOf(entry.id);
    const previous = entry.state!;
    const sequence = previous.transcript_items;
    const created_at = now();
    if (request.kind === "system") {
      const event = this.event("worker_input_accepted", worker_ref, null, { role: "system", transcript_sequence: sequence });
      entry.state = { ...previous, transcript_items: sequence + 1, last_event_id: event.id, updated_at: created_at };
      await this.persistOrRevert(entry, previous, {
        transcript: [this.entryOf(worker_ref, sequence, "system", request.content, null, false, event.id, created_at)],
        states: [{ worker_id: entry.id, state: entry.state }],
        events: [event],
      });
      return this.ack(entry, { run_id: null, event_id: event.id, transcript_sequence: sequence });
    }

    const profile = this.profileOf(entry);
    const run_id = newRunId();
    const run: Run = {
      run_id,
      worker_ref,
      status: "running",
      profile: profile.info.name,
      input_sequence: sequence,
      output_sequence: null,
      partial: false,
      started_at: created_at,
      finished_at: null,
      error: null,
      usage: null,
    };
    let settle!: (run: Run) => void;
    const done = new Promise<Run>((resolve) => (settle = resolve));
    const active: ActiveRun = { run, controller: new AbortController(), abort: null, done, settle };
    // Claimed synchronously, before any await: this is what makes single flight hold under concurrency.
    entry.active = active;
    const accepted = this.event("worker_input_accepted", worker_ref, run_id, { role: "user", transcript_sequence: sequence });
    const started = this.event("run_started", worker_ref, run_id, { input_sequence: sequence, profile: profile.info.name });
    entry.state = {
      ...previous,
      status: "running",
      active_run_id: run_id,
      transcript_items: sequence + 1,
      run_count: previous.run_count + 1,
      last_event_id: started.id,
      updated_at: created_at,
    };
    try {
      await this.persist({
        transcript: [this.entryOf(worker_ref, sequence, "user", request.content, run_id, false, accepted.id, created_at)],
        runs: [run],
        states: [{ worker_id: entry.id, state: entry.state }],
        events: [accepted, started],
      });
    } catch (error) {
      entry.active = null;
      entry.state = previous;
      settle(run);
      throw error;
    }
    void this.execute(entry, active, profile, request.content);
    return this.ack(entry, { run_id, event_id: accepted.id, transcript_sequence: sequence });
  }

  /** Resolves with the run once it has ended, or as it is when `timeoutMs` passes first. */
  async waitRun(ref: WorkerAddress, run_id: string, timeoutMs: number): Promise<Run> {
    this.assertReadable();
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      throw new RuntimeError("invalid_request", "timeoutMs must be a non-negative number of milliseconds");
    }
    const entry = this.entry(ref, { allowUnavailable: true });
    const active = this.runInMemory(entry, run_id);
    if (active && timeoutMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // setTimeout fires at once for delays past its 32-bit range, which would end the wait early.
      const delay = Math.min(timeoutMs, MAX_TIMER_MS);
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), delay)));
      const run = await Promise.race([active.done, timeout]);
      clearTimeout(timer);
      if (run) return run;
    }
    return this.getRun(entry.id, run_id);
  }

  // ---------------------------------------------------------------- observation

  async getRun(ref: WorkerAddress, run_id: string): Promise<Run> {
    this.assertReadable();
    const entry = this.entry(ref);
    // Only a well-formed id is looked up or echoed back: anything else may not even convert to a string.
    if (!isValidId(run_id)) throw new RuntimeError("run_not_found", `worker ${entry.id} has no run with that id`);
    const current = this.runInMemory(entry, run_id);
    if (current) return current.run;
    const run = await this.store.getRun(entry.id, run_id);
    if (!run) throw new RuntimeError("run_not_found", `worker ${entry.id} has no run ${run_id}`);
    return run;
  }

  async listRuns(ref: WorkerAddress, query: ListRunsQuery = {}): Promise<{ runs: Run[]; next_after: string | null }> {
    this.assertReadable();
    assertObject(query, "query");
    const entry = this.entry(ref);
    const limit = this.pageLimit(query.limit, MAX_RUN_PAGE, 100);
    assertCursor(query.after);
    const all = await this.store.listRuns(entry.id);
    const after = query.after;
    const start = after === undefined ? 0 : all.findIndex((run) => run.run_id > after);
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const runs = page.map((run) => this.runInMemory(entry, run.run_id)?.run ?? run);
    const last = runs[runs.length - 1];
    const next_after = last && start + limit < all.length ? last.run_id : null;
    return { runs, next_after };
  }

  async transcript(ref: WorkerAddress, query: TranscriptQuery = {}): Promise<TranscriptPage> {
    this.assertReadable();
    assertObject(query, "query");
    const entry = this.entry(ref);
    const max = this.limits.max_transcript_projection_items;
    const total = entry.state!.transcript_items;
    for (const key of ["start", "limit", "tail"] as const) {
      const value = query[key];
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new RuntimeError("invalid_request", `${key} must be a non-negative integer`);
      }
    }
    // An empty page would hand back next_start = start, and a pager following it would never end.
    if (query.limit === 0) throw new RuntimeError("invalid_request", "limit must be a positive integer");
    if (query.tail !== undefined && query.start !== undefined) {
      throw new RuntimeError("invalid_request", "use either start or tail, not both");
    }
    const requested = query.tail ?? query.limit ?? Math.min(100, max);
    if (requested > max) {
      throw new RuntimeError("limit_too_large", `at most ${max} items per read (limits.max_transcript_projection_items)`, {
        max,
      });
    }
    const start = query.tail !== undefined ? Math.max(0, total - query.tail) : (query.start ?? 0);
    const limit = query.tail !== undefined ? query.tail : requested;
    const count = Math.max(0, Math.min(limit, total - start));
    const items = count === 0 ? [] : await this.store.readTranscript(entry.id, start, count);
    const end = start + items.length;
    return {
      worker_ref: this.refOf(entry.id),
      start,
      limit,
      total_items: total,
      items,
      next_start: end < total ? end : null,
    };
  }

  /** Stored events with id > after (all workers, or one), at most `limit`. */
  async readEvents(cursor: { after?: number; worker_id?: string } = {}, limit?: number): Promise<EventBatch> {
    this.assertReadable();
    assertObject(cursor, "cursor");
    const after = cursor.after ?? 0;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new RuntimeError("invalid_request", "after must be a non-negative integer event id");
    }
    if (cursor.worker_id !== undefined) assertWorkerId(cursor.worker_id);
    const max = this.limits.max_event_batch_items;
    const size = this.pageLimit(limit, max, Math.min(100, max));
    this.checkCursor(after);
    const events = await this.store.readEvents({ after, limit: size, worker_id: cursor.worker_id });
    const last = events[events.length - 1];
    const next_after = last ? last.id : Math.max(after, cursor.worker_id === undefined ? 0 : Math.min(after, this.lastEventId));
    return {
      runtime_id: this.runtime_id,
      events,
      next_after,
      has_more: events.length === size && next_after < this.lastEventId,
    };
  }

  /**
   * Live, resumable events: replays stored events after `options.after`, then follows live ones,
   * including ephemeral `run_output_delta` events. Fails `cursor_expired` at once for a pruned cursor.
   */
  subscribe(options: SubscribeOptions = {}): EventSubscription {
    this.assertOpen();
    assertObject(options, "options");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new RuntimeError("invalid_request", "signal must be an AbortSignal");
    }
    const after = options.after ?? this.lastEventId;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new RuntimeError("invalid_request", "after must be a non-negative integer event id");
    }
    if (options.worker_id !== undefined) assertWorkerId(options.worker_id);
    if (options.queue_limit !== undefined && (!Number.isSafeInteger(options.queue_limit) || options.queue_limit < 1)) {
      throw new RuntimeError("invalid_request", "queue_limit must be a positive integer");
    }
    this.checkCursor(after);
    const subscription = new EventSubscription(
      {
        readEvents: (from, limit, worker_id) => this.store.readEvents({ after: from, limit, worker_id }),
        checkCursor: (from) => this.checkCursor(from),
      },
      (s) => this.subscribers.delete(s),
      after,
      options,
    );
    this.subscribers.add(subscription);
    subscription.start();
    return subscription;
  }

  /**
   * Calls `observer` synchronously with every event as it is published (stored and ephemeral),
   * for in-process instruments such as metrics: no queue, no replay, not a subscription. An
   * observer must not throw or block. Returns a function that removes it.
   */
  observe(observer: (event: RuntimeEvent) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Number of live subscriptions, for observing that disconnects free them. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  // ---------------------------------------------------------------- execution

  private async execute(entry: WorkerEntry, active: ActiveRun, profile: Profile, input: string): Promise<void> {
    const { run, controller } = active;
    let output = "";
    let usage: Usage | null = null;
    let failure: Run["error"] = null;
    const timer =
      profile.timeout_ms === null
        ? null
        : setTimeout(
            () => this.abortRun(active, "timed_out", `the run exceeded its timeout of ${profile.timeout_ms! / 1000}s`),
            profile.timeout_ms,
          );
    try {
      const outputs: AsyncIterable<RunOutput> = profile.backend.run({
        worker_ref: run.worker_ref,
        run_id: run.run_id,
        input,
        work_dir: this.store.workDir(entry.id),
        signal: controller.signal,
        history: (max) => this.history(entry.id, run.input_sequence, max),
      });
      for await (const item of outputs) {
        if (item.type === "delta") {
          if (item.text.length === 0) continue;
          output += item.text;
          this.publish(this.ephemeral("run_output_delta", run.worker_ref, run.run_id, { delta: item.text }));
        } else {
          usage = item.usage;
        }
        if (active.abort) break;
      }
    } catch (error) {
      if (!active.abort) failure = backendFailure(error);
    } finally {
      if (timer) clearTimeout(timer);
    }

    let status: RunStatus = "completed";
    let error: Run["error"] = null;
    if (active.abort) {
      status = STATUS_BY_ABORT[active.abort.kind];
      error = { code: active.abort.kind, message: active.abort.reason };
    } else if (failure) {
      status = failure.code === "timed_out" ? "timed_out" : "failed";
      error = failure;
    }
    await this.finishRun(entry, active, status, output, usage, error);
  }

  private async finishRun(
    entry: WorkerEntry,
    active: ActiveRun,
    status: RunStatus,
    output: string,
    usage: Usage | null,
    error: Run["error"],
  ): Promise<void> {
    const worker_ref = active.run.worker_ref;
    const partial = status !== "completed" && output.length > 0;
    const commit: StoreCommit & { events: StoredEvent[] } = { events: [] };
    const finished_at = now();
    let output_sequence: number | null = null;
    const state = entry.state!;
    let transcript_items = state.transcript_items;
    // The assistant entry's event is the terminal run event that carries it.
    if (output.length > 0) output_sequence = transcript_items++;
    const run: Run = { ...active.run, status, output_sequence, partial, finished_at, error, usage };
    const terminal = this.event(EVENT_BY_RUN_STATUS[status as Exclude<RunStatus, "running">], worker_ref, run.run_id, { run });
    commit.events.push(terminal);
    if (output_sequence !== null) {
      commit.transcript = [
        this.entryOf(worker_ref, output_sequence, "assistant", output, run.run_id, partial, terminal.id, finished_at),
      ];
    }
    if (status === "failed") {
      // The message can quote the program's stderr or the provider's answer, which can echo the
      // input: the log line names only the error code.
      this.addDiagnostic(
        commit,
        this.diagnostic("warning", "run_failed", `run ${run.run_id} failed: ${error?.message ?? "unknown error"}`, worker_ref, run.run_id, {
          error,
        }),
        `run ${run.run_id} failed: ${error?.code ?? "unknown"}`,
      );
    }
    active.run = run;
    entry.active = null;
    entry.ending = active;
    entry.state = {
      ...state,
      status: state.status === "stopped" ? "stopped" : "idle",
      active_run_id: null,
      transcript_items,
      last_event_id: this.lastEventId,
      updated_at: finished_at,
    };
    commit.runs = [run];
    commit.states = [{ worker_id: entry.id, state: entry.state }];
    try {
      await this.persist(commit);
    } catch (failure) {
      this.log.error("could not record the end of a run", { run_id: run.run_id, error: String(failure) });
    }
    if (entry.ending === active) entry.ending = null;
    this.log.debug("run finished", { worker_id: entry.id, run_id: run.run_id, status });
    active.settle(run);
  }

  private abortRun(active: ActiveRun, kind: AbortKind, reason: string): void {
    if (active.abort) return;
    active.abort = { kind, reason };
    active.controller.abort(new RuntimeError("internal", reason));
  }

  private async history(worker_id: string, before: number, max: number): Promise<TranscriptEntry[]> {
    if (max <= 0 || before <= 0) return [];
    const start = Math.max(0, before - max);
    return this.store.readTranscript(worker_id, start, before - start);
  }

  // ---------------------------------------------------------------- helpers

  private entry(ref: WorkerAddress, options: { allowUnavailable?: boolean } = {}): WorkerEntry {
    let worker_id: unknown = ref;
    if (typeof ref === "object" && ref !== null) {
      if (ref.runtime_id !== this.runtime_id) {
        throw new RuntimeError("wrong_runtime", `worker_ref names another runtime; this is ${this.runtime_id}`);
      }
      worker_id = ref.worker_id;
    }
    const id = assertWorkerId(worker_id);
    const entry = this.workers.get(id);
    if (!entry) throw new RuntimeError("worker_not_found", `worker ${id} does not exist`, { worker_id: id });
    if (entry.unavailable && !options.allowUnavailable) {
      throw new RuntimeError("store_corrupt", `worker ${id} is unavailable: ${entry.unavailable}`, { worker_id: id });
    }
    return entry;
  }

  /** The run with this id if it is active or still being recorded: then it is fresher than the store's copy. */
  private runInMemory(entry: WorkerEntry, run_id: string): ActiveRun | null {
    if (entry.active?.run.run_id === run_id) return entry.active;
    if (entry.ending?.run.run_id === run_id) return entry.ending;
    return null;
  }

  private profileOf(entry: WorkerEntry): Profile {
    const name = entry.record!.profile.name;
    const profile = this.profiles.get(name);
    if (!profile) {
      throw new RuntimeError("unknown_profile", `worker ${entry.id} uses profile "${name}", which is no longer configured`, {
        profile: name,
      });
    }
    return profile;
  }

  private assertOpen(): void {
    if (this.status !== "running") throw new RuntimeError("runtime_unavailable", `the runtime is ${this.status}`);
  }

  /** Reads still work while closing (the store is open until the end); once closed the store is gone. */
  private assertReadable(): void {
    if (this.status === "closed") throw new RuntimeError("runtime_unavailable", "the runtime is closed");
  }

  private reason(reason: unknown): string | undefined {
    return validate(ReasonRequest, { reason }, "reason").reason;
  }

  private pageLimit(limit: number | undefined, max: number, fallback: number): number {
    if (limit === undefined) return fallback;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RuntimeError("invalid_request", "limit must be a positive integer");
    if (limit > max) throw new RuntimeError("limit_too_large", `limit must be at most ${max}`, { max });
    return limit;
  }

  private checkCursor(after: number): void {
    // Ids are never reused, so a cursor past the last id comes from another store (a memory
    // store that restarted, a copied cursor): accepting it would silently skip events.
    if (after > this.lastEventId) {
      throw new RuntimeError("invalid_request", `after ${after} is past the last event id ${this.lastEventId}`, {
        last_event_id: this.lastEventId,
      });
    }
    const first = this.store.firstRetainedEventId();
    if (first !== null && after < first - 1) {
      throw new RuntimeError("cursor_expired", `events after ${after} were pruned; the oldest retained event is ${first}`, {
        oldest_event_id: first,
      });
    }
  }

  private statusOf(entry: WorkerEntry): WorkerStatus {
    return entry.unavailable ? "unavailable" : entry.state!.status;
  }

  private refOf(worker_id: string): WorkerRef {
    return { runtime_id: this.runtime_id, worker_id };
  }

  private summaryOf(entry: WorkerEntry): WorkerSummary {
    const record = entry.record;
    const display = record?.display_name ?? null;
    return {
      worker_ref: this.refOf(entry.id),
      display_name: display,
      // An empty display name would label nothing: the id stands in for it, as for none.
      display_ref: `${display || entry.id}@${this.display_name || this.runtime_id}`,
      status: this.statusOf(entry),
      intent_kind: record?.intent.kind ?? "unknown",
      profile: record?.profile ?? { name: "unknown", backend: "unknown" },
      active_run_id: entry.active?.run.run_id ?? null,
      created_at: record?.created_at ?? entry.state?.updated_at ?? this.started_at,
      updated_at: entry.state?.updated_at ?? record?.created_at ?? this.started_at,
    };
  }

  private detailOf(entry: WorkerEntry): WorkerDetail {
    const record = entry.record;
    const state = entry.state;
    return {
      ...this.summaryOf(entry),
      intent: record?.intent ?? null,
      config_bundle: record?.config_bundle ?? null,
      requested_capabilities: record?.requested_capabilities ?? [],
      workspace_refs: record?.workspace_refs ?? [],
      mount_refs: record?.mount_refs ?? [],
      transcript_items: state?.transcript_items ?? 0,
      run_count: state?.run_count ?? 0,
      last_event_id: state?.last_event_id ?? 0,
      stopped_reason: state?.stopped_reason ?? null,
      unavailable_reason: entry.unavailable,
    };
  }

  private ack(
    entry: WorkerEntry,
    fields: { run_id: string | null; event_id: number | null; transcript_sequence?: number | null; cancelled_run_id?: string | null },
  ): Ack {
    const ack: Ack = {
      worker_ref: this.refOf(entry.id),
      status: this.statusOf(entry),
      run_id: fields.run_id,
      transcript_sequence: fields.transcript_sequence ?? null,
      event_id: fields.event_id,
    };
    if (fields.cancelled_run_id !== undefined) ack.cancelled_run_id = fields.cancelled_run_id;
    return ack;
  }

  private entryOf(
    worker_ref: WorkerRef,
    sequence: number,
    role: TranscriptRole,
    content: string,
    run_id: string | null,
    partial: boolean,
    event_id: number,
    created_at: string,
  ): TranscriptEntry {
    return { sequence, worker_ref, role, content, run_id, partial, event_id, created_at };
  }

  private event(kind: EventKind, worker_ref: WorkerRef | null, run_id: string | null, data: Record<string, unknown>): StoredEvent {
    return { id: ++this.lastEventId, kind, worker_ref, run_id, created_at: now(), data };
  }

  private ephemeral(kind: EventKind, worker_ref: WorkerRef, run_id: string, data: Record<string, unknown>): RuntimeEvent {
    return { id: null, kind, worker_ref, run_id, created_at: now(), data };
  }

  private diagnostic(
    level: DiagnosticLevel,
    code: string,
    message: string,
    worker_ref: WorkerRef | null,
    run_id: string | null,
    details?: Record<string, unknown>,
  ): Diagnostic {
    const diagnostic: Diagnostic = { level, code, message, worker_ref, run_id, created_at: now() };
    if (details) diagnostic.details = details;
    return diagnostic;
  }

  /** `logged` replaces the message in the log line when the message may hold input content. */
  private addDiagnostic(commit: StoreCommit, diagnostic: Diagnostic, logged = diagnostic.message): void {
    (commit.diagnostics ??= []).push(diagnostic);
    (commit.events ??= []).push(this.event("diagnostic", diagnostic.worker_ref, diagnostic.run_id, { diagnostic }));
    this.diagnosticCount++;
    const log = diagnostic.level === "error" ? this.log.error : diagnostic.level === "warning" ? this.log.warn : this.log.info;
    log.call(this.log, logged, { code: diagnostic.code, worker_id: diagnostic.worker_ref?.worker_id });
  }

  /** Stores a commit, then publishes its events: subscribers never see what the store has not kept. */
  private async persist(commit: StoreCommit): Promise<void> {
    try {
      await this.store.commit(commit);
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError("store_io", `the store could not write: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const event of commit.events ?? []) this.publish(event);
  }

  private async persistOrRevert(entry: WorkerEntry, previous: WorkerState, commit: StoreCommit): Promise<void> {
    try {
      await this.persist(commit);
    } catch (error) {
      entry.state = previous;
      throw error;
    }
  }

  private publish(event: RuntimeEvent): void {
    for (const subscriber of this.subscribers) subscriber.deliver(event);
    for (const observer of this.observers) observer(event);
  }
}

/** A copy of a validated request; a value that passes the schema but is no plain data (a Proxy) cannot be copied. */
function plainCopy<T>(value: T, what: string): T {
  try {
    return structuredClone(value);
  } catch {
    throw new RuntimeError("invalid_request", `invalid ${what}: it must be plain data (objects, arrays, strings)`);
  }
}

/** A page cursor is an id handed out as `next_after`; anything else (an object without a prototype, a symbol) would not even compare. */
function assertCursor(after: unknown): void {
  if (after !== undefined && !isValidId(after)) throw new RuntimeError("invalid_request", "after must be an id (a next_after cursor)");
}

/** Query and option arguments may come from untyped callers: anything but a plain object is refused. */
function assertObject(value: unknown, what: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RuntimeError("invalid_request", `${what} must be an object`);
  }
}

function backendFailure(error: unknown): NonNullable<Run["error"]> {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string" && error instanceof Error) {
    const details = (error as { details?: unknown }).details;
    return typeof details === "object" && details !== null && !Array.isArray(details)
      ? { code: error.code, message: error.message, details: details as Record<string, unknown> }
      : { code: error.code, message: error.message };
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
