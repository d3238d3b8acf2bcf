import { RuntimeError } from "../core/errors.ts";
import type { Diagnostic } from "../core/schema/diagnostic.ts";
import type { IdempotencyRecord } from "../core/schema/idempotency.ts";
import type { StoredEvent } from "../core/schema/event.ts";
import type { Run } from "../core/schema/run.ts";
import type { RuntimeRecord } from "../core/schema/runtime.ts";
import type { TranscriptEntry } from "../core/schema/transcript.ts";
import type { WorkerRecord, WorkerState } from "../core/schema/worker.ts";
import type { EventQuery, RuntimeStore, StoreCommit, StoreOpenOptions, StoreSnapshot } from "../core/ports/store.ts";

const MAX_DIAGNOSTICS = 1000;

interface MemoryWorker {
  record: WorkerRecord;
  state: WorkerState;
  runs: Map<string, Run>;
  transcript: TranscriptEntry[];
}

/** Keeps everything in process; nothing survives the process. Reopening the same instance restores its data. */
export class MemoryStore implements RuntimeStore {
  readonly kind = "memory" as const;
  private runtime: RuntimeRecord | null = null;
  private readonly workers = new Map<string, MemoryWorker>();
  /** Retained events in id order; `head` skips pruned ones without shifting the array each time. */
  private events: StoredEvent[] = [];
  private head = 0;
  private lastEventId = 0;
  private maxRetained = 100_000;
  private diagnostics: Diagnostic[] = [];
  /** Kept answers by scope and key, in the order kept; expired ones are pruned as new ones come. */
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  private retentionMs = 86_400_000;
  private now: () => number = Date.now;

  async open(options: StoreOpenOptions): Promise<StoreSnapshot> {
    if (this.runtime && options.runtime_id !== undefined && options.runtime_id !== this.runtime.id) {
      throw new RuntimeError(
        "store_runtime_mismatch",
        `this store belongs to runtime ${this.runtime.id}, not ${options.runtime_id}`,
      );
    }
    this.runtime ??= {
      id: options.runtime_id ?? options.newRuntimeId(),
      display_name: options.display_name ?? null,
      created_at: new Date().toISOString(),
      format_version: 1,
    };
    this.maxRetained = options.max_retained_events;
    this.retentionMs = (options.idempotency_retention_s ?? 86_400) * 1000;
    this.now = options.now ?? Date.now;
    this.pruneKeys();
    return {
      runtime: { ...this.runtime, display_name: options.display_name ?? this.runtime.display_name },
      workers: [...this.workers].map(([worker_id, w]) => ({ worker_id, record: w.record, state: w.state })),
      last_event_id: this.lastEventId,
      diagnostics: [],
      idempotency: [...this.idempotency.values()],
    };
  }

  async commit(commit: StoreCommit): Promise<void> {
    if (commit.createWorker) {
      const record = commit.createWorker;
      this.workers.set(record.worker_ref.worker_id, { record, state: undefined!, runs: new Map(), transcript: [] });
    }
    for (const { worker_id, state } of commit.states ?? []) {
      const worker = this.workers.get(worker_id);
      if (worker) worker.state = state;
    }
    for (const run of commit.runs ?? []) this.workers.get(run.worker_ref.worker_id)?.runs.set(run.run_id, run);
    for (const entry of commit.transcript ?? []) this.workers.get(entry.worker_ref.worker_id)?.transcript.push(entry);
    if (commit.deleteWorker) this.workers.delete(commit.deleteWorker);
    for (const event of commit.events ?? []) {
      this.events.push(event);
      this.lastEventId = event.id;
    }
    this.prune();
    for (const record of commit.idempotency ?? []) {
      const id = `${record.scope}\n${record.key}`;
      this.idempotency.delete(id);
      this.idempotency.set(id, record);
    }
    if (commit.idempotency?.length) this.pruneKeys();
    if (commit.diagnostics?.length) {
      this.diagnostics.push(...commit.diagnostics);
      if (this.diagnostics.length > MAX_DIAGNOSTICS) this.diagnostics = this.diagnostics.slice(-MAX_DIAGNOSTICS);
    }
  }

  private prune(): void {
    const excess = this.events.length - this.head - this.maxRetained;
    if (excess > 0) this.head += excess;
    // Compact once the dead prefix outgrows the live part, keeping pruning amortised O(1).
    if (this.head > this.maxRetained) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops expired idempotency records from the oldest on. */
  private pruneKeys(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const [id, record] of this.idempotency) {
      if (record.created_at > cutoff) break;
      this.idempotency.delete(id);
    }
  }

  async listRuns(worker_id: string): Promise<Run[]> {
    return [...(this.workers.get(worker_id)?.runs.values() ?? [])];
  }

  async getRun(worker_id: string, run_id: string): Promise<Run | undefined> {
    return this.workers.get(worker_id)?.runs.get(run_id);
  }

  async readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]> {
    return this.workers.get(worker_id)?.transcript.slice(start, start + limit) ?? [];
  }

  async readEvents({ after, limit, worker_id }: EventQuery): Promise<StoredEvent[]> {
    const first = this.events[this.head]?.id;
    if (first === undefined) return [];
    const out: StoredEvent[] = [];
    // Ids are dense within the retained range, so the start index is computed, not searched.
    for (let i = this.head + Math.max(0, after - first + 1); i < this.events.length && out.length < limit; i++) {
      const event = this.events[i]!;
      if (worker_id === undefined || event.worker_ref?.worker_id === worker_id) out.push(event);
    }
    return out;
  }

  firstRetainedEventId(): number | null {
    return this.events[this.head]?.id ?? null;
  }

  async listDiagnostics(): Promise<Diagnostic[]> {
    return [...this.diagnostics];
  }

  workDir(): string | null {
    return null;
  }

  async close(): Promise<void> {}
}
