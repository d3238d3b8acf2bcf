import { RuntimeError } from "../../core/errors.ts";
import type { RuntimeLogger } from "../../core/ports/logger.ts";
import type { Diagnostic } from "../../core/schema/diagnostic.ts";
import type { StoredEvent } from "../../core/schema/event.ts";
import type { Run } from "../../core/schema/run.ts";
import type { TranscriptEntry } from "../../core/schema/transcript.ts";
import { errnoCode, messageOf } from "../../shared/errors.ts";
import type { EventQuery, StoreCommit, StoreOpenOptions, StoreSnapshot } from "../../core/ports/store.ts";
import type { AppendFiles } from "./append-files.ts";
import { BatchPlan } from "./batch-plan.ts";
import { Checkpointer } from "./checkpointer.ts";
import type { DiagnosticLog } from "./diagnostic-log.ts";
import type { EventLog } from "./event-log.ts";
import type { IdempotencyLog } from "./idempotency-log.ts";
import { GroupCommit, type Applied } from "./group-commit.ts";
import { JournalWriter, type JournalOp } from "./journal.ts";
import { loadStore, type Loaded } from "./load.ts";
import type { StorePaths } from "./paths.ts";
import { RunCache } from "./run-cache.ts";
import { findRun, readRuns } from "./run-reader.ts";
import { readTranscriptPage, transcriptLine } from "./transcript-reader.ts";
import { createWorkerDir, moveWorkerDirAside } from "./worker-dir.ts";
import { addAnchor, newWorker, type FsWorker } from "./worker.ts";
import { parseSealed, sealLine } from "./sealed-line.ts";

/** An FsStore's options, checked: the same for every open. */
export interface StoreSettings {
  paths: StorePaths;
  durable: boolean;
  log: RuntimeLogger;
  checkpointMs: number;
  /** Events per segment; undefined: derived from max_retained_events at open. */
  perSegment: number | undefined;
  /** Told of every batch once durable (metrics). */
  onCommit?: (commit: CommitStats) => void;
}

export interface CommitStats {
  /** Store commits written together in one journal record (a group commit). */
  records: number;
  /** The journal's fsync for this batch; null without fsync (`durability = "none"`). */
  fsync_s: number | null;
  /** The journal's size after this batch. */
  journal_bytes: number;
}

/** Per batch: entries each worker's transcript will hold once the batch is written. */
type Counts = Map<FsWorker, { count: number; last: number | null }>;

/**
 * One open of an FsStore, from the layout it loaded to its close: the workers, the logs, the
 * journal, the commit queue and the checkpointer. Everything that lives for one open is created
 * with it, so a reopen starts from nothing but the layout.
 *
 * A commit is queued; concurrent commits form one batch (group commit). A batch is written to
 * the journal (wal/<n>.jsonl) and applied — worker directories created or removed at once,
 * appends to transcript and run logs, event segments and diagnostics queued to be written
 * behind — then the journal alone is fdatasynced: one sync per batch however many files it
 * touched. Commits resolve in call order once that sync returns.
 */
export class StoreSession {
  private readonly paths: StorePaths;
  private readonly workers: Map<string, FsWorker>;
  private readonly files: AppendFiles;
  private readonly events: EventLog;
  private readonly diagnosticLog: DiagnosticLog;
  private readonly idempotencyLog: IdempotencyLog;
  private readonly queue: GroupCommit<StoreCommit>;
  private readonly checkpointer: Checkpointer;
  private readonly runCache = new RunCache();
  /** Workers whose work/ directory is known to exist. */
  private readonly workDirs = new Set<string>();
  /** Deleted workers' directories still being removed in the background. */
  private readonly removals = new Set<Promise<void>>();
  private batch: number;
  /** The publication of the last batch written (settles, never rejects). */
  private publishing: Promise<void> = Promise.resolve();

