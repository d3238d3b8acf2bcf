import type { WorkerState } from "../../core/schema/worker.ts";
import { errnoCode, messageOf } from "../../shared/errors.ts";
import type { AppendFiles } from "./append-files.ts";
import { fsyncDir, syncFile, writeFileAtomic } from "./atomic.ts";
import { writeEventsCheckpoint, type EventsCheckpoint } from "./events-checkpoint.ts";
import type { JournalWriter } from "./journal.ts";
import type { StoreSettings } from "./session.ts";
import { stateFile, type FsWorker } from "./worker.ts";

/** A journal file past this size is checkpointed at once, bounding replay after a crash. */
const JOURNAL_LIMIT = 64 * 1024 * 1024;
/** Past this many workers to checkpoint, closing keeps the journal instead (shutdown stays fast). */
const CLOSE_CHECKPOINT_LIMIT = 1000;
const PARALLEL_SYNCS = 32;

/** What is written and not yet checkpointed, as taken between two batches. */
interface CheckpointWork {
  batch: number;
  /** Created workers whose directories are to be made (and synced) before the journal goes. */
  unmade: FsWorker[];
  workers: Array<{ worker: FsWorker; state: WorkerState; transcript_bytes: number; runs_bytes: number }>;
  files: string[];
  dirs: string[];
  /** The event segments' acknowledged sizes, when events were written since the last checkpoint. */
  events: EventsCheckpoint | null;
}

/**
 * Checkpoints of one open store: every `checkpoint_interval_ms`, when the journal grows past
 * JOURNAL_LIMIT, and on close, it syncs the layout's files written since the last one, rewrites
 * the state.json of the workers that changed (atomically, with the log sizes it covers) and
 * retires the journal files that this makes redundant. It runs between batches of the group
 * commit (`between`), in the background; a failed checkpoint stops the store accepting writes.
 */
export class Checkpointer {
  private readonly dirtyWorkers = new Set<FsWorker>();
  private readonly dirtyFiles = new Set<string>();
  private readonly dirtyDirs = new Set<string>();
  private readonly unmade = new Set<FsWorker>();
  private due: boolean;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private error: unknown = null;
  private stopped = false;
  /** Journal files not yet superseded by a checkpoint, oldest first (the one being written last). */
  private journals: number[];

  constructor(
    private readonly settings: StoreSettings,
    /** Started on the journal file after the last one the previous run left. */
    private readonly journal: JournalWriter,
    private readonly files: AppendFiles,
    /** The worker is still the store's (not deleted or replaced since it was noted). */
    private readonly current: (worker: FsWorker) => boolean,
    /** Starts a pass of the commit loop, which runs `between`. */
    private readonly kick: () => void,
    /** Makes an unmade worker's directory (without syncs). */
    private readonly makeDir: (worker: FsWorker) => Promise<void>,
    loaded: { dirtyWorkers: readonly FsWorker[]; written: Iterable<string>; leftoverJournals: readonly number[] },
    /** What events/checkpoint.json records of the event log as it is now. */
    private readonly eventsRecord: () => EventsCheckpoint,
  ) {
    this.journals = [...loaded.leftoverJournals, journal.number];
    for (const worker of loaded.dirtyWorkers) this.dirtyWorkers.add(worker);
    for (const path of loaded.written) this.dirtyFiles.add(path);
    // What replay wrote and loading repaired is checkpointed at the first chance; the replayed
    // journal files stay until that checkpoint has made it durable in the layout.
    this.due = loaded.leftoverJournals.length > 0 || this.dirtyWorkers.size > 0;
  }

  /** Why the last checkpoint failed, or null. */
  get failure(): unknown {
    return this.error;
  }

  /** The checkpoint running in the background, if any (settles, never rejects). */
  get inFlight(): Promise<void> | null {
    return this.running;
  }

  /** `worker`'s state.json is behind: the next checkpoint rewrites it. */
  noteWorker(worker: FsWorker): void {
    this.dirtyWorkers.add(worker);
  }

  /** A deleted worker: nothing of it is checkpointed any more. */
  forgetWorker(worker: FsWorker): void {
    this.dirtyWorkers.delete(worker);
    this.unmade.delete(worker);
    this.dirtyDirs.delete(`workers/${worker.id}`);
  }

  /** A created worker whose directory is made lazily: the next checkpoint makes it, if nothing did before. */
  noteUnmade(worker: FsWorker): void {
    this.unmade.add(worker);
  }

  /** A worker's directory was made (without syncs): the next checkpoint syncs its files and names. */
  noteMade(worker: FsWorker): void {
    this.unmade.delete(worker);
    for (const path of madePaths(worker)) this.dirtyFiles.add(path);
    this.dirtyDirs.add(`workers/${worker.id}`);
    this.dirtyDirs.add("workers");
  }

  /** `dir` (root-relative) got a new name: the next checkpoint syncs it. */
  noteDir(dir: string): void {
    this.dirtyDirs.add(dir);
  }

  /** `path` (root-relative) was appended to: the next checkpoint syncs it, and a new name's directory. */
  noteFile(path: string): void {
    this.dirtyFiles.add(path);
    if (!path.startsWith("workers/")) this.dirtyDirs.add(path.slice(0, path.indexOf("/")));
  }

  /** A batch was written: a checkpoint is scheduled, or due at once when the journal grew large. */
  afterBatch(): void {
    if (this.journal.bytes > JOURNAL_LIMIT) this.due = true;
    this.schedule();
  }

