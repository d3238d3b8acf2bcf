import { RuntimeError } from "../core/errors.ts";
import { SILENT_LOGGER, type RuntimeLogger } from "../core/ports/logger.ts";
import type { Diagnostic } from "../core/schema/diagnostic.ts";
import type { StoredEvent } from "../core/schema/event.ts";
import type { Run } from "../core/schema/run.ts";
import type { TranscriptEntry } from "../core/schema/transcript.ts";
import { messageOf } from "../shared/errors.ts";
import { ensureDateTimeFormat } from "./fs/date-time-format.ts";
import { acquireLock, releaseLock } from "./fs/lock.ts";
import { StorePaths } from "./fs/paths.ts";
import { StoreSession, type CommitStats, type StoreSettings } from "./fs/session.ts";
import { NODE_STORE_FS, type StoreFs } from "./fs/store-fs.ts";
import { unavailable } from "./fs/store-failure.ts";
import { probeWritable } from "./fs/write-probe.ts";
import type { StoreHealth } from "../core/readiness.ts";
import type { EventQuery, RuntimeStore, StoreCommit, StoreOpenOptions, StoreSnapshot } from "../core/ports/store.ts";

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
  /** Told of every group commit once durable (for metrics). */
  onCommit?: (commit: CommitStats) => void;
  /** The file system the store works through; default node:fs. Tests wrap it to inject faults (store-fs.ts). */
  fs?: StoreFs;
}

export type { CommitStats } from "./fs/session.ts";

/** Recovery after a failed write is tried after this long, doubling up to MAX (and on each commit that is due). */
const FIRST_PROBE_MS = 100;
const MAX_PROBE_MS = 2000;


/**
 * Where the store is in its life. An open holds its session and the root's real path, which LOCK
 * is keyed by (two names for one directory are one store); a closed store keeps its last session,
 * so reads of a closed store answer from it.
 */
type Lifecycle =
  | { status: "new" }
  | { status: "open"; session: StoreSession; realRoot: string }
  | { status: "closing" | "closed"; session: StoreSession; closing: Promise<void> };

/**
 * The durable store (SPEC §8): the layout below `root`, written through a write-ahead journal.
 *
 * This class is the store's lifecycle: its options, LOCK, open and close. Each open builds a
 * StoreSession (fs/session.ts) holding everything that lives for that open — workers, logs,
 * journal, commit queue, checkpointer — and close ends it; a reopen builds a new one from the
 * layout. Opening replays whatever journal is left, so a crash loses no acknowledged write.
 */
export class FsStore implements RuntimeStore {
  readonly kind = "fs" as const;
  readonly root: string;
  private readonly settings: StoreSettings;
  private readonly lockFile: string;
  private lifecycle: Lifecycle = { status: "new" };
  private openOptions: StoreOpenOptions | null = null;
  /** Recovery after a failed write: the attempt running, when the next is due, the timer that starts it. */
  private recovery: { running: Promise<boolean> | null; due: number; delayMs: number; timer: ReturnType<typeof setTimeout> | null } = {
    running: null,
    due: 0,
    delayMs: FIRST_PROBE_MS,
    timer: null,
  };

