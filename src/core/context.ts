import { now } from "./clock.ts";
import { RuntimeError } from "./errors.ts";
import { EventFactory } from "./events.ts";
import { IdempotencyLedger } from "./idempotency.ts";
import { refOf, workerIdOf, type WorkerAddress } from "./identity.ts";
import type { RuntimeLogger } from "./ports/logger.ts";
import type { RuntimeStore, StoreCommit } from "./ports/store.ts";
import type { WorkspaceProvider } from "./ports/workspaces.ts";
import type { Profile } from "./profiles.ts";
import type { WorkerRef } from "./schema/common.ts";
import type { Diagnostic, DiagnosticLevel } from "./schema/diagnostic.ts";
import type { RuntimeEvent } from "./schema/event.ts";
import type { Limits, ProfileInfo, RuntimeStatus } from "./schema/runtime.ts";
import type { EventSubscription } from "./subscription.ts";
import { messageOf } from "../shared/errors.ts";
import { storedState, type LoadedWorker, type WorkerEntry } from "./worker-entry.ts";
import { WorkerTable } from "./worker-table.ts";

export interface RuntimeSettings {
  runtime_id: string;
  display_name: string | null;
  store: RuntimeStore;
  log: RuntimeLogger;
  limits: Readonly<Limits>;
  profiles: Map<string, Profile>;
  default_profile: string;
  version: string;
  last_event_id: number;
  diagnostic_count: number;
  workspaces: WorkspaceProvider | null;
  /** Epoch milliseconds: the clock idempotency keys expire by. */
  now: () => number;
}

/**
 * What the core's responsibilities (catalog, lifecycle, interaction, observation, management)
 * share: the workers, event ids, subscribers, and the one way to commit a change and publish it.
 */
export class RuntimeContext {
  readonly runtime_id: string;
  readonly display_name: string | null;
  readonly store: RuntimeStore;
  readonly log: RuntimeLogger;
  readonly limits: Readonly<Limits>;
  readonly profiles: Map<string, Profile>;
  /** What the summary says of the profiles; fixed once the runtime is open. */
  readonly profileInfo: { profiles: ProfileInfo[]; capabilities: string[] };
  readonly default_profile: string;
  readonly version: string;
  readonly started_at = now();
  /** Every worker by id, with its counts by status kept as it changes (the summary reads them). */
  readonly workers = new WorkerTable();
  /** Ids of workers whose create is making their workspaces (not yet in `workers`). */
  readonly creating = new Set<string>();
  readonly workspaces: WorkspaceProvider | null;
  readonly subscribers = new Set<EventSubscription>();
  /** In-process instruments (metrics): called synchronously with every published event. */
  readonly observers = new Set<(event: RuntimeEvent) => void>();
  readonly events: EventFactory;
  /** Answers kept under their Idempotency-Key (SPEC §10). */
  readonly idempotency: IdempotencyLedger;
  diagnosticCount: number;
  status: RuntimeStatus = "running";

  constructor(settings: RuntimeSettings) {
    this.runtime_id = settings.runtime_id;
    this.display_name = settings.display_name;
    this.store = settings.store;
    this.log = settings.log;
    this.limits = settings.limits;
    this.profiles = settings.profiles;
    this.default_profile = settings.default_profile;
    this.version = settings.version;
    this.events = new EventFactory(settings.last_event_id);
    this.diagnosticCount = settings.diagnostic_count;
    this.workspaces = settings.workspaces;
    this.idempotency = new IdempotencyLedger(settings.limits.idempotency_retention_s * 1000, settings.now);
    const infos = [...settings.profiles.values()].map((p) => p.info);
    // Not frozen: JSC's JSON.stringify takes a slow path for frozen arrays, and every summary
    // encodes these.
    this.profileInfo = { profiles: infos, capabilities: [...new Set(infos.flatMap((p) => p.capabilities))].sort() };
  }

  get lastEventId(): number {
    return this.events.lastId;
  }

  assertOpen(): void {
    if (this.status !== "running") throw new RuntimeError("runtime_unavailable", `the runtime is ${this.status}`);
  }

  /** Reads still work while closing (the store is open until the end); once closed the store is gone. */
  assertReadable(): void {
    if (this.status === "closed") throw new RuntimeError("runtime_unavailable", "the runtime is closed");
  }

  refOf(worker_id: string): WorkerRef {
    return refOf(this.runtime_id, worker_id);
  }

  /** The worker an address names, unavailable ones included. */
  entry(address: WorkerAddress): WorkerEntry {
    const id = workerIdOf(this.runtime_id, address);
    const entry = this.workers.get(id);
    if (!entry) throw new RuntimeError("worker_not_found", `worker ${id} does not exist`, { worker_id: id });
    return entry;
  }

