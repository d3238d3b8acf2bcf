import { isValidId } from "../../core/ids.ts";
import { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import type { WorkerState as WorkerStateType } from "../../core/schema/worker.ts";
import { firstError } from "../../core/validate.ts";
import { errnoCode } from "../../shared/errors.ts";
import { JournalIsolation, type TruncateOp } from "./journal-isolation.ts";
import { readJournal, scopeFrom, type ReplayOp, type SetAsideScope } from "./journal.ts";
import { NEWLINE, readAtSync, tryParse } from "./lines.ts";
import { openDocument } from "./sealed-line.ts";
import { numberedName, type StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { createWorkerDir, moveWorkerDirAside } from "./worker-dir.ts";
import type { Checkpoint } from "./worker.ts";

export interface ReplayResult {
  /** Highest batch number found in the journal (0: none). */
  last_batch: number;
  /** Files replay wrote to, to be synced before the journal goes. */
  written: Set<string>;
  /** Removals still running in the background. */
  removals: Promise<void>[];
  /**
   * Each worker's last journaled state, with the log sizes it covers: newer than its state.json
   * unless a checkpoint followed (the loader compares batches). Written at the next checkpoint.
   */
  states: Map<string, { state: WorkerStateType; checkpoint: Checkpoint }>;
  /**
   * Journal damage: the batches from the damaged record on were set aside, so the workers they name
   * (all workers, when the damaged record does not say whose it is) miss acknowledged writes and
   * must be unavailable (`reason`), and event ids up to `last_event_id` were handed out.
   */
  setAside: { reason: string; scope: SetAsideScope } | null;
  /**
   * Workers a damaged journal record (intact header, damaged payload) held acknowledged writes
   * for, each with the reason naming file and offset: they must be unavailable. Everything else
   * in and after that record was replayed.
   */
  isolated: Map<string, string>;
  /** Highest event id held by journal records or ops not replayed: never handed out again. */
  withheld_event_id: number;
  /**
   * Runtime-wide files shorter than a journaled append expected, with the size they had: bytes a
   * checkpoint made durable are missing there (the append went on at the end).
   */
  gaps: Map<string, number>;
}

interface Step {
  batch: number;
  op: ReplayOp | TruncateOp;
}

/**
 * Finishes what the journal holds (wal/<n>.jsonl, oldest first), so the layout's files have
 * every batch that reached the journal — which is every acknowledged one — and returns each
 * worker's last journaled state (state.json is rewritten by the next checkpoint; until then the
 * journal stays). Replay is idempotent: an append already present at its offset is skipped, so
 * files written before a crash are left as they are. For each worker only what follows its last
 * create/delete is replayed (an earlier incarnation's appends are moot), and nothing is appended
 * to a file removed later in the journal.
 *
 * Phases: read the journal files (repairing a torn end, setting a damaged file aside) → drop
 * steps that name a worker by an invalid id → index which step is the last of its kind →
 * apply the steps that still count → collect the journaled states → note what was restored.
 */
export async function replayJournal(paths: StorePaths, durable: boolean, repairs: Repairs): Promise<ReplayResult> {
  const { steps: read, last_batch, setAside, isolation } = readJournalFiles(paths, repairs);
  const result: ReplayResult = {
    last_batch,
    written: new Set(),
    removals: [],
    states: new Map(),
    setAside,
    isolated: isolation.isolated,
    withheld_event_id: isolation.withheld_event_id,
    gaps: new Map(),
  };
  if (read.length === 0) return result;
  const steps = withValidIds(read, repairs);
  const index = new ReplayIndex(steps);
  let restored = 0;
  for (let at = 0; at < steps.length; at++) {
    if (await applyStep(paths, durable, steps[at]!, at, index, repairs, result)) restored++;
  }
  result.states = journaledStates(steps, index);
  if (restored > 0) {
    repairs.add("info", "store_recovered", `finished ${restored} writes from the journal that a crash had cut short`, null, {
      writes: restored,
    });
  }
  return result;
}

// ---------------------------------------------------------------- read

/**
 * Every step of every journal file, oldest first. A record a crash cut short is cut off its
 * file (it was never acknowledged). A record whose payload is damaged under an intact header
 * isolates the workers it appended for (journal-isolation.ts) and reading goes on; a record whose
 * header is damaged (or whose damage cannot be isolated) stops the reading there.
 */
function readJournalFiles(paths: StorePaths, repairs: Repairs): { steps: Step[]; last_batch: number; setAside: ReplayResult["setAside"]; isolation: JournalIsolation } {
  const numbers = paths.fs.readdirSync(paths.abs("wal"))
    .map((name) => numberedName(name))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  const steps: Step[] = [];
  let last_batch = 0;
  let setAside: ReplayResult["setAside"] = null;
  const isolation = new JournalIsolation(paths);
  for (const [position, number] of numbers.entries()) {
    const path = paths.journal(number);
    const journal = readJournal(paths.fs, paths.abs(path), paths.unsealedAccepted);
    let stopAt = journal.corrupt_at;
    // A file the journal moved on from was complete and synced before the next one was started
    // (rotation waits for the sync in flight): a record cut short in it is damage, not a crash.
    const moved_on = position < numbers.length - 1;
    if (journal.torn_at !== null && moved_on) stopAt = journal.torn_at;
    for (const record of journal.records) {
      const ops = isolation.take(record, path);
      if (ops === null) {
        stopAt = record.offset;
        break;
      }
      for (const op of ops) steps.push({ batch: record.batch, op });
      last_batch = Math.max(last_batch, record.batch);
    }
    if (journal.torn_at !== null && stopAt === null) {
      const fd = paths.fs.openSync(paths.abs(path), "r+");
      paths.fs.ftruncateSync(fd, journal.torn_at);
      paths.fs.closeSync(fd);
      repairs.repaired(path, `the last batch was cut short by a crash and never acknowledged; cut ${journal.size - journal.torn_at} bytes`);
    }
    if (stopAt !== null) {
      const files = [path, ...numbers.slice(position + 1).map((n) => paths.journal(n))];
      const scope: SetAsideScope = { workers: new Set(), last_event_id: 0 };
      const owner = (target: string) => {
        const parsed = paths.parseTarget(target);
        return parsed?.kind === "worker" ? parsed.worker_id : null;
      };
      for (const [i, file] of files.entries()) scopeFrom(paths.fs, paths.abs(file), i === 0 ? stopAt : 0, paths.unsealedAccepted, owner, scope);
      // Cut inside its header: nobody can say whose the record was.
      if (journal.torn_at !== null && journal.torn_at === stopAt && !journalHeaderComplete(paths, paths.abs(path), stopAt)) scope.workers = null;
      const reason = `${path} is damaged at byte ${stopAt} (store_corrupt_journal); this worker's batches from there on were not replayed`;
      setAside = { reason, scope };
      keepDamagedCopies([...isolation.damagedFiles].filter(([file]) => !files.includes(file)), paths, isolation, repairs);
      setAsideFiles(files, paths, stopAt, repairs);
      return { steps, last_batch, setAside, isolation };
    }
  }
  keepDamagedCopies([...isolation.damagedFiles], paths, isolation, repairs);
  return { steps, last_batch, setAside, isolation };
}

function journalHeaderComplete(paths: StorePaths, file: string, at: number): boolean {
  return paths.fs.readFileSync(file).indexOf(NEWLINE, at) >= 0;
}

/**
 * Reports each journal file holding a damaged record whose loss was isolated, and keeps a copy
 * of it for inspection (`<file>.damaged-<ms>`; not again when an identical copy is kept): the
 * file itself is replayed and retired by a checkpoint as usual.
 */
function keepDamagedCopies(files: Array<[string, number[]]>, paths: StorePaths, isolation: JournalIsolation, repairs: Repairs): void {
  for (const [file, offsets] of files) {
    const bytes = paths.fs.readFileSync(paths.abs(file));
    const base = file.slice(file.lastIndexOf("/") + 1);
    const copies = paths.fs.readdirSync(paths.abs("wal")).filter((name) => name.startsWith(`${base}.damaged-`));
    let kept = copies.find((name) => paths.fs.readFileSync(paths.abs(`wal/${name}`)).equals(bytes));
    if (kept === undefined) {
      kept = `${base}.damaged-${Date.now()}`;
      const fd = paths.fs.openSync(paths.abs(`wal/${kept}`), "w", 0o644);
      try {
        for (let written = 0; written < bytes.length; ) written += paths.fs.writeSync(fd, bytes, written, bytes.length - written);
      } finally {
        paths.fs.closeSync(fd);
      }
    }
    const workers = [...isolation.isolated].filter(([, reason]) => reason.startsWith(`${file} `)).map(([id]) => id);
    repairs.add(
      "error",
      "store_corrupt_journal",
      `${file} is damaged at byte ${offsets.join(", ")} (a record's payload fails its check; its header is intact): only the workers it wrote for (${workers.join(", ") || "none still present"}) are unavailable, everything else was replayed (a copy is kept as wal/${kept})`,
      null,
      { file, offset: offsets[0], offsets, kept: `wal/${kept}`, workers },
    );
  }
}

/**
 * Keeps a damaged journal file and the ones after it for inspection, under names replay
 * ignores: nothing after the damage is replayed, and nothing is removed either.
 */
function setAsideFiles(files: string[], paths: StorePaths, corrupt_at: number, repairs: Repairs): void {
  const stamp = Date.now();
  const kept = files.map((file) => {
    paths.fs.renameSync(paths.abs(file), paths.abs(`${file}.unreplayed-${stamp}`));
    return `${file}.unreplayed-${stamp}`;
  });
  repairs.add(
    "error",
    "store_corrupt_journal",
    `${files[0]} is unreadable from byte ${corrupt_at}; the batches from there on were not replayed (kept as ${kept.join(", ")})`,
    null,
    { file: files[0], kept },
  );
}

// ---------------------------------------------------------------- validate

/** Anything naming a worker by an invalid id is damage, not a path to follow: dropped, and reported. */
function withValidIds(steps: Step[], repairs: Repairs): Step[] {
  return steps.filter(({ op }) => {
    if (op.op !== "create" && op.op !== "delete" && op.op !== "state") return true;
    if (isValidId(op.worker_id)) return true;
    repairs.add("error", "store_corrupt_journal", `the journal names a worker by an invalid id: ${String(op.worker_id).slice(0, 200)}`, null, {});
    return false;
  });
}

function corruptTarget(path: unknown, repairs: Repairs): void {
  repairs.add("error", "store_corrupt_journal", `the journal names a file this store never writes: ${String(path).slice(0, 200)}`, null, {});
}

/** Which step is the last of its kind: only those count (later ones supersede earlier ones). */
class ReplayIndex {
  private readonly lastStructural = new Map<string, number>();
  private readonly lastRemoval = new Map<string, number>();
  readonly lastState = new Map<string, number>();

  constructor(steps: readonly Step[]) {
    steps.forEach(({ op }, at) => {
      if (op.op === "create" || op.op === "delete") this.lastStructural.set(op.worker_id, at);
      else if (op.op === "remove") this.lastRemoval.set(op.path, at);
      else if (op.op === "state") this.lastState.set(op.worker_id, at);
    });
  }

  /** The step at `at` creates or deletes a worker and nothing later does. */
  isLastStructural(worker_id: string, at: number): boolean {
    return this.lastStructural.get(worker_id) === at;
  }

  /** The step at `at` belongs to the worker's last incarnation in the journal. */
  isCurrent(worker_id: string, at: number): boolean {
    return at >= (this.lastStructural.get(worker_id) ?? -1);
  }

  isLastRemoval(path: string, at: number): boolean {
    return this.lastRemoval.get(path) === at;
  }

  /** The file at `path` is removed later in the journal. */
  removedAfter(path: string, at: number): boolean {
    return (this.lastRemoval.get(path) ?? -1) > at;
  }
}

// ---------------------------------------------------------------- apply

/** Applies one step if it still counts; true when it had to write something a crash had lost. */
async function applyStep(
  paths: StorePaths,
  durable: boolean,
  { batch, op }: Step,
  at: number,
  index: ReplayIndex,
  repairs: Repairs,
  result: ReplayResult,
): Promise<boolean> {
  switch (op.op) {
    case "create": {
      if (!index.isLastStructural(op.worker_id, at) || !validCreate(op)) return false;
      if (matchesRecord(paths, op.worker_id, op.record)) return false;
      moveAside(paths, op.worker_id, result);
      await createWorkerDir(paths, op.record, op.state, batch, durable);
      return true;
    }
    case "delete":
      if (index.isLastStructural(op.worker_id, at)) moveAside(paths, op.worker_id, result);
      return false;
    case "remove": {
      const target = paths.parseTarget(op.path);
      if (!target) corruptTarget(op.path, repairs);
      else if (index.isLastRemoval(op.path, at) && target.kind !== "worker") removeFile(paths, paths.abs(op.path));
      return false;
    }
    case "append": {
      const target = paths.parseTarget(op.path);
      if (!target || !Number.isSafeInteger(op.offset) || op.offset < 0) {
        corruptTarget(op.path, repairs);
        return false;
      }
      const worker_id = target.kind === "worker" ? target.worker_id : null;
      if (worker_id !== null && !index.isCurrent(worker_id, at)) return false;
      if (index.removedAfter(op.path, at)) return false;
      if (worker_id !== null && !paths.fs.existsSync(paths.abs(paths.workerDir(worker_id)))) return false;
      result.written.add(op.path);
      const gap = (size: number) => {
        if (worker_id === null && !result.gaps.has(op.path)) result.gaps.set(op.path, size);
      };
      return applyAppend(paths, op.path, op.offset, op.data, repairs, worker_id, gap);
    }
    case "state":
      return false;
    case "truncate": {
      // A damaged record's bytes that never reached this runtime-wide file: later appends follow without them.
      if (index.removedAfter(op.path, at) || !paths.fs.existsSync(paths.abs(op.path))) return false;
      const fd = paths.fs.openSync(paths.abs(op.path), "r+");
      try {
        if (paths.fs.fstatSync(fd).size > op.offset) paths.fs.ftruncateSync(fd, op.offset);
      } finally {
        paths.fs.closeSync(fd);
      }
      result.written.add(op.path);
      return false;
    }
  }
}

function moveAside(paths: StorePaths, worker_id: string, result: ReplayResult): void {
  const aside = moveWorkerDirAside(paths, worker_id);
  if (aside) result.removals.push(aside.remove());
}

function removeFile(paths: StorePaths, file: string): void {
  try {
    paths.fs.unlinkSync(file);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  }
}

function validCreate(op: Extract<ReplayOp, { op: "create" }>): boolean {
  return firstError(WorkerRecord, op.record) === null && firstError(WorkerState, op.state) === null && op.record.worker_ref.worker_id === op.worker_id;
}

function matchesRecord(paths: StorePaths, worker_id: string, record: WorkerRecord): boolean {
  try {
    const onDisk = openDocument(paths.fs.readFileSync(paths.abs(paths.workerFile(worker_id, "worker.json")), "utf8"), paths.unsealedAccepted);
    return onDisk !== undefined && JSON.stringify(onDisk) === JSON.stringify(record);
  } catch {
    return false;
  }
}

/**
 * Makes `path` hold `data` at `offset`. Returns true when something had to be written: the bytes
 * were missing (lost with the crash) or differed (a torn tail, reported as store_repaired).
 */
function applyAppend(
  paths: StorePaths,
  path: string,
  offset: number,
  bytes: Buffer,
  repairs: Repairs,
  worker_id: string | null,
  gap: (size: number) => void,
): boolean {
  const file = paths.abs(path);
  paths.fs.closeSync(paths.fs.openSync(file, "a", 0o644));
  const fd = paths.fs.openSync(file, "r+");
  try {
    const size = paths.fs.fstatSync(fd).size;
    let at = offset;
    let from = 0;
    if (size < offset) {
      repairs.repaired(path, `was shorter (${size} bytes) than a journaled write expects (${offset}); it is appended at the end`, worker_id);
      gap(size);
      at = size;
    } else {
      const present = readAtSync(paths.fs, fd, offset, Math.min(bytes.length, size - offset));
      if (present.equals(bytes.subarray(0, present.length))) {
        if (present.length === bytes.length) return false;
        at = offset + present.length;
        from = present.length;
      } else {
        paths.fs.ftruncateSync(fd, offset);
        repairs.repaired(path, `bytes at ${offset} did not match the journal (a torn write); rewrote them from the journal`, worker_id);
      }
    }
    for (let written = from; written < bytes.length; ) written += paths.fs.writeSync(fd, bytes, written, bytes.length - written, at + written - from);
    return true;
  } finally {
    paths.fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- states

/** Each worker's last journaled state that is valid and belongs to its current incarnation. */
function journaledStates(steps: readonly Step[], index: ReplayIndex): ReplayResult["states"] {
  const states: ReplayResult["states"] = new Map();
  for (const [worker_id, at] of index.lastState) {
    const { batch, op } = steps[at]!;
    if (op.op !== "state" || !index.isCurrent(worker_id, at) || firstError(WorkerState, op.state) !== null) continue;
    if (!Number.isSafeInteger(op.transcript_bytes) || !Number.isSafeInteger(op.runs_bytes)) continue;
    states.set(worker_id, { state: op.state, checkpoint: { batch, transcript_bytes: op.transcript_bytes, runs_bytes: op.runs_bytes } });
  }
  return states;
}
