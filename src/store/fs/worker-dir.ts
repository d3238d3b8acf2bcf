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
 * Creates workers/<id>/ whole or not at all: worker.json and state.json (and the empty logs, when
 * appends follow) are assembled under tmp/ and renamed into place, so a crash never leaves half a
 * worker. Otherwise the logs are made by their first append and work/ on first use: a create
 * costs the fewest file creations (issue 16).
 * With `durable` everything is synced before this returns (replay); otherwise whoever wrote the
 * create to the journal syncs the files and directories before the journal goes (checkpoint).
 */
export async function createWorkerDir(
  paths: StorePaths,
  record: WorkerRecord,
  state: WorkerState,
  batch: number,
  durable: boolean,
  /** Also the (empty) logs: the directory is made for appends that follow at once. */
  logs = false,
): Promise<void> {
  const id = record.worker_ref.worker_id;
  const target = paths.abs(paths.workerDir(id));
  const staging = paths.abs(paths.temporary(`create-${id}`));
  const fs = paths.fs;
  await fs.promises.mkdir(staging);
  try {
    await Promise.all([
      writeNew(fs, `${staging}/worker.json`, recordFile(record), durable),
      writeNew(fs, `${staging}/state.json`, stateFile(state, { batch, transcript_bytes: 0, runs_bytes: 0 }), durable),
      ...(logs ? ["transcript.jsonl", "runs.jsonl"].map((log) => writeNew(fs, `${staging}/${log}`, "", durable)) : []),
    ]);
    if (durable) await fsyncDir(fs, staging);
    await renameIntoPlace(fs, staging, target);
  } catch (error) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw error;
  }
  if (durable) await fsyncDir(fs, paths.abs("workers"));
}

/** createWorkerDir without waiting and without syncs (the journal holds the create; a checkpoint syncs it). */
export function createWorkerDirSync(paths: StorePaths, record: WorkerRecord, state: WorkerState, batch: number): void {
  const id = record.worker_ref.worker_id;
  const staging = paths.abs(paths.temporary(`create-${id}`));
  const fs = paths.fs;
  fs.mkdirSync(staging);
  try {
    fs.writeFileSync(`${staging}/worker.json`, recordFile(record), { flag: "wx", mode: 0o644 });
    fs.writeFileSync(`${staging}/state.json`, stateFile(state, { batch, transcript_bytes: 0, runs_bytes: 0 }), { flag: "wx", mode: 0o644 });
    fs.renameSync(staging, paths.abs(paths.workerDir(id)));
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The staged directory becomes the worker's. When the worker's work/ was made meanwhile (a command
 * run asked for it while this was under way) the files move in one by one instead, worker.json
 * last: until it is there the journal's create still counts as not applied.
 */
async function renameIntoPlace(fs: StoreFs, staging: string, target: string): Promise<void> {
  const { rename, rm } = fs.promises;
  try {
    await rename(staging, target);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    for (const log of ["transcript.jsonl", "runs.jsonl"]) await rename(`${staging}/${log}`, `${target}/${log}`).catch(() => {});
    await rename(`${staging}/state.json`, `${target}/state.json`);
    await rename(`${staging}/worker.json`, `${target}/worker.json`);
    await rm(staging, { recursive: true, force: true });
  }
}

/** A worker directory moved aside: `remove()` deletes it for good, `restore()` puts it back. */
export interface MovedAside {
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
    remove: () => paths.fs.promises.rm(aside, { recursive: true, force: true }),
    restore: () => paths.fs.renameSync(aside, target),
  };
}
