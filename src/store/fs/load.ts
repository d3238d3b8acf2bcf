import { isValidId } from "../../core/ids.ts";
import type { StoreOpenOptions, StoredWorker, StoreSnapshot } from "../../core/ports/store.ts";
import { AppendFiles } from "./append-files.ts";
import { fsyncDir } from "./atomic.ts";
import { DiagnosticLog } from "./diagnostic-log.ts";
import { EventLog } from "./event-log.ts";
import { IdempotencyLog } from "./idempotency-log.ts";
import { numberedName, type StorePaths } from "./paths.ts";
import { replayJournal, type ReplayResult } from "./replay.ts";
import { Repairs } from "./repairs.ts";
import { openRuntimeRecord } from "./runtime-record.ts";
import type { StoreSettings } from "./session.ts";
import { loadWorker, readWorkerTexts } from "./worker-loader.ts";
import { newWorker, type FsWorker } from "./worker.ts";
import { writeUnavailableMarker } from "./unavailable-marker.ts";

/** Everything opening read from the layout: what one open of the store starts from. */
export interface Loaded {
  snapshot: StoreSnapshot;
  workers: Map<string, FsWorker>;
  files: AppendFiles;
  events: EventLog;
  diagnostics: DiagnosticLog;
  idempotency: IdempotencyLog;
  /** Highest batch number seen (journal or state.json); the next batch follows it. */
  batch: number;
  /** Workers whose state.json is behind what was loaded: the first checkpoint rewrites them. */
  dirtyWorkers: FsWorker[];
  /** Files replay wrote to: the first checkpoint syncs them before the journal goes. */
  written: Set<string>;
  /** Journal files left by the last run (wal/<n>.jsonl): kept until a checkpoint supersedes them. */
  leftoverJournals: number[];
}

/**
 * Opens the layout under a held LOCK: prepares the directories, reads runtime.json, replays the
 * journal, loads the event log, the diagnostics and every worker. Repairs made on the way become
 * the snapshot's diagnostics.
 */
export async function loadStore(settings: StoreSettings, options: StoreOpenOptions, taken_over: { pid: number | null } | null): Promise<Loaded> {
  const { paths, durable } = settings;
  await prepareLayout(paths, durable);
  const runtime = await openRuntimeRecord(paths, durable, options);
  // A format-1 store keeps its unsealed records readable; everything written from now on is sealed.
  paths.unsealedAccepted = runtime.format_version === 1;
  const repairs = new Repairs(runtime.id);
  if (taken_over !== null) noteTakeover(repairs, taken_over.pid);
  const replay = await replayJournal(paths, durable, repairs);
  await Promise.all(replay.removals);

  const maxRetained = options.max_retained_events;
  const perSegment = settings.perSegment ?? Math.min(10_000, Math.max(1, Math.ceil(maxRetained / 10)));
  const files = new AppendFiles(paths);
  const events = new EventLog(paths, perSegment, maxRetained, (path, size) => files.beforeRead(path, size));
  const lastStoredEvent = events.load(repairs, replay.gaps);
  const diagnostics = new DiagnosticLog(paths);
  diagnostics.load(repairs);
  const idempotency = new IdempotencyLog(paths, (options.idempotency_retention_s ?? 86_400) * 1000, options.now ?? Date.now);
  const keys = idempotency.load(repairs);
  const loaded = await loadWorkers(paths, runtime.id, repairs, replay);
  // Journal damage is seen only while its file is in wal/: the workers it made unavailable stay so.
  await Promise.all(loaded.marks.map(([id, reason]) => writeUnavailableMarker(paths, id, reason, durable)));

  return {
    snapshot: {
      runtime,
      workers: loaded.stored,
      last_event_id: Math.max(lastStoredEvent, loaded.last_event_id, replay.setAside?.scope.last_event_id ?? 0, replay.withheld_event_id),
      diagnostics: repairs.diagnostics,
      idempotency: keys,
    },
    workers: loaded.workers,
    files,
    events,
    diagnostics,
    idempotency,
    batch: Math.max(replay.last_batch, loaded.batch),
    dirtyWorkers: loaded.dirty,
    written: replay.written,
    leftoverJournals: paths.fs.readdirSync(paths.abs("wal"))
      .map((name) => numberedName(name))
      .filter((n): n is number => n !== null),
  };
}