  /** Between batches: starts a due checkpoint; the next batch goes to a fresh journal file. */
  async between(batch: number): Promise<void> {
    if (this.error !== null) throw this.error;
    // Closing runs the last checkpoint itself.
    if (!this.due || this.running || this.stopped) return;
    // Only what is durable is checkpointed: a batch still syncing may yet fail and be taken back.
    await this.journal.settled();
    if (this.journal.failed !== null) return;
    this.due = false;
    const work = this.capture(batch);
    const retired = this.journal.number;
    // The batch still syncing is in the journal file about to be left behind: rotation waits for it.
    await this.journal.rotate();
    this.journals.push(this.journal.number);
    this.running = this.run(work, retired)
      .catch((error) => {
        this.error = error;
        this.settings.log.error("a store checkpoint failed; its journal files stay, and the store recovers like after a failed write", {
          error: messageOf(error),
        });
      })
      .finally(() => {
        this.running = null;
        if (this.dirtyWorkers.size > 0 || this.dirtyFiles.size > 0) this.schedule();
      });
  }

  /** No more timers or background checkpoints: the store is closing. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * The last checkpoint, on close (after `stop`, the last batch and the journal's close). After a
   * failed write the journal is what a reopen replays: it stays. So it does when rewriting every
   * dirty state.json would hold up the shutdown: it is durable already.
   */
  async last(batch: number, writeFailed: boolean): Promise<void> {
    if (writeFailed || this.error !== null) return;
    // Unmade directories are made whatever their number: replaying their creates would cost the next start more.
    if (this.dirtyWorkers.size <= CLOSE_CHECKPOINT_LIMIT) {
      await this.run(this.capture(batch), this.journal.number);
    } else {
      this.files.writebackAll();
      await inParallel(this.liveUnmade(), (worker) => this.makeDir(worker));
      this.settings.log.info("the store leaves its journal for the next start to replay", { workers: this.dirtyWorkers.size });
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.due) {
      this.kick();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = true;
      this.kick();
    }, this.settings.checkpointMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Unmade workers still the store's and loadable. */
  private liveUnmade(): FsWorker[] {
    return [...this.unmade].filter((worker) => worker.unmade !== null && worker.unavailable === null && this.current(worker));
  }

  /** What is written so far and not yet checkpointed; taken between batches. */
  private capture(batch: number): CheckpointWork {
    this.files.writebackAll();
    const workers: CheckpointWork["workers"] = [];
    for (const worker of this.dirtyWorkers) {
      if (worker.unavailable !== null || !worker.state || !(worker.on_disk || worker.unmade) || !this.current(worker)) continue;
      workers.push({ worker, state: worker.state, transcript_bytes: worker.transcript_bytes, runs_bytes: worker.runs_bytes });
    }
    const files = [...this.dirtyFiles];
    const events = files.some((path) => path.startsWith("events/")) ? this.eventsRecord() : null;
    const work: CheckpointWork = { batch, unmade: this.liveUnmade(), workers, files, dirs: [...this.dirtyDirs], events };
    this.unmade.clear();
    this.dirtyWorkers.clear();
    this.dirtyFiles.clear();
    this.dirtyDirs.clear();
    return work;
  }

  /**
   * Makes `work` durable in the layout itself — logs synced, state.json rewritten atomically with
   * the sizes it covers — then removes the journal files up to `retired`, which it supersedes.
   */
  private async run(work: CheckpointWork, retired: number): Promise<void> {
    const { paths, durable } = this.settings;
    // The journal holds these creates until now: their directories are made before it goes.
    await inParallel(work.unmade, (worker) => (this.current(worker) ? this.makeDir(worker) : Promise.resolve()));
    for (const worker of work.unmade) {
      // Synced below: the next checkpoint need not again.
      for (const path of madePaths(worker)) this.dirtyFiles.delete(path);
      this.dirtyDirs.delete(`workers/${worker.id}`);
    }
    if (durable) {
      const files = new Set(work.files);
      const dirs = new Set(work.dirs);
      for (const worker of work.unmade) {
        if (!this.current(worker)) continue;
        for (const path of madePaths(worker)) files.add(path);
        dirs.add(`workers/${worker.id}`);
        dirs.add("workers");
      }
      await inParallel([...files], (path) => syncFile(paths.fs, paths.abs(path)));
      // A worker deleted since keeps no directory to sync.
      await inParallel([...dirs], (dir) => fsyncDir(paths.fs, paths.abs(dir)).catch(ignoreMissing));
    }
    // The segments are synced: from now on their bytes up to here are acknowledged, not a torn
    // tail. Without durability nothing is synced, so there is nothing to vouch for.
    if (work.events && durable) await writeEventsCheckpoint(paths, work.events, durable);
    await inParallel(work.workers, ({ worker, state, transcript_bytes, runs_bytes }) => {
      const file = stateFile(state, { batch: work.batch, transcript_bytes, runs_bytes });
      return writeFileAtomic(paths, paths.workerFile(worker.id, "state.json"), file, durable);
    });
    const keep: number[] = [];
    for (const number of this.journals) {
      if (number > retired) keep.push(number);
      else await paths.fs.promises.unlink(paths.abs(paths.journal(number))).catch(ignoreMissing);
    }
    this.journals = keep;
  }
}

/** The files a worker's directory is made with. */
function madePaths(worker: FsWorker): string[] {
  return [`workers/${worker.id}/worker.json`, `workers/${worker.id}/state.json`];
}

async function inParallel<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(PARALLEL_SYNCS, items.length) }, async () => {
    while (next < items.length) await run(items[next++]!);
  });
  await Promise.all(lanes);
}

function ignoreMissing(error: unknown): void {
  if (errnoCode(error) !== "ENOENT") throw error;
}