  /** Loads the layout (LOCK already held) and starts a fresh journal file. */
  static async open(
    settings: StoreSettings,
    options: StoreOpenOptions,
    taken_over: { pid: number | null } | null,
  ): Promise<{ session: StoreSession; snapshot: StoreSnapshot }> {
    const loaded = await loadStore(settings, options, taken_over);
    const journal = new JournalWriter(settings.paths, settings.durable);
    await journal.start(Math.max(0, ...loaded.leftoverJournals) + 1);
    return { session: new StoreSession(settings, loaded, journal), snapshot: loaded.snapshot };
  }

  private constructor(
    private readonly settings: StoreSettings,
    loaded: Loaded,
    private readonly journal: JournalWriter,
  ) {
    this.paths = settings.paths;
    this.workers = loaded.workers;
    this.files = loaded.files;
    this.events = loaded.events;
    this.diagnosticLog = loaded.diagnostics;
    this.idempotencyLog = loaded.idempotency;
    this.batch = loaded.batch;
    this.queue = new GroupCommit<StoreCommit>(
      (commits) => this.flush(commits),
      () => this.checkpointer.between(this.batch),
      (error) => storeFailed(error),
    );
    this.checkpointer = new Checkpointer(
      settings,
      journal,
      this.files,
      (worker) => this.workers.get(worker.id) === worker,
      () => this.queue.kick(),
      loaded,
      () => this.events.checkpointRecord(),
    );
  }

  // ---------------------------------------------------------------- commit

  submit(commit: StoreCommit): Promise<void> {
    return this.queue.submit(commit);
  }

  private async flush(commits: StoreCommit[]): Promise<Applied> {
    const plan = new BatchPlan(++this.batch);
    const counts: Counts = new Map();
    for (const commit of commits) this.planCommit(plan, counts, commit);
    // A checkpoint in flight writes into worker directories: let it finish before any moves.
    const checkpoint = this.checkpointer.inFlight;
    if (plan.hasStructural && checkpoint) await checkpoint;

    const { ops, payload, bytes, writes } = plan.finish(journaledStates(plan));
    const written = this.journal.write(plan.batch, ops, payload, bytes);
    await this.applyStructure(plan);
    for (const [path, start, length] of writes) this.files.append(path, written.subarray(start, start + length));
    for (const path of plan.removedPaths()) this.removeFile(path);
    // Applied: readers of transcripts and runs may see it (events wait for the sync below).
    for (const worker of plan.touched) advance(worker, plan, counts.get(worker));
    const syncStart = performance.now();
    const synced = this.journal.sync();
    const report = this.settings.onCommit;
    if (report) {
      const stats = { records: commits.length, journal_bytes: this.journal.bytes };
      const durable = this.settings.durable;
      void synced.then(
        () => report({ ...stats, fsync_s: durable ? (performance.now() - syncStart) / 1000 : null }),
        () => {},
      );
    }
    this.noteDirty(plan);
    this.checkpointer.afterBatch();
    // Events and diagnostics reach readers only once durable, so no one sees what a crash takes back.
    // Two batches may sync at once; they are published in batch order all the same.
    const durable = Promise.all([this.publishing, synced]).then(() => {
      this.events.published(plan.events);
      this.diagnosticLog.published(plan.diagnostics);
    });
    this.publishing = durable.catch(() => undefined);
    return { durable };
  }

  /** Worker directories: the deleted moved aside at once (removed behind), the created made whole. */
  private applyStructure(plan: BatchPlan): Promise<unknown> {
    for (const id of plan.removeDirs) {
      this.files.discardUnder(this.paths.workerDir(id));
      const removal = moveWorkerDirAside(this.paths, id);
      if (removal) this.trackRemoval(removal);
    }
    return Promise.all(
      [...plan.created.values()].map(async ({ worker, record, state }) => {
        await createWorkerDir(this.paths, record, state, plan.batch, this.settings.durable);
        worker.on_disk = true;
      }),
    );
  }

  private removeFile(path: string): void {
    this.files.discardUnder(path);
    try {
      this.paths.fs.unlinkSync(this.paths.abs(path));
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw error;
    }
  }