async function prepareLayout(paths: StorePaths, durable: boolean): Promise<void> {
  for (const dir of ["workers", "events", "diagnostics", "idempotency", "wal", "tmp"]) await paths.fs.promises.mkdir(paths.abs(dir), { recursive: true });
  if (durable) await fsyncDir(paths.fs, paths.root);
  // tmp/ holds writes a crash interrupted before their rename, and deleted workers being removed.
  for (const name of await paths.fs.promises.readdir(paths.abs("tmp"))) await paths.fs.promises.rm(paths.abs(`tmp/${name}`), { recursive: true, force: true });
}

function noteTakeover(repairs: Repairs, stale_pid: number | null): void {
  const owner = stale_pid === null ? "LOCK held no pid" : `LOCK named process ${stale_pid}, which no longer runs`;
  repairs.add(
    "warning",
    "store_lock_taken_over",
    `${owner} (the last owner did not shut down cleanly); this process took the store over`,
    null,
    { file: "LOCK", stale_pid },
  );
}

/** Every entry of workers/, in id order; anything that is not a worker is reported and left alone. */
async function loadWorkers(paths: StorePaths, runtime_id: string, repairs: Repairs, replay: ReplayResult) {
  const workers = new Map<string, FsWorker>();
  const stored: StoredWorker[] = [];
  const dirty: FsWorker[] = [];
  const marks: Array<[string, string]> = [];
  let batch = 0;
  let last_event_id = 0;
  // Sorted by name with the default (code unit) order: a comparator reading each Dirent's name
  // costs more than the rest of the listing at 10,000 workers.
  const byName = new Map<string, boolean>();
  for (const entry of paths.fs.readdirSync(paths.abs("workers"), { withFileTypes: true })) byName.set(entry.name, entry.isDirectory());
  const entries = [...byName.keys()].sort().map((name) => ({ name, isDirectory: byName.get(name)! }));
  const texts = readWorkerTexts(
    paths,
    entries.filter((entry) => entry.isDirectory && isValidId(entry.name)).map((entry) => entry.name),
  );
  for (const entry of entries) {
    if (!isValidId(entry.name)) {
      repairs.add("warning", "store_unexpected_entry", `workers/${entry.name} is not a worker directory; it is left as it is`, null, {
        file: `workers/${entry.name}`,
      });
      continue;
    }
    // A name that is a worker id but not a directory (a symlink, a file) still claims that id.
    const loaded = entry.isDirectory
      ? loadWorker(paths, runtime_id, entry.name, repairs, replay.states.get(entry.name), texts.get(entry.name))
      : notADirectory(entry.name);
    const worker = loaded.worker;
    const aside = replay.setAside;
    // Acknowledged writes of this worker were lost with a damaged journal record, or set aside with
    // it: serving what is left would serve a past state as the present one.
    const lost =
      replay.isolated.get(worker.id) ??
      (aside && (aside.scope.workers === null || aside.scope.workers.has(worker.id)) ? aside.reason : undefined);
    if (lost !== undefined && entry.isDirectory) {
      worker.unavailable ??= lost;
      if (!paths.fs.existsSync(paths.abs(paths.workerFile(worker.id, "unavailable.json")))) marks.push([worker.id, lost]);
    }
    workers.set(worker.id, worker);
    batch = Math.max(batch, loaded.batch);
    last_event_id = Math.max(last_event_id, loaded.last_event_id);
    if (loaded.dirty) dirty.push(worker);
    stored.push(
      worker.unavailable === null
        ? { worker_id: worker.id, record: worker.record!, state: worker.state! }
        : { worker_id: worker.id, record: worker.record, state: worker.state, unavailable: worker.unavailable },
    );
  }
  return { workers, stored, dirty, marks, batch, last_event_id };
}

function notADirectory(id: string): { worker: FsWorker; batch: number; dirty: boolean; last_event_id: number } {
  const worker = newWorker(id, null, null);
  worker.on_disk = true;
  worker.unavailable = `workers/${id} is not a directory (a symlink or a file); it is left as it is`;
  return { worker, batch: 0, dirty: false, last_event_id: 0 };
}