  constructor(options: FsStoreOptions) {
    if (typeof options?.root !== "string" || options.root.length === 0) {
      throw new RuntimeError("invalid_request", "FsStore needs a root directory");
    }
    const durability = options.durability ?? "fsync";
    if (durability !== "fsync" && durability !== "none") {
      throw new RuntimeError("invalid_request", `durability must be "fsync" or "none", not ${String(durability)}`);
    }
    const checkpointMs = options.checkpoint_interval_ms ?? 1000;
    const perSegment = options.events_per_segment;
    for (const [key, value] of [["checkpoint_interval_ms", checkpointMs], ["events_per_segment", perSegment ?? 1]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RuntimeError("invalid_request", `${key} must be a positive integer`);
    }
    const paths = new StorePaths(options.root, options.fs ?? NODE_STORE_FS);
    this.settings = {
      paths,
      durable: durability === "fsync",
      log: options.logger ?? SILENT_LOGGER,
      checkpointMs,
      perSegment,
      onCommit: options.onCommit,
      onFailure: () => this.scheduleRecovery(),
    };
    this.root = paths.root;
    this.lockFile = paths.abs("LOCK");
    ensureDateTimeFormat();
  }

  async open(options: StoreOpenOptions): Promise<StoreSnapshot> {
    if (this.lifecycle.status === "open" || this.lifecycle.status === "closing") {
      throw new RuntimeError("store_locked", `the store at ${this.root} is already open in this process`);
    }
    const fs = this.settings.paths.fs;
    await fs.promises.mkdir(this.root, { recursive: true });
    const realRoot = await fs.promises.realpath(this.root);
    const { taken_over } = await acquireLock(this.lockFile, realRoot, fs);
    try {
      const { session, snapshot } = await StoreSession.open(this.settings, options, taken_over);
      this.lifecycle = { status: "open", session, realRoot };
      this.openOptions = options;
      return snapshot;
    } catch (error) {
      await releaseLock(this.lockFile, realRoot, this.settings.paths.fs);
      if (error instanceof RuntimeError) throw error;
      throw new RuntimeError("store_io", `cannot open the store at ${this.root}: ${messageOf(error)}`);
    }
  }

  commit(commit: StoreCommit): Promise<void> {
    const lifecycle = this.lifecycle;
    if (lifecycle.status !== "open") {
      const state = lifecycle.status === "new" ? "not open" : "closed";
      return Promise.reject(new RuntimeError("runtime_unavailable", `the store at ${this.root} is ${state}`));
    }
    try {
      this.checkCommit(commit);
    } catch (error) {
      return Promise.reject(error);
    }
    if (lifecycle.session.failedWith()) return this.commitWhileFailed(commit);
    return lifecycle.session.submit(commit);
  }

  /** Writable unless the last write failed and the store has not recovered yet (`/readyz`, `degraded`). */
  health(): StoreHealth {
    const failure = this.lifecycle.status === "open" ? this.lifecycle.session.failedWith() : null;
    return failure ? { writable: false, cause: failure.cause } : { writable: true };
  }

  // ---------------------------------------------------------------- recovery

  /**
   * A commit while the store cannot write: it waits for a recovery attempt that is running or due,
   * and goes to the recovered session if that worked; otherwise it is refused at once (503, the
   * cause; nothing applied).
   */
  private async commitWhileFailed(commit: StoreCommit): Promise<void> {
    const recovered = this.recovery.running ?? (Date.now() >= this.recovery.due ? this.recover() : null);
    if (recovered && (await recovered) && this.lifecycle.status === "open" && !this.lifecycle.session.failedWith()) {
      return this.lifecycle.session.submit(commit);
    }
    const failure = this.lifecycle.status === "open" ? this.lifecycle.session.failedWith() : null;
    if (!failure) return this.commit(commit);
    throw unavailable(failure.cause, false, failure.error);
  }

  /** A session failed: recovery is tried on a timer (backing off) until it works or the store closes. */
  private scheduleRecovery(): void {
    const recovery = this.recovery;
    if (recovery.timer || this.lifecycle.status !== "open") return;
    recovery.due = Date.now() + recovery.delayMs;
    recovery.timer = setTimeout(() => {
      recovery.timer = null;
      if (this.lifecycle.status !== "open") return;
      void (recovery.running ?? this.recover()).then((ok) => {
        if (!ok) this.scheduleRecovery();
      });
    }, recovery.delayMs);
    (recovery.timer as { unref?: () => void }).unref?.();
  }

  /**
   * Recovery in process: the failed session takes its failed batches back on disk and cuts the
   * journal to its last acknowledged record; once a probe write succeeds, a new session is opened
   * from the layout (replaying the journal, as a restart would) and takes over. Resolves false
   * while the disk still fails (tried again later).
   */
  private recover(): Promise<boolean> {
    const recovery = this.recovery;
    const attempt = (async () => {
      const lifecycle = this.lifecycle;
      if (lifecycle.status !== "open" || !this.openOptions) return false;
      const failed = lifecycle.session;
      const failure = failed.failedWith();
      if (!failure) return true;
      const started = performance.now();
      try {
        await failed.restoreDisk();
        await probeWritable(this.settings.paths, this.settings.durable);
        const { session, snapshot } = await StoreSession.open(this.settings, this.openOptions, null);
        if (this.lifecycle !== lifecycle) {
          await session.close();
          return false;
        }
        this.lifecycle = { ...lifecycle, session };
        recovery.delayMs = FIRST_PROBE_MS;
        this.settings.log.info("the store writes again (recovered in process)", {
          cause: failure.cause,
          recovery_ms: Math.round(performance.now() - started),
          repairs: snapshot.diagnostics.map((d) => d.code),
        });
        return true;
      } catch (error) {
        recovery.delayMs = Math.min(recovery.delayMs * 2, MAX_PROBE_MS);
        recovery.due = Date.now() + recovery.delayMs;
        this.settings.log.debug("the store still cannot write", { error: messageOf(error) });
        return false;
      }
    })().finally(() => {
      recovery.running = null;
    });
    recovery.running = attempt;
    return attempt;
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

  // Reads before the first open find nothing; after close they answer from the last open.

  async listRuns(worker_id: string): Promise<Run[]> {
    return (await this.session?.listRuns(this.checkedId(worker_id))) ?? [];
  }

  async getRun(worker_id: string, run_id: string): Promise<Run | undefined> {
    return this.session?.getRun(this.checkedId(worker_id), run_id);
  }

  async readTranscript(worker_id: string, start: number, limit: number): Promise<TranscriptEntry[]> {
    return (await this.session?.readTranscript(this.checkedId(worker_id), start, limit)) ?? [];
  }

  async readEvents(query: EventQuery): Promise<StoredEvent[]> {
    return (await this.session?.readEvents(query)) ?? [];
  }

  firstRetainedEventId(): number | null {
    return this.session?.firstRetainedEventId() ?? null;
  }

  async listDiagnostics(): Promise<Diagnostic[]> {
    return this.session?.listDiagnostics() ?? [];
  }

  /** workers/<id>/work, made on first use (with the worker's directory if that is not made yet) and again if someone removed it. */
  workDir(worker_id: string): string | null {
    const dir = this.settings.paths.abs(this.settings.paths.workerFile(this.checkedId(worker_id), "work"));
    this.session?.ensureWorkDir(worker_id, dir);
    return dir;
  }

  private checkedId(worker_id: string): string {
    this.settings.paths.workerDir(worker_id);
    return worker_id;
  }

  /** Flushes queued commits, checkpoints everything, removes the journal and releases LOCK. */
  close(): Promise<void> {
    const lifecycle = this.lifecycle;
    if (lifecycle.status === "new") return Promise.resolve();
    if (lifecycle.status !== "open") return lifecycle.closing;
    // A recovery under way when the close comes keeps the session it would replace (recover()).
    const { session, realRoot } = lifecycle;
    if (this.recovery.timer) clearTimeout(this.recovery.timer);
    this.recovery.timer = null;
    const closing = (async () => {
      await this.recovery.running;
      try {
        // A store closed while it cannot write still takes the failed batches back, if the disk lets it.
        if (session.failedWith()) await session.restoreDisk().catch((error) => this.settings.log.warn("the store closes with a failed write not taken back", { error: messageOf(error) }));
        await session.close();
      } finally {
        await releaseLock(this.lockFile, realRoot, this.settings.paths.fs);
        if (this.lifecycle.status === "closing") this.lifecycle = { ...this.lifecycle, status: "closed" };
      }
    })();
    this.lifecycle = { status: "closing", session, closing };
    return closing;
  }

  /** The session reads answer from: the current open's, or the last one's once closed. */
  private get session(): StoreSession | null {
    return this.lifecycle.status === "new" ? null : this.lifecycle.session;
  }
}