  /** What the next checkpoint must make durable in the layout. */
  private noteDirty(plan: BatchPlan): void {
    for (const path of plan.appendedPaths()) this.checkpointer.noteFile(path);
    for (const worker of plan.touched) {
      const created = plan.created.get(worker.id);
      // A worker created with nothing else is exactly what its new state.json says.
      if (created?.worker === worker && created.state === worker.state && worker.transcript_bytes === 0 && worker.runs_bytes === 0) continue;
      this.checkpointer.noteWorker(worker);
    }
  }

  private planCommit(plan: BatchPlan, counts: Counts, commit: StoreCommit): void {
    if (commit.createWorker) {
      const record = commit.createWorker;
      const id = record.worker_ref.worker_id;
      const state = commit.states!.find((s) => s.worker_id === id)!.state;
      if (this.workers.has(id)) this.planDelete(plan, id);
      const worker = newWorker(id, record, state);
      this.workers.set(id, worker);
      plan.create(worker, record, state);
    }
    for (const { worker_id, state } of commit.states ?? []) {
      const worker = this.available(worker_id);
      if (!worker) continue;
      worker.state = state;
      plan.touched.add(worker);
    }
    for (const run of commit.runs ?? []) {
      const worker = this.available(run.worker_ref.worker_id);
      if (!worker) continue;
      plan.append(worker.runs_path, worker.runs_bytes, sealLine(JSON.stringify(run)));
      plan.touched.add(worker);
      worker.last_run = run;
      this.runCache.update(worker.id, run);
    }
    for (const entry of commit.transcript ?? []) this.planEntry(plan, counts, entry);
    if (commit.deleteWorker !== undefined) this.planDelete(plan, commit.deleteWorker);
    if (commit.events?.length) this.events.plan(commit.events as StoredEvent[], plan);
    if (commit.diagnostics?.length) this.diagnosticLog.plan(commit.diagnostics as Diagnostic[], plan);
    if (commit.idempotency?.length) this.idempotencyLog.plan(commit.idempotency, plan);
  }

  private planEntry(plan: BatchPlan, counts: Counts, entry: TranscriptEntry): void {
    const worker = this.available(entry.worker_ref.worker_id);
    if (!worker) return;
    const offset = plan.append(worker.transcript_path, worker.transcript_bytes, transcriptLine(entry));
    const count = counts.get(worker) ?? { count: worker.transcript_count, last: null };
    count.count++;
    count.last = offset;
    counts.set(worker, count);
    plan.touched.add(worker);
  }

  private planDelete(plan: BatchPlan, worker_id: string): void {
    const dir = this.paths.workerDir(worker_id);
    const worker = this.workers.get(worker_id);
    if (!worker) return;
    this.workers.delete(worker_id);
    this.checkpointer.forgetWorker(worker);
    this.workDirs.delete(worker_id);
    this.runCache.forgetWorker(worker_id);
    plan.delete(worker, dir);
  }

  /** The worker, when it exists and its files loaded; commits for anything else are ignored, as the memory store does. */
  private available(worker_id: string): FsWorker | undefined {
    const worker = this.workers.get(worker_id);
    return worker && worker.unavailable === null ? worker : undefined;
  }

  /** The worker to read from; one found damaged (at open or by an earlier read) fails store_corrupt. */
  private readable(worker_id: string): FsWorker | undefined {
    const worker = this.workers.get(worker_id);
    if (worker?.unavailable) throw new RuntimeError("store_corrupt", `worker ${worker_id} is unavailable: ${worker.unavailable}`, { worker_id });
    return worker;
  }

  /**
   * A read of the worker's files: records are verified as they are read (start-up stays fast),
   * and the first damaged one makes the worker unavailable from then on — nothing is served from
   * it and nothing more is written to it.
   */
  private async verified<T>(worker: FsWorker, read: Promise<T>): Promise<T> {
    try {
      return await read;
    } catch (error) {
      if (!(error instanceof RuntimeError) || error.code !== "store_corrupt") throw error;
      if (this.workers.get(worker.id) === worker) worker.unavailable ??= error.message;
      throw new RuntimeError("store_corrupt", error.message, { ...error.details, worker_id: worker.id });
    }
  }

