import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import { fsyncDir } from "./atomic.ts";
import type { StorePaths } from "./paths.ts";
import type { StoreFs } from "./store-fs.ts";
import { recordFile, stateFile } from "./worker.ts";
import { errnoCode } from "../../shared/errors.ts";

async function writeNew(fs: StoreFs, path: string, data: string, durable: boolean): Promise<void> {
  const handle = await fs.promises.open(path, "wx", 0o644);
  try {
    if (data.length > 0) await handle.writeFile(data);
    if (durable && data.length > 0) await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates workers/<id>/ whole or not at all: it is assembled under tmp/ (worker.json, state.json,
 * empty logs, work/), synced, and renamed into place, so a crash never leaves half a worker.
 */
export async function createWorkerDir(
  paths: StorePaths,
  record: WorkerRecord,
  state: WorkerState,
  batch: number,
  durable: boolean,
): Promise<void> {
  const id = record.worker_ref.worker_id;
  const target = paths.abs(paths.workerDir(id));
  const staging = paths.abs(paths.temporary(`create-${id}`));
  const fs = paths.fs;
  await fs.promises.mkdir(staging);
  try {
    await fs.promises.mkdir(`${staging}/work`);
    await Promise.all([
      writeNew(fs, `${staging}/worker.json`, recordFile(record), durable),
      writeNew(fs, `${staging}/state.json`, stateFile(state, { batch, transcript_bytes: 0, runs_bytes: 0 }), durable),
      writeNew(fs, `${staging}/transcript.jsonl`, "", durable),
      writeNew(fs, `${staging}/runs.jsonl`, "", durable),
    ]);
    if (durable) await fsyncDir(fs, staging);
    await fs.promises.rename(staging, target);
  } catch (error) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw error;
  }
  if (durable) await fsyncDir(fs, paths.abs("workers"));
}

/** A worker directory moved aside: `remove()` deletes it for good, `restore()` puts it back. */
export interface MovedAside {
  id: string;
  aside: string;
  remove(): Promise<void>;
  restore(): void;
}

/**
 * Moves workers/<id>/ aside (one atomic rename) under tmp/: the worker is gone from the layout the
 * moment this returns. The caller removes what was moved once the delete is durable (or puts it
 * back when the batch that deleted it failed). Returns null when there was no such directory.
 */
export function moveWorkerDirAside(paths: StorePaths, id: string): MovedAside | null {
  const target = paths.abs(paths.workerDir(id));
  const aside = paths.abs(paths.temporary(`deleted-${id}`));
  try {
    paths.fs.renameSync(target, aside);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw error;
  }
  return {
    id,
    aside,
    remove: () => paths.fs.promises.rm(aside, { recursive: true, force: true }),
    restore: () => paths.fs.renameSync(aside, target),
  };
}
