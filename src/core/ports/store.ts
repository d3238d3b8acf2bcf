import type { StoreHealth } from "../readiness.ts";
import type { Diagnostic } from "../schema/diagnostic.ts";
import type { IdempotencyRecord } from "../schema/idempotency.ts";
import type { StoredEvent } from "../schema/event.ts";
import type { Run } from "../schema/run.ts";
import type { RuntimeRecord } from "../schema/runtime.ts";
import type { TranscriptEntry } from "../schema/transcript.ts";
import type { WorkerRecord, WorkerState } from "../schema/worker.ts";

/** A worker as the store found it on open. `unavailable` carries why its files could not be loaded. */
export type StoredWorker =
  | { worker_id: string; record: WorkerRecord; state: WorkerState; unavailable?: undefined }
  | { worker_id: string; record: WorkerRecord | null; state: WorkerState | null; unavailable: string };

export interface StoreSnapshot {
  runtime: RuntimeRecord;
  workers: StoredWorker[];
  /** Highest event id ever assigned (0 when none); ids continue after it. */
  last_event_id: number;
  /** Problems found and repaired/isolated while opening, to be surfaced as diagnostics. */
  diagnostics: Diagnostic[];
  /** Idempotency records not yet expired, oldest first (a store that predates them may omit this). */
  idempotency?: IdempotencyRecord[];
}

export interface StoreOpenOptions {
  /** Configured runtime id; when the store already has one, a different value fails `store_runtime_mismatch`. */
  runtime_id?: string;
  display_name?: string | null;
  /** Generates a runtime id for a new store when none is configured. */
  newRuntimeId: () => string;
  max_retained_events: number;
  /** How long idempotency records are kept (seconds); older ones are pruned. Default 86400. */
  idempotency_retention_s?: number;
  /** Epoch milliseconds, the clock idempotency records expire by. Default Date.now. */
  now?: () => number;
}

/**
 * Everything one core operation persists, applied as one unit. Commits are applied and resolve in
 * call order, so event ids reach the log in order; a store may group concurrent commits into one
 * flush. A commit resolves only once its data is as durable as the store promises.
 */
export interface StoreCommit {
  createWorker?: WorkerRecord;
  /** Full replacement state per worker id. */
  states?: Array<{ worker_id: string; state: WorkerState }>;
  deleteWorker?: string;
  /** Run records; the last record per run_id wins. */
  runs?: Run[];
  transcript?: TranscriptEntry[];
  events?: StoredEvent[];
  diagnostics?: Diagnostic[];
  /**
   * Answers kept under their Idempotency-Key, durable with (and only with) the rest of this
   * commit: a crash never keeps the operation without its key, nor the key without the operation.
   */
  idempotency?: IdempotencyRecord[];
}

export interface EventQuery {
  after: number;
  limit: number;
  worker_id?: string;
}

export interface RuntimeStore {
  readonly kind: "memory" | "fs";
  /** Opens (or initialises) the store and returns what the runtime restores from. */
  open(options: StoreOpenOptions): Promise<StoreSnapshot>;
  commit(commit: StoreCommit): Promise<void>;
  /** Runs of one worker in creation order, latest record per run. */
  listRuns(worker_id: string): Promise<Run[]>;
  getRun(worker_id: string, run_id: string): Promise<Run | undefined>;
  /** Entries with `start <= sequence < start + limit`; must not read the whole transcript. */
  readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]>;
  /** Stored events with id > after, in id order, at most `limit`. */
  readEvents(query: EventQuery): Promise<StoredEvent[]>;
  /** Lowest event id still retained, or null when none is stored. */
  firstRetainedEventId(): number | null;
  listDiagnostics(): Promise<Diagnostic[]>;
  /** Directory a command backend may use as its working directory for this worker, or null (memory). */
  workDir(worker_id: string): string | null;
  /** Whether writes can succeed now; a store that omits it is always writable (feeds `/readyz`). */
  health?(): StoreHealth;
  close(): Promise<void>;
}
