import type { Run } from "../../core/schema/run.ts";
import type { WorkerState } from "../../core/schema/worker.ts";
import { errnoCode } from "../../shared/errors.ts";
import type { AppendFiles } from "./append-files.ts";
import type { StorePaths } from "./paths.ts";
import type { MovedAside } from "./worker-dir.ts";
import type { FsWorker } from "./worker.ts";

/** A worker as it was before a batch touched it. */
interface SavedWorker {
  worker: FsWorker;
  state: WorkerState | null;
  last_run: Run | null;
  transcript_bytes: number;
  transcript_count: number;
  runs_bytes: number;
}

/**
 * How to take back one batch that was applied but never became durable (its journal write or sync
 * failed): a failed batch is not applied, in memory or on disk (docs/store.md, "Disk full and I/O
 * errors"). Recorded while the batch is planned, before anything changes; dropped once it is durable.
 */
export class BatchUndo {
  private readonly saved = new Map<FsWorker, SavedWorker>();
  /** Worker ids the batch creates or deletes, with the store's worker for each before it (undefined: none). */
  private readonly ids = new Map<string, FsWorker | undefined>();
  /** Worker directories the batch created (made whole under tmp/, renamed into place). */
  readonly createdDirs: string[] = [];
  /** Worker directories the batch moved aside; removed for good only once the batch is durable. */
  readonly movedAside: MovedAside[] = [];
  /** Files the batch appended to: their size before it and after it. */
  readonly appended = new Map<string, { from: number; to: number }>();
  /** Files the batch removes; removed only once it is durable. */
  readonly removed: string[] = [];
  /** Appends that waited for files the batch deleted (written behind), to wait again if it is taken back. */
  readonly discarded: Array<[string, Buffer]> = [];

  /** Notes which worker `id` names now, before the batch creates or deletes it. */
  noteId(id: string, current: FsWorker | undefined): void {
    if (!this.ids.has(id)) this.ids.set(id, current);
  }

  /** Notes `worker` as it is now, the first time the batch is about to change it. */
  save(worker: FsWorker): void {
    if (this.saved.has(worker)) return;
    const { state, last_run, transcript_bytes, transcript_count, runs_bytes } = worker;
    this.saved.set(worker, { worker, state, last_run, transcript_bytes, transcript_count, runs_bytes });
  }

  /** Puts the in-memory bookkeeping back as it was before the batch; its appends still waiting to be written are dropped. */
  undoInMemory(workers: Map<string, FsWorker>, files: AppendFiles): Iterable<FsWorker> {
    for (const [path, { from, to }] of this.appended) files.dropTail(path, to - from);
    for (const [path, data] of this.discarded.reverse()) files.putBack(path, data);
    this.discarded.length = 0;
    for (const saved of this.saved.values()) {
      const { worker } = saved;
      worker.state = saved.state;
      worker.last_run = saved.last_run;
      worker.transcript_bytes = saved.transcript_bytes;
      worker.transcript_count = saved.transcript_count;
      worker.runs_bytes = saved.runs_bytes;
      worker.anchors = worker.anchors.filter((anchor) => anchor.sequence < worker.transcript_count && anchor.offset < worker.transcript_bytes);
    }
    for (const [id, before] of this.ids) {
      if (before) workers.set(id, before);
      else workers.delete(id);
    }
    return this.saved.keys();
  }

  /**
   * Takes the batch back on disk: created directories go, directories moved aside come back, and
   * appended files are cut back to their size before it (only ever shortened: bytes that were
   * still waiting to be written are not in the file at all).
   */
  undoOnDisk(paths: StorePaths): void {
    this.undoStructure(paths);
    for (const [path, { from }] of this.appended) cutFile(paths, path, from);
  }

  /** Worker directories as before the batch: the ones it created moved out, the ones it moved aside put back. */
  undoStructure(paths: StorePaths): void {
    // Each step is dropped once done, so a second try after a failure does not repeat it.
    // What is moved under tmp/ is removed by the reopen that follows (load.ts clears tmp/).
    while (this.createdDirs.length > 0) {
      moveAsideIfPresent(paths, this.createdDirs[this.createdDirs.length - 1]!);
      this.createdDirs.pop();
    }
    while (this.movedAside.length > 0) {
      this.movedAside[this.movedAside.length - 1]!.restore();
      this.movedAside.pop();
    }
  }
}

function moveAsideIfPresent(paths: StorePaths, dir: string): void {
  const aside = paths.abs(paths.temporary("undone"));
  try {
    paths.fs.renameSync(paths.abs(dir), aside);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
}

/** Shortens `path` to `size` if it is longer (a missing file is fine). */
function cutFile(paths: StorePaths, path: string, size: number): void {
  let fd: number;
  try {
    fd = paths.fs.openSync(paths.abs(path), "r+");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  try {
    if (paths.fs.fstatSync(fd).size > size) paths.fs.ftruncateSync(fd, size);
  } finally {
    paths.fs.closeSync(fd);
  }
}
