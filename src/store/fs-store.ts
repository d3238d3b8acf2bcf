import { mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { mkdir, readdir, readFile, realpath, rm, unlink } from "node:fs/promises";
import { RuntimeError } from "../core/errors.ts";
import { isValidId } from "../core/ids.ts";
import type { RuntimeLogger } from "../core/runtime.ts";
import type { Diagnostic } from "../core/schema/diagnostic.ts";
import type { StoredEvent } from "../core/schema/event.ts";
import type { Run } from "../core/schema/run.ts";
import { RuntimeRecord } from "../core/schema/runtime.ts";
import type { TranscriptEntry } from "../core/schema/transcript.ts";
import type { WorkerState } from "../core/schema/worker.ts";
import { firstError } from "../core/validate.ts";
import { fsyncDir, syncFile, writeFileAtomic } from "./fs/atomic.ts";
import { BatchPlan } from "./fs/batch-plan.ts";
import { ensureDateTimeFormat } from "./fs/date-time-format.ts";
import { DiagnosticLog } from "./fs/diagnostic-log.ts";
import { EventLog } from "./fs/event-log.ts";
import { AppendFiles } from "./fs/append-files.ts";
import { GroupCommit, type Applied } from "./fs/group-commit.ts";
import { JournalWriter, type JournalOp } from "./fs/journal.ts";
import { tryParse } from "./fs/lines.ts";
import { acquireLock, releaseLock } from "./fs/lock.ts";
import { numberedName, StorePaths } from "./fs/paths.ts";
import { replayJournal } from "./fs/replay.ts";
import { Repairs } from "./fs/repairs.ts";
import { findRun, readRuns } from "./fs/run-reader.ts";
import { readTranscriptPage, transcriptLine } from "./fs/transcript-reader.ts";
import { createWorkerDir, moveWorkerDirAside } from "./fs/worker-dir.ts";
import { loadWorker } from "./fs/worker-loader.ts";
import { addAnchor, newWorker, stateFile, type FsWorker } from "./fs/worker.ts";
import type { EventQuery, RuntimeStore, StoreCommit, StoredWorker, StoreOpenOptions, StoreSnapshot } from "./store.ts";

export interface FsStoreOptions {
  /** Directory of the store (SPEC §8 layout); created if missing. */
  root: string;
  /** `fsync` (default): a commit resolves once its data is durable. `none`: no syncs, for throwaway use. */
  durability?: "fsync" | "none";
  logger?: RuntimeLogger;
  /** Events per segment file; default max_retained_events / 10, between 1 and 10,000. */
  events_per_segment?: number;
  /** How long state.json may lag behind the journal before a checkpoint; default 1000 ms. */
  checkpoint_interval_ms?: number;
  /** Told of every group commit once durable (for metrics); `fsync_s` is null without fsync. */
  onCommit?: (commit: CommitStats) => void;
}

export interface CommitStats {
  /** Store commits written together in one journal record. */
  records: number;
  fsync_s: number | null;
  /** The journal's size after this commit. */
  journal_bytes: number;
}

const FORMAT_VERSION = 1;
/** A journal file past this size is checkpointed at once, bounding replay after a crash. */
const JOURNAL_LIMIT = 64 * 1024 * 1024;
const RUN_CACHE = 4096;
/** Past this many workers to checkpoint, closing keeps the journal instead (shutdown stays fast). */
const CLOSE_CHECKPOINT_LIMIT = 1000;
const PARALLEL_SYNCS = 32;
const SILENT: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface CheckpointWork {
  batch: number;
  workers: Array<{ worker: FsWorker; state: WorkerState; transcript_bytes: number; runs_bytes: number }>;
  files: string[];
  dirs: string[];
}

/** Per batch: entries each worker's transcript will hold once the batch is written. */
type Counts = Map<FsWorker, { count: number; last: number | null }>;

/**
 * The durable store (SPEC §8): the layout below `root`, written through a write-ahead journal.
 *
 * A commit is queued; concurrent commits form one batch (group commit). A batch is written to
 * the journal (wal/<n>.jsonl) and applied — worker directories created or removed at once,
 * appends to transcript and run logs, event segments and diagnostics queued to be written
 * behind — then the journal alone is fdatasynced: one sync per batch however many files it
 * touched. Commits resolve in call order once that sync returns. Checkpoints — every
 * `checkpoint_interval_ms`, when the journal grows large, and on close — write and sync the
 * layout's files, rewrite state.json atomically and retire the journal. Opening replays whatever
 * journal is left, so a crash loses no acknowledged write.
 */
export class FsStore implements RuntimeStore {
  readonly kind = "fs" as const;
  readonly root: string;
  private readonly paths: StorePaths;
  private readonly durable: boolean;
  private readonly log: RuntimeLogger;
  private readonly checkpointMs: number;
  private readonly perSegment: number | undefined;
  private status: "new" | "open" | "closing" | "closed" = "new";
  private closing: Promise<void> | null = null;
  private realRoot = "";
  private workers = new Map<string, FsWorker>();
  private events!: EventLog;
  private diagnosticLog!: DiagnosticLog;
  private journal!: JournalWriter;
  private journals: number[] = [];
  private files!: AppendFiles;
  private queue!: GroupCommit<StoreCommit>;
  private batch = 0;
  private dirtyWorkers = new Set<FsWorker>();
  private dirtyFiles = new Set<string>();
  private dirtyDirs = new Set<string>();
  private checkpointDue = false;
  private checkpointTimer: ReturnType<typeof setTimeout> | null = null;
  private checkpointing: Promise<void> | null = null;
  /** The journal sync in flight (settles, never rejects): rotation waits for it. */
  private syncing: Promise<void> = Promise.resolve();
  /** The publication of the last batch written (settles, never rejects). */
  private publishing: Promise<void> = Promise.resolve();
  private checkpointError: unknown = null;
  private removals = new Set<Promise<void>>();
  private runCache = new Map<string, Run>();
  private workDirs = new Set<string>();
  private readonly onCommit: FsStoreOptions["onCommit"];

  constructor(options: FsStoreOptions) {
    if (typeof options?.root !== "string" || options.root.length === 0) {
      throw new RuntimeError("invalid_request", "FsStore needs a root directory");
    }
    const durability = options.durability ?? "fsync";
    if (durability !== "fsync" && durability !== "none") {
      throw new RuntimeError("invalid_request", `durability must be "fsync" or "none", not ${String(durability)}`);
    }
    this.paths = new StorePaths(options.root);
    this.root = this.paths.root;
    this.durable = durability === "fsync";
    this.log = options.logger ?? SILENT;
    this.onCommit = options.onCommit;
    this.checkpointMs = options.checkpoint_interval_ms ?? 1000;
    this.perSegment = options.events_per_segment;
    for (const [key, value] of [["checkpoint_interval_ms", this.checkpointMs], ["events_per_segment", this.perSegment ?? 1]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RuntimeError("invalid_request", `${key} must be a positive integer`);
    }
    ensureDateTimeFormat();
  }

  // ---------------------------------------------------------------- open

  async open(options: StoreOpenOptions): Promise<StoreSnapshot> {
    if (this.status === "open" || this.status === "closing") {
      throw new RuntimeError("store_locked", `the store at ${this.root} is already open in this process`);
    }
    await mkdir(this.root, { recursive: true });
    const lockFile = this.paths.abs("LOCK");
    // Keyed by the real path, so two names for one directory are one store.
    const real = await realpath(this.root);
    const { taken_over } = await acquireLock(lockFile, real);
    try {
      const snapshot = await this.load(options, taken_over);
      this.realRoot = real;
      this.status = "open";
      this.closing = null;
      return snapshot;
    } catch (error) {
      this.files?.closeAll();
      await this.journal?.close().catch(() => undefined);
      await releaseLock(lockFile, real);
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError("store_io", `cannot open the store at ${this.root}: ${messageOf(error)}`);
    }
  }

  private async load(options: StoreOpenOptions, taken_over: { pid: number | null } | null): Promise<StoreSnapshot> {
    this.workers = new Map();
    this.dirtyWorkers = new Set();
    this.dirtyFiles = new Set();
    this.dirtyDirs = new Set();
    this.runCache = new Map();
    this.workDirs = new Set();
    this.checkpointError = null;
    this.checkpointDue = false;
    this.syncing = Promise.resolve();
    this.publishing = Promise.resolve();

    for (const dir of ["workers", "events", "diagnostics", "wal", "tmp"]) await mkdir(this.paths.abs(dir), { recursive: true });
    if (this.durable) await fsyncDir(this.root);
    // tmp/ holds writes a crash interrupted before their rename, and deleted workers being removed.
    for (const name of await readdir(this.paths.abs("tmp"))) await rm(this.paths.abs(`tmp/${name}`), { recursive: true, force: true });
    const runtime = await this.openRuntimeRecord(options);

    const repairs = new Repairs(runtime.id);
    if (taken_over !== null) {
      const owner = taken_over.pid === null ? "LOCK held no pid" : `LOCK named process ${taken_over.pid}, which no longer runs`;
      repairs.add(
        "warning",
        "store_lock_taken_over",
        `${owner} (the last owner did not shut down cleanly); this process took the store over`,
        null,
        { file: "LOCK", stale_pid: taken_over.pid },
      );
    }
    const replay = await replayJournal(this.paths, this.durable, repairs);
    await Promise.all(replay.removals);

    const maxRetained = options.max_retained_events;
    const perSegment = this.perSegment ?? Math.min(10_000, Math.max(1, Math.ceil(maxRetained / 10)));
    this.files = new AppendFiles((relative) => this.paths.abs(relative));
    this.events = new EventLog(this.paths, perSegment, maxRetained, (path) => this.writeOut(path));
    let last_event_id = this.events.load(repairs);
    this.diagnosticLog = new DiagnosticLog(this.paths);
    this.diagnosticLog.load(repairs);

    let batch = replay.last_batch;
    const workers: StoredWorker[] = [];
    const entries = readdirSync(this.paths.abs("workers"), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (!isValidId(entry.name)) {
        repairs.add("warning", "store_unexpected_entry", `workers/${entry.name} is not a worker directory; it is left as it is`, null, {
          file: `workers/${entry.name}`,
        });
        continue;
      }
      // A name that is a worker id but not a directory (a symlink, a file) still claims that id.
      const loaded = entry.isDirectory()
        ? loadWorker(this.paths, runtime.id, entry.name, repairs, replay.states.get(entry.name))
        : notADirectory(entry.name);
      const worker = loaded.worker;
      this.workers.set(worker.id, worker);
      batch = Math.max(batch, loaded.batch);
      last_event_id = Math.max(last_event_id, loaded.last_event_id);
      if (loaded.dirty) this.dirtyWorkers.add(worker);
      workers.push(
        worker.unavailable === null
          ? { worker_id: worker.id, record: worker.record!, state: worker.state! }
          : { worker_id: worker.id, record: worker.record, state: worker.state, unavailable: worker.unavailable },
      );
    }
    this.batch = batch;

    this.journal = new JournalWriter(this.paths, this.durable);
    this.queue = new GroupCommit<StoreCommit>(
      (commits) => this.flush(commits),
      () => this.between(),
      (error) => storeFailed(error),
    );
    // What replay wrote and loading repaired is checkpointed in the background, right away; the
    // replayed journal files stay until that checkpoint has made it durable in the layout.
    for (const path of replay.written) this.dirtyFiles.add(path);
    const leftover = readdirSync(this.paths.abs("wal")).map((name) => numberedName(name)).filter((n): n is number => n !== null);
    const next = Math.max(0, ...leftover) + 1;
    this.journals = [...leftover, next];
    await this.journal.start(next);
    this.checkpointDue = leftover.length > 0 || this.dirtyWorkers.size > 0;

    return { runtime, workers, last_event_id, diagnostics: repairs.diagnostics };
  }

  private async openRuntimeRecord(options: StoreOpenOptions): Promise<RuntimeRecord> {
    const file = "runtime.json";
    let text: string | null = null;
    try {
      text = await readFile(this.paths.abs(file), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (text === null) {
      if (await this.holdsStoreFiles()) {
        throw new RuntimeError(
          "store_corrupt",
          `${this.paths.abs(file)} is missing, but ${this.root} holds a store's files; restore runtime.json or use another data directory`,
          { file },
        );
      }
      const record: RuntimeRecord = {
        id: options.runtime_id ?? options.newRuntimeId(),
        display_name: options.display_name ?? null,
        created_at: new Date().toISOString(),
        format_version: FORMAT_VERSION,
      };
      await writeFileAtomic(this.paths, file, `${JSON.stringify(record, null, 2)}\n`, this.durable);
      return record;
    }
    const value = tryParse(text);
    const problem = value === undefined ? "is not valid JSON" : firstError(RuntimeRecord, value);
    if (problem) {
      const detail = value === undefined ? problem : `does not hold a runtime record (${problem})`;
      throw new RuntimeError("store_corrupt", `${this.paths.abs(file)} ${detail}; the store cannot be opened`, { file });
    }
    const record = value as RuntimeRecord;
    if (record.format_version !== FORMAT_VERSION) {
      throw new RuntimeError(
        "store_corrupt",
        `${this.paths.abs(file)} has format_version ${record.format_version}; this version reads format ${FORMAT_VERSION}`,
        { file },
      );
    }
    if (options.runtime_id !== undefined && options.runtime_id !== record.id) {
      throw new RuntimeError(
        "store_runtime_mismatch",
        `the store at ${this.root} belongs to runtime ${record.id}, not ${options.runtime_id}; use that runtime id or another data directory`,
        { store_runtime_id: record.id, configured_runtime_id: options.runtime_id },
      );
    }
    if (options.display_name != null && options.display_name !== record.display_name) {
      const updated = { ...record, display_name: options.display_name };
      await writeFileAtomic(this.paths, file, `${JSON.stringify(updated, null, 2)}\n`, this.durable);
      return updated;
    }
    return record;
  }

  private async holdsStoreFiles(): Promise<boolean> {
    for (const dir of ["workers", "events"]) {
      try {
        if ((await readdir(this.paths.abs(dir))).length > 0) return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- commit

  commit(commit: StoreCommit): Promise<void> {
    if (this.status !== "open") {
      return Promise.reject(new RuntimeError("runtime_unavailable", `the store at ${this.root} is ${this.status === "new" ? "not open" : "closed"}`));
    }
    try {
      this.checkCommit(commit);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.queue.submit(commit);
  }

  /** Refuses a malformed commit on its own, before it joins a batch it could otherwise fail. */
  private checkCommit(commit: StoreCommit): void {
    if (commit.createWorker) {
      const id = this.checkedId(commit.createWorker.worker_ref.worker_id);
      if (!commit.states?.some((s) => s.worker_id === id)) {
        throw new RuntimeError("internal", `createWorker for ${id} came without its state`);
      }
    }
    for (const { worker_id } of commit.states ?? []) this.checkedId(worker_id);
    for (const run of commit.runs ?? []) this.checkedId(run.worker_ref.worker_id);
    for (const entry of commit.transcript ?? []) this.checkedId(entry.worker_ref.worker_id);
    if (commit.deleteWorker !== undefined) this.checkedId(commit.deleteWorker);
  }

  private async flush(commits: StoreCommit[]): Promise<Applied> {
    const plan = new BatchPlan(++this.batch);
    const counts: Counts = new Map();
    for (const commit of commits) this.planCommit(plan, counts, commit);
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
    // A checkpoint in flight writes into worker directories: let it finish before any moves.
    if (plan.hasStructural && this.checkpointing) await this.checkpointing;

    const { ops, payload, bytes, writes } = plan.finish(states);
    const written = this.journal.write(plan.batch, ops, payload, bytes);
    for (const id of plan.removeDirs) {
      this.files.discardUnder(this.paths.workerDir(id));
      const removal = moveWorkerDirAside(this.paths, id);
      if (removal) this.track(removal);
    }
    await Promise.all(
      [...plan.created.values()].map(async ({ worker, record, state }) => {
        await createWorkerDir(this.paths, record, state, plan.batch, this.durable);
        worker.on_disk = true;
      }),
    );
    for (const [path, start, length] of writes) this.files.append(path, written.subarray(start, start + length));
    for (const path of plan.removedPaths()) {
      this.files.discardUnder(path);
      try {
        unlinkSync(this.paths.abs(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    // Applied: readers of transcripts and runs may see it (events wait for the sync below).
    for (const worker of plan.touched) {
      worker.transcript_bytes = plan.endOf(worker.transcript_path, worker.transcript_bytes);
      worker.runs_bytes = plan.endOf(worker.runs_path, worker.runs_bytes);
      const count = counts.get(worker);
      if (count) {
        worker.transcript_count = count.count;
        if (count.last !== null) addAnchor(worker, count.count - 1, count.last);
      }
    }
    const syncStart = performance.now();
    const synced = this.journal.sync();
    if (this.onCommit) {
      const report = this.onCommit;
      const journal_bytes = this.journal.bytes;
      void synced.then(
        () => report({ records: commits.length, fsync_s: this.durable ? (performance.now() - syncStart) / 1000 : null, journal_bytes }),
        () => {},
      );
    }
    this.syncing = synced.catch(() => undefined);
    for (const path of plan.appendedPaths()) {
      this.dirtyFiles.add(path);
      if (!path.startsWith("workers/")) this.dirtyDirs.add(path.slice(0, path.indexOf("/")));
    }
    for (const worker of plan.touched) {
      const created = plan.created.get(worker.id);
      // A worker created with nothing else is exactly what its new state.json says.
      if (created?.worker === worker && created.state === worker.state && worker.transcript_bytes === 0 && worker.runs_bytes === 0) continue;
      this.dirtyWorkers.add(worker);
    }
    if (this.journal.bytes > JOURNAL_LIMIT) this.checkpointDue = true;
    this.scheduleCheckpoint();
    // Events and diagnostics reach readers only once durable, so no one sees what a crash takes back.
    // Two batches may sync at once; they are published in batch order all the same.
    const durable = Promise.all([this.publishing, synced]).then(() => {
      this.events.published(plan.events);
      this.diagnosticLog.published(plan.diagnostics);
    });
    this.publishing = durable.catch(() => undefined);
    return { durable };
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
      plan.append(worker.runs_path, worker.runs_bytes, `${JSON.stringify(run)}\n`);
      plan.touched.add(worker);
      worker.last_run = run;
      if (this.runCache.size > 0 && this.runCache.has(`${worker.id}/${run.run_id}`)) this.cacheRun(worker.id, run);
    }
    for (const entry of commit.transcript ?? []) this.planEntry(plan, counts, entry);
    if (commit.deleteWorker !== undefined) this.planDelete(plan, commit.deleteWorker);
    if (commit.events?.length) this.events.plan(commit.events as StoredEvent[], plan);
    if (commit.diagnostics?.length) this.diagnosticLog.plan(commit.diagnostics as Diagnostic[], plan);
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
    this.dirtyWorkers.delete(worker);
    this.workDirs.delete(worker_id);
    for (const key of [...this.runCache.keys()]) if (key.startsWith(`${worker_id}/`)) this.runCache.delete(key);
    plan.delete(worker, dir);
  }

  /** The worker, when it exists and its files loaded; commits for anything else are ignored, as the memory store does. */
  private available(worker_id: string): FsWorker | undefined {
    const worker = this.workers.get(worker_id);
    return worker && worker.unavailable === null ? worker : undefined;
  }

  private cacheRun(worker_id: string, run: Run): void {
    const key = `${worker_id}/${run.run_id}`;
    this.runCache.delete(key);
    this.runCache.set(key, run);
    if (this.runCache.size > RUN_CACHE) this.runCache.delete(this.runCache.keys().next().value!);
  }

  private track(removal: Promise<void>): void {
    const tracked = removal
      .catch((error) => this.log.warn("could not remove a deleted worker's files", { error: messageOf(error) }))
      .finally(() => this.removals.delete(tracked));
    this.removals.add(tracked);
  }

  // ---------------------------------------------------------------- checkpoints

  private scheduleCheckpoint(): void {
    if (this.status !== "open") return;
    if (this.checkpointDue) {
      this.queue.kick();
      return;
    }
    if (this.checkpointTimer) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      this.checkpointDue = true;
      this.queue.kick();
    }, this.checkpointMs);
    (this.checkpointTimer as { unref?: () => void }).unref?.();
  }

  /** Between batches: starts a due checkpoint; the next batch goes to a fresh journal file. */
  private async between(): Promise<void> {
    if (this.checkpointError !== null) throw this.checkpointError;
    // Closing runs the last checkpoint itself.
    if (!this.checkpointDue || this.checkpointing || this.status !== "open") return;
    this.checkpointDue = false;
    // The batch still syncing is in the journal file about to be left behind.
    await this.syncing;
    const work = this.capture();
    const retired = this.journal.number;
    await this.journal.rotate();
    this.journals.push(this.journal.number);
    this.checkpointing = this.runCheckpoint(work, retired)
      .catch((error) => {
        this.checkpointError = error;
        this.log.error("a store checkpoint failed; the store accepts no more writes", { error: messageOf(error) });
      })
      .finally(() => {
        this.checkpointing = null;
        if (this.dirtyWorkers.size > 0 || this.dirtyFiles.size > 0) this.scheduleCheckpoint();
      });
  }

  /** What is written so far and not yet checkpointed; taken between batches. */
  private capture(): CheckpointWork {
    this.files.writebackAll();
    const workers: CheckpointWork["workers"] = [];
    for (const worker of this.dirtyWorkers) {
      if (worker.unavailable !== null || !worker.state || !worker.on_disk || this.workers.get(worker.id) !== worker) continue;
      workers.push({ worker, state: worker.state, transcript_bytes: worker.transcript_bytes, runs_bytes: worker.runs_bytes });
    }
    const work: CheckpointWork = { batch: this.batch, workers, files: [...this.dirtyFiles], dirs: [...this.dirtyDirs] };
    this.dirtyWorkers.clear();
    this.dirtyFiles.clear();
    this.dirtyDirs.clear();
    return work;
  }

  /**
   * Makes `work` durable in the layout itself — logs synced, state.json rewritten atomically with
   * the sizes it covers — then removes the journal files up to `retired`, which it supersedes.
   */
  private async runCheckpoint(work: CheckpointWork, retired: number): Promise<void> {
    if (this.durable) {
      await inParallel(work.files, (path) => syncFile(this.paths.abs(path)));
      await inParallel(work.dirs, (dir) => fsyncDir(this.paths.abs(dir)));
    }
    await inParallel(work.workers, ({ worker, state, transcript_bytes, runs_bytes }) =>
      writeFileAtomic(
        this.paths,
        this.paths.workerFile(worker.id, "state.json"),
        stateFile(state, { batch: work.batch, transcript_bytes, runs_bytes }),
        this.durable,
      ),
    );
    const keep: number[] = [];
    for (const number of this.journals) {
      if (number > retired) keep.push(number);
      else await unlink(this.paths.abs(this.paths.journal(number))).catch(ignoreMissing);
    }
    this.journals = keep;
  }

  // ---------------------------------------------------------------- reads

  async listRuns(worker_id: string): Promise<Run[]> {
    const worker = this.available(this.checkedId(worker_id));
    if (!worker) return [];
    const path = worker.runs_path;
    this.writeOut(path);
    return readRuns(this.paths.abs(path), path, worker.runs_bytes);
  }

  async getRun(worker_id: string, run_id: string): Promise<Run | undefined> {
    const worker = this.available(this.checkedId(worker_id));
    if (!worker || typeof run_id !== "string") return undefined;
    if (worker.last_run?.run_id === run_id) return worker.last_run;
    const cached = this.runCache.get(`${worker.id}/${run_id}`);
    if (cached) return cached;
    const path = worker.runs_path;
    this.writeOut(path);
    const run = await findRun(this.paths.abs(path), path, worker.runs_bytes, run_id);
    if (run && this.workers.get(worker.id) === worker) this.cacheRun(worker.id, run);
    return run;
  }

  async readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]> {
    const worker = this.available(this.checkedId(worker_id));
    if (!worker) return [];
    const path = worker.transcript_path;
    this.writeOut(path);
    return readTranscriptPage(this.paths.abs(path), path, worker, start, limit);
  }

  readEvents({ after, limit, worker_id }: EventQuery): Promise<StoredEvent[]> {
    return this.events.read(after, limit, worker_id);
  }

  firstRetainedEventId(): number | null {
    return this.events?.firstRetained() ?? null;
  }

  async listDiagnostics(): Promise<Diagnostic[]> {
    return this.diagnosticLog.list();
  }

  /** workers/<id>/work, created with the worker (and again if someone removed it). */
  workDir(worker_id: string): string | null {
    const dir = this.paths.abs(this.paths.workerFile(this.checkedId(worker_id), "work"));
    if (!this.workDirs.has(worker_id) && this.workers.get(worker_id)?.on_disk) {
      mkdirSync(dir, { recursive: true });
      this.workDirs.add(worker_id);
    }
    return dir;
  }

  /** Writes what waits for `path` before it is read; a failure is the store's, not the reader's. */
  private writeOut(path: string): void {
    try {
      this.files.writeback(path);
    } catch (error) {
      throw new RuntimeError("store_io", `the store could not write ${path}: ${messageOf(error)}`);
    }
  }

  private checkedId(worker_id: string): string {
    this.paths.workerDir(worker_id);
    return worker_id;
  }

  // ---------------------------------------------------------------- close

  /** Flushes queued commits, checkpoints everything, removes the journal and releases LOCK. */
  close(): Promise<void> {
    if (this.status !== "open") return this.closing ?? Promise.resolve();
    this.status = "closing";
    this.closing = (async () => {
      if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
      this.checkpointTimer = null;
      try {
        await this.queue.idle();
        await this.checkpointing;
        await this.journal.close();
        // After a failed write the journal is what a reopen replays: it stays. So it does when
        // rewriting every dirty state.json would hold up the shutdown: it is durable already.
        if (this.queue.error === null && this.checkpointError === null) {
          if (this.dirtyWorkers.size <= CLOSE_CHECKPOINT_LIMIT) {
            await this.runCheckpoint(this.capture(), this.journal.number);
          } else {
            this.files.writebackAll();
            this.log.info("the store leaves its journal for the next start to replay", { workers: this.dirtyWorkers.size });
          }
        }
        await Promise.all(this.removals);
      } finally {
        this.files.closeAll();
        await releaseLock(this.paths.abs("LOCK"), this.realRoot);
        this.status = "closed";
      }
    })();
    return this.closing;
  }
}

function notADirectory(id: string): { worker: FsWorker; batch: number; dirty: boolean; last_event_id: number } {
  const worker = newWorker(id, null, null);
  worker.on_disk = true;
  worker.unavailable = `workers/${id} is not a directory (a symlink or a file); it is left as it is`;
  return { worker, batch: 0, dirty: false, last_event_id: 0 };
}

async function inParallel<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(PARALLEL_SYNCS, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  });
  await Promise.all(lanes);
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function storeFailed(error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  return new RuntimeError("store_io", `the store could not write and accepts no more writes until reopened: ${messageOf(error)}`);
}