  private trackRemoval(removal: Promise<void>): void {
    const tracked = removal
      .catch((error) => this.settings.log.warn("could not remove a deleted worker's files", { error: messageOf(error) }))
      .finally(() => this.removals.delete(tracked));
    this.removals.add(tracked);
  }

  // ---------------------------------------------------------------- reads

  async listRuns(worker_id: string): Promise<Run[]> {
    const worker = this.readable(worker_id);
    if (!worker) return [];
    const path = worker.runs_path;
    this.files.writebackBeforeRead(path);
    return this.verified(worker, readRuns(this.paths.fs, this.paths.abs(path), path, worker.runs_bytes, this.paths.unsealedAccepted));
  }

  async getRun(worker_id: string, run_id: string): Promise<Run | undefined> {
    const worker = this.readable(worker_id);
    if (!worker || typeof run_id !== "string") return undefined;
    if (worker.last_run?.run_id === run_id) return worker.last_run;
    const cached = this.runCache.get(worker.id, run_id);
    if (cached) return cached;
    const path = worker.runs_path;
    this.files.writebackBeforeRead(path);
    const run = await this.verified(worker, findRun(this.paths.fs, this.paths.abs(path), path, worker.runs_bytes, run_id, this.paths.unsealedAccepted));
    if (run && this.workers.get(worker.id) === worker) this.runCache.put(worker.id, run);
    return run;
  }

  async readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]> {
    const worker = this.readable(worker_id);
    if (!worker) return [];
    const path = worker.transcript_path;
    this.files.writebackBeforeRead(path);
    return this.verified(worker, readTranscriptPage(this.paths.fs, this.paths.abs(path), path, worker, start, limit, this.paths.unsealedAccepted));
  }

  readEvents({ after, limit, worker_id }: EventQuery): Promise<StoredEvent[]> {
    return this.events.read(after, limit, worker_id);
  }

  firstRetainedEventId(): number | null {
    return this.events.firstRetained();
  }

  listDiagnostics(): Diagnostic[] {
    return this.diagnosticLog.list();
  }

  /** workers/<id>/work (`dir`), created again if someone removed it while the worker exists. */
  ensureWorkDir(worker_id: string, dir: string): void {
    if (!this.workDirs.has(worker_id) && this.workers.get(worker_id)?.on_disk) {
      this.paths.fs.mkdirSync(dir, { recursive: true });
      this.workDirs.add(worker_id);
    }
  }

  // ---------------------------------------------------------------- close

  /** Flushes queued commits, runs the last checkpoint and closes every file; LOCK is the caller's. */
  async close(): Promise<void> {
    this.checkpointer.stop();
    try {
      await this.queue.idle();
      await this.checkpointer.inFlight;
      await this.journal.close();
      await this.checkpointer.last(this.batch, this.queue.error !== null);
      await Promise.all(this.removals);
    } finally {
      this.files.closeAll();
    }
  }
}

/** The journal's `state` ops: each touched worker's state after the batch, with its logs' sizes then. */
function journaledStates(plan: BatchPlan): JournalOp[] {
  const states: JournalOp[] = [];
  for (const worker of plan.touched) {
    if (!worker.state) continue;
    states.push({
      op: "state",
      worker_id: worker.id,
      state: worker.state,
      transcript_bytes: plan.endOf(worker.transcript_path, worker.transcript_bytes),
      runs_bytes: plan.endOf(worker.runs_path, worker.runs_bytes),
    });
  }
  return states;
}

/** A worker's sizes and counts once the batch is applied. */
function advance(worker: FsWorker, plan: BatchPlan, count: { count: number; last: number | null } | undefined): void {
  worker.transcript_bytes = plan.endOf(worker.transcript_path, worker.transcript_bytes);
  worker.runs_bytes = plan.endOf(worker.runs_path, worker.runs_bytes);
  if (count) {
    worker.transcript_count = count.count;
    if (count.last !== null) addAnchor(worker, count.count - 1, count.last);
  }
}

function storeFailed(error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  return new RuntimeError("store_io", `the store could not write and accepts no more writes until reopened: ${messageOf(error)}`);
}