  /** The worker an address names, which must have loaded: an unavailable one fails `store_corrupt`. */
  loaded(address: WorkerAddress): LoadedWorker {
    const entry = this.entry(address);
    if (entry.kind === "unavailable") {
      throw new RuntimeError("store_corrupt", `worker ${entry.id} is unavailable: ${entry.reason}`, { worker_id: entry.id });
    }
    return entry;
  }

  profileOf(entry: LoadedWorker): Profile {
    const name = entry.record.profile.name;
    const profile = this.profiles.get(name);
    if (!profile) {
      throw new RuntimeError("unknown_profile", `worker ${entry.id} uses profile "${name}", which is no longer configured`, {
        profile: name,
      });
    }
    return profile;
  }

  /** Ids are never reused: a cursor past the last id, or before the oldest retained one, would silently skip events. */
  checkCursor(after: number): void {
    // A cursor past the last id comes from another store (a memory store that restarted, a copied cursor).
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

  /**
   * Adds a diagnostic and its event to a commit, and logs it. `logged` replaces the message in the
   * log line when the message may hold input content; `fields` are added to the line.
   */
  addDiagnostic(commit: StoreCommit, diagnostic: Diagnostic, logged = diagnostic.message, fields: Record<string, unknown> = {}): void {
    (commit.diagnostics ??= []).push(diagnostic);
    (commit.events ??= []).push(this.events.diagnostic(diagnostic));
    this.diagnosticCount++;
    const log = diagnostic.level === "error" ? this.log.error : diagnostic.level === "warning" ? this.log.warn : this.log.info;
    log.call(this.log, logged, { code: diagnostic.code, worker_id: diagnostic.worker_ref?.worker_id, ...fields });
  }

  /**
   * A read of one worker's stored records. The store verifies records as it reads them; the first
   * damaged one (store_corrupt) makes the worker unavailable from then on, as damage found at open
   * does, and is noted as a worker_unavailable diagnostic.
   */
  readStored<T>(entry: WorkerEntry, read: () => Promise<T>): Promise<T> {
    // Not an async function with try/await: every transcript and run read passes here, and the
    // extra async frame costs each of them; only a failure takes the slow way.
    let pending: Promise<T>;
    try {
      pending = read();
    } catch (error) {
      return this.readFailed(entry, error);
    }
    return pending.catch((error: unknown) => this.readFailed(entry, error));
  }

  private async readFailed(entry: WorkerEntry, error: unknown): Promise<never> {
    const damaged = error instanceof RuntimeError && error.code === "store_corrupt";
    if (damaged && entry.kind === "loaded" && this.workers.get(entry.id) === entry) {
      const { state } = storedState(entry);
      this.workers.set(entry.id, { kind: "unavailable", id: entry.id, reason: error.message, record: entry.record, state });
      const commit: StoreCommit = {};
      const worker_ref = this.refOf(entry.id);
      this.addDiagnostic(commit, newDiagnostic({ level: "error", code: "worker_unavailable", message: error.message, worker_ref, details: error.details }));
      // The read's failure is what the caller hears; a store that cannot record the note says so on its next write.
      await this.commit(commit).catch(() => undefined);
    }
    throw error;
  }

  /** Stores a commit, then publishes its events: subscribers never see what the store has not kept. */
  async commit(commit: StoreCommit): Promise<void> {
    try {
      await this.store.commit(commit);
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError("store_io", `the store could not write: ${messageOf(error)}`);
    }
    for (const event of commit.events ?? []) this.publish(event);
  }

  /** Ends what the worker's backend keeps between runs (an agent process); a failure is logged. */
  async releaseBackend(entry: WorkerEntry): Promise<void> {
    const name = entry.record?.profile.name;
    const backend = name === undefined ? undefined : this.profiles.get(name)?.backend;
    try {
      await backend?.release?.(entry.id);
    } catch (error) {
      this.log.warn("could not release a worker's backend", { worker_id: entry.id, error: String(error) });
    }
  }

  publish(event: RuntimeEvent): void {
    for (const subscriber of this.subscribers) subscriber.deliver(event);
    for (const observer of this.observers) observer(event);
  }
}

export function newDiagnostic(fields: NewDiagnostic): Diagnostic {
  const diagnostic: Diagnostic = {
    level: fields.level,
    code: fields.code,
    message: fields.message,
    worker_ref: fields.worker_ref ?? null,
    run_id: fields.run_id ?? null,
    created_at: now(),
  };
  if (fields.details) diagnostic.details = fields.details;
  return diagnostic;
}

export interface NewDiagnostic {
  level: DiagnosticLevel;
  code: string;
  message: string;
  worker_ref?: WorkerRef | null;
  run_id?: string | null;
  details?: Record<string, unknown>;
}
