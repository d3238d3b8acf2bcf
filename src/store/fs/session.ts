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
import { BatchUndo } from "./batch-undo.ts";
import { Checkpointer } from "./checkpointer.ts";
import type { DiagnosticLog } from "./diagnostic-log.ts";
import type { EventLog } from "./event-log.ts";
import type { IdempotencyLog } from "./idempotency-log.ts";
import { GroupCommit, type Applied } from "./group-commit.ts";
import { cutJournal, JournalWriter, type JournalOp } from "./journal.ts";
import { loadStore, type Loaded } from "./load.ts";
import type { StorePaths } from "./paths.ts";
import { RunCache } from "./run-cache.ts";
import { findRun, readRuns } from "./run-reader.ts";
import { readTranscriptPage, transcriptLine } from "./transcript-reader.ts";
import { createWorkerDir, createWorkerDirSync, moveWorkerDirAside } from "./worker-dir.ts";
import { fsyncDir } from "./atomic.ts";
import { addAnchor, newWorker, type FsWorker } from "./worker.ts";
import { causeOf, unavailable, type FailureCause } from "./store-failure.ts";
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
  /** Told when a session first fails to write (the store starts recovering). */
  onFailure?: () => void;
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
  /** Batches applied and not yet durable, oldest first: what a failure takes back. */
  private readonly unsettled: BatchUndo[] = [];
  /** The end of the last durable journal record: a failed batch's bytes lie past it. */
  private acked = { number: 0, end: 0 };
  /** Set by the first failed write or sync: this session writes nothing more (fs-store.ts recovers). */
  private failure: { cause: FailureCause; error: unknown } | null = null;
  /** Resolves once a failure's batches are settled and taken back in memory: reads wait for it, so they see acknowledged data only. */
  private undone: Promise<void> | null = null;

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
      (error, applied) => this.failed(error, applied),
    );
    this.acked = { number: journal.number, end: 0 };
    this.checkpointer = new Checkpointer(
      settings,
      journal,
      this.files,
      (worker) => this.workers.get(worker.id) === worker,
      () => this.queue.kick(),
      (worker) => this.makeDir(worker),
      loaded,
      () => this.events.checkpointRecord(),
    );
  }

  // ---------------------------------------------------------------- commit

  submit(commit: StoreCommit): Promise<void> {
    return this.queue.submit(commit);
  }

  private async flush(commits: StoreCommit[]): Promise<Applied> {
    const undo = new BatchUndo();
    this.unsettled.push(undo);
    const plan = new BatchPlan(++this.batch);
    const counts: Counts = new Map();
    for (const commit of commits) this.planCommit(plan, undo, counts, commit);
    // A checkpoint in flight writes into worker directories: let it finish before any moves.
    const checkpoint = this.checkpointer.inFlight;
    if (plan.hasStructural && checkpoint) await checkpoint;

    const { ops, payload, bytes, writes } = plan.finish(journaledStates(plan));
    const written = this.journal.write(plan.batch, ops, payload, bytes);
    const journalEnd = { number: this.journal.number, end: this.journal.bytes };
    await this.applyStructure(plan, undo);
    // Only what was appended is taken back: a batch that failed before (a directory it needed
    // could not be made) must not drop bytes of earlier, acknowledged batches still waiting.
    for (const [path, start, length, from] of writes) {
      undo.appended.set(path, { from, to: from + length });
      this.files.append(path, written.subarray(start, start + length));
    }
    // Removals wait until the batch is durable: a failed batch must be able to take them back.
    for (const path of plan.removedPaths()) {
      undo.discarded.push(...this.files.discardUnder(path));
      undo.removed.push(path);
    }
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
      this.settled(undo, journalEnd);
      this.events.published(plan.events);
      this.diagnosticLog.published(plan.diagnostics);
    });
    this.publishing = durable.catch(() => undefined);
    return { durable };
  }

  /** A batch is durable: nothing of it will be taken back; what it removed goes for good. */
  private settled(undo: BatchUndo, journalEnd: { number: number; end: number }): void {
    const at = this.unsettled.indexOf(undo);
    if (at >= 0) this.unsettled.splice(at, 1);
    this.acked = journalEnd;
    for (const moved of undo.movedAside) this.trackRemoval(moved.remove());
    for (const path of undo.removed) this.removeFile(path);
  }

  /**
   * Worker directories: the deleted moved aside at once (removed once durable). A created worker's
   * is made only once something is appended to its logs (here, before the appends are queued), its
   * work/ is asked for, or a checkpoint comes: the journal holds the create until then. A making
   * that fails fails the batch; every making is let finish first, so taking the batch back (which
   * moves out what its creates made) never races one.
   */
  private async applyStructure(plan: BatchPlan, undo: BatchUndo): Promise<void> {
    for (const id of plan.removeDirs) {
      undo.discarded.push(...this.files.discardUnder(this.paths.workerDir(id)));
      const moved = moveWorkerDirAside(this.paths, id);
      if (moved) undo.movedAside.push(moved);
    }
    const making: Promise<void>[] = [];
    for (const worker of plan.touched) {
      if (worker.on_disk) continue;
      const appends = plan.endOf(worker.transcript_path, worker.transcript_bytes) !== worker.transcript_bytes || plan.endOf(worker.runs_path, worker.runs_bytes) !== worker.runs_bytes;
      // Worktrees move into work/ right after the create is answered: the directory must be there first.
      const worktrees = (worker.unmade?.record.workspaces?.length ?? 0) > 0;
      if (appends || worktrees) making.push(this.makeDir(worker, appends));
    }
    const failed = (await Promise.allSettled(making)).find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** `worker`'s directory is on disk now: the checkpoint syncs it before retiring the journal that holds its create. */
  private dirMade(worker: FsWorker): void {
    worker.on_disk = true;
    worker.unmade = null;
    this.checkpointer.noteMade(worker);
  }

  /**
   * Makes an unmade worker's directory (once, however many ask); its syncs are the next
   * checkpoint's. A making that fails leaves the worker unmade (the journal still holds its create).
   */
  private makeDir(worker: FsWorker, logs = false): Promise<void> {
    if (worker.on_disk || !worker.unmade) return Promise.resolve();
    const { record, state, batch } = worker.unmade;
    worker.making ??= createWorkerDir(this.paths, record, state, batch, false, logs).then(
      () => {
        worker.making = null;
        this.dirMade(worker);
      },
      (error) => {
        worker.making = null;
        throw error;
      },
    );
    return worker.making;
  }

  /** Removes a file a durable batch retired; a failure leaves it for retention to retry, and is logged. */
  private removeFile(path: string): void {
    try {
      this.paths.fs.unlinkSync(this.paths.abs(path));
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") this.settings.log.warn("could not remove a retired store file", { file: path, error: messageOf(error) });
    }
  }

  /** What the next checkpoint must make durable in the layout. */
  private noteDirty(plan: BatchPlan): void {
    for (const path of plan.appendedPaths()) this.checkpointer.noteFile(path);
    // A log's first append created it: its directory entry is synced too.
    for (const path of plan.startedPaths()) if (path.startsWith("workers/")) this.checkpointer.noteDir(path.slice(0, path.lastIndexOf("/")));
    for (const worker of plan.touched) {
      const created = plan.created.get(worker.id);
      // A worker created with nothing else is exactly what its new state.json says.
      if (created?.worker === worker && created.state === worker.state && worker.transcript_bytes === 0 && worker.runs_bytes === 0) continue;
      this.checkpointer.noteWorker(worker);
    }
  }

  private planCommit(plan: BatchPlan, undo: BatchUndo, counts: Counts, commit: StoreCommit): void {
    if (commit.createWorker) {
      const record = commit.createWorker;
      const id = record.worker_ref.worker_id;
      const state = commit.states!.find((s) => s.worker_id === id)!.state;
      undo.noteId(id, this.workers.get(id));
      if (this.workers.has(id)) this.planDelete(plan, id);
      const worker = newWorker(id, record, state);
      worker.unmade = { record, state, batch: plan.batch };
      // Made lazily, maybe by this very batch (a first append): taking the batch back moves it out if so.
      undo.createdDirs.push(this.paths.workerDir(id));
      this.workers.set(id, worker);
      plan.create(worker, record, state);
      this.checkpointer.noteUnmade(worker);
    }
    for (const { worker_id, state } of commit.states ?? []) {
      const worker = this.available(worker_id);
      if (!worker) continue;
      undo.save(worker);
      worker.state = state;
      plan.touched.add(worker);
    }
    for (const run of commit.runs ?? []) {
      const worker = this.available(run.worker_ref.worker_id);
      if (!worker) continue;
      undo.save(worker);
      plan.append(worker.runs_path, worker.runs_bytes, sealLine(JSON.stringify(run)));
      plan.touched.add(worker);
      worker.last_run = run;
      this.runCache.update(worker.id, run);
    }
    for (const entry of commit.transcript ?? []) this.planEntry(plan, undo, counts, entry);
    if (commit.deleteWorker !== undefined) {
      undo.noteId(commit.deleteWorker, this.workers.get(commit.deleteWorker));
      this.planDelete(plan, commit.deleteWorker);
    }
    if (commit.events?.length) this.events.plan(commit.events as StoredEvent[], plan);
    if (commit.diagnostics?.length) this.diagnosticLog.plan(commit.diagnostics as Diagnostic[], plan);
    if (commit.idempotency?.length) this.idempotencyLog.plan(commit.idempotency, plan);
  }

  private planEntry(plan: BatchPlan, undo: BatchUndo, counts: Counts, entry: TranscriptEntry): void {
    const worker = this.available(entry.worker_ref.worker_id);
    if (!worker) return;
    undo.save(worker);
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

  // ---------------------------------------------------------------- failure

  /**
   * A write, sync or checkpoint failed. The first failure stops this session writing (its queue
   * refuses everything after) and, once the batches in flight have settled, takes them all back
   * in memory, so reads serve acknowledged data only. The store recovers by replacing the session.
   */
  private failed(error: unknown, applied: boolean): RuntimeError {
    if (!this.failure) {
      this.failure = { cause: causeOf(error), error };
      this.settings.log.error("the store cannot write; it refuses writes until the disk works again", {
        cause: this.failure.cause,
        error: messageOf(error),
      });
      this.undone = this.queue.idle().then(() => this.undoInMemory());
      this.settings.onFailure?.();
    }
    return unavailable(this.failure.cause, applied, error);
  }

  /** Why this session cannot write, or null; a failed background checkpoint counts too. */
  failedWith(): { cause: FailureCause; error: unknown } | null {
    const checkpoint = this.checkpointer.failure;
    if (!this.failure && checkpoint !== null) this.failed(checkpoint, false);
    return this.failure;
  }

  /** Takes the failed batches back in memory, and their worker directories on disk (if the disk lets it: else restoreDisk does). */
  private undoInMemory(): void {
    for (const undo of [...this.unsettled].reverse()) {
      for (const worker of undo.undoInMemory(this.workers, this.files)) this.runCache.forgetWorker(worker.id);
      try {
        undo.undoStructure(this.paths);
      } catch (error) {
        this.settings.log.warn("could not put a failed batch's worker directories back yet", { error: messageOf(error) });
      }
    }
  }

  /**
   * After a failure: waits for everything in flight, then takes the failed batches back on disk —
   * created directories moved out, deleted ones put back, appended files cut to their acknowledged
   * sizes — and cuts the journal back to its last acknowledged record (through a new descriptor,
   * synced). Then closes every file: a reopen builds the recovered session from the layout and
   * the journal, which now hold exactly what was acknowledged. Throws while the disk still fails;
   * it can be tried again.
   */
  async restoreDisk(): Promise<void> {
    this.checkpointer.stop();
    await this.undone;
    await this.checkpointer.inFlight;
    await Promise.all(this.removals);
    // What was acknowledged and still waits is written first (the disk may still refuse: then
    // nothing changed, reads keep taking it from memory, and this is tried again later).
    this.files.writebackAll();
    this.files.closeAll();
    await this.journal.close();
    while (this.unsettled.length > 0) {
      this.unsettled[this.unsettled.length - 1]!.undoOnDisk(this.paths);
      this.unsettled.pop();
    }
    if (this.settings.durable) await fsyncDir(this.paths.fs, this.paths.abs("workers"));
    const current = this.journal.number;
    await cutJournal(this.paths.fs, this.paths.abs(this.paths.journal(current)), this.acked.number === current ? this.acked.end : 0);
  }

  // ---------------------------------------------------------------- reads

  async listRuns(worker_id: string): Promise<Run[]> {
    await this.undone;
    const worker = this.readable(worker_id);
    if (!worker) return [];
    const path = worker.runs_path;
    const waiting = this.files.beforeRead(path, worker.runs_bytes);
    return this.verified(worker, readRuns(this.paths.fs, this.paths.abs(path), path, worker.runs_bytes, this.paths.unsealedAccepted, waiting));
  }

  async getRun(worker_id: string, run_id: string): Promise<Run | undefined> {
    await this.undone;
    const worker = this.readable(worker_id);
    if (!worker || typeof run_id !== "string") return undefined;
    if (worker.last_run?.run_id === run_id) return worker.last_run;
    const cached = this.runCache.get(worker.id, run_id);
    if (cached) return cached;
    const path = worker.runs_path;
    const waiting = this.files.beforeRead(path, worker.runs_bytes);
    const run = await this.verified(worker, findRun(this.paths.fs, this.paths.abs(path), path, worker.runs_bytes, run_id, this.paths.unsealedAccepted, waiting));
    if (run && this.workers.get(worker.id) === worker) this.runCache.put(worker.id, run);
    return run;
  }

  async readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]> {
    await this.undone;
    const worker = this.readable(worker_id);
    if (!worker) return [];
    const path = worker.transcript_path;
    const waiting = this.files.beforeRead(path, worker.transcript_bytes);
    return this.verified(worker, readTranscriptPage(this.paths.fs, this.paths.abs(path), path, worker, start, limit, this.paths.unsealedAccepted, waiting));
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

  /**
   * workers/<id>/work (`dir`), made on first use (with the worker's directory, when that is not
   * made yet) and again if someone removed it while the worker exists.
   */
  ensureWorkDir(worker_id: string, dir: string): void {
    const worker = this.workers.get(worker_id);
    if (!worker || this.workDirs.has(worker_id)) return;
    if (!worker.on_disk && worker.unmade && !worker.making) {
      if (this.failure) throw unavailable(this.failure.cause, false, this.failure.error);
      const { record, state, batch } = worker.unmade;
      try {
        createWorkerDirSync(this.paths, record, state, batch);
      } catch (error) {
        // The disk refuses what a write needs: the store degrades as after a failed write (the journal keeps the create).
        throw this.failed(error, false);
      }
      this.dirMade(worker);
    }
    // While the directory is being made, work/ may come first: the making moves its files in then.
    if (!worker.on_disk && !worker.making) return;
    this.paths.fs.mkdirSync(dir, { recursive: true });
    this.workDirs.add(worker_id);
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

