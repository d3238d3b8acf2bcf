import { Run } from "../../core/schema/run.ts";
import { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import type { Run as RunType } from "../../core/schema/run.ts";
import type { WorkerState as WorkerStateType } from "../../core/schema/worker.ts";
import { firstError } from "../../core/validate.ts";
import { completeLines, lineStartBeforeSync, NEWLINE, readAtSync, tryParse } from "./lines.ts";
import type { StorePaths, WorkerFile } from "./paths.ts";
import type { StoreFs } from "./store-fs.ts";
import type { Repairs } from "./repairs.ts";
import { addAnchor, Checkpoint, newWorker, stateOf, type FsWorker } from "./worker.ts";
import { errnoCode } from "../../shared/errors.ts";
import { openDocument, parseSealed } from "./sealed-line.ts";
import { readUnavailableMarker } from "./unavailable-marker.ts";

type Json = { value: unknown; problem?: undefined } | { value?: undefined; problem: string };

/** A worker's files as read ahead of loading it: the text, or the error reading it met. */
export interface WorkerTexts {
  record: string | Error;
  state: string | Error;
  /** unavailable.json; null when there is none (the usual case). */
  marker: string | Error | null;
  /** Sizes of the logs (undefined: missing; null: not a plain file or not known — read it then). */
  transcript_size: number | null | undefined;
  runs_size: number | null | undefined;
}

/**
 * Reads worker.json and state.json of every id, its unavailable.json when there is one, and the
 * sizes of its logs (a stat each: a log that ends at its checkpoint is never opened). Synchronous
 * on purpose: asynchronous reads in parallel lanes were tried (issue 16) and cost more CPU (a
 * promise, an I/O-thread hop and, for the usual missing marker, an Error per file) than the
 * overlap saved on a 2-CPU host.
 */
export function readWorkerTexts(paths: StorePaths, ids: readonly string[]): Map<string, WorkerTexts> {
  const texts = new Map<string, WorkerTexts>();
  const read = (path: string): string | Error => {
    try {
      return paths.fs.readFileSync(path, "utf8") as string;
    } catch (error) {
      return error as Error;
    }
  };
  for (const id of ids) {
    // One path join per worker, not one per file: 10,000s of workers make it count.
    const dir = paths.abs(paths.workerDir(id));
    const markerPath = `${dir}/unavailable.json`;
    texts.set(id, {
      record: read(`${dir}/worker.json`),
      state: read(`${dir}/state.json`),
      marker: paths.fs.existsSync(markerPath) ? read(markerPath) : null,
      transcript_size: fileSize(paths.fs, `${dir}/transcript.jsonl`),
      runs_size: fileSize(paths.fs, `${dir}/runs.jsonl`),
    });
  }
  return texts;
}

/** `relative`: the file's root-relative path, made absolute only when it was not read ahead. */
function readJson(paths: StorePaths, relative: string, prefetched?: string | Error): Json {
  const unsealed = paths.unsealedAccepted;
  let text: string;
  try {
    if (prefetched instanceof Error) throw prefetched;
    text = prefetched ?? paths.fs.readFileSync(paths.abs(relative), "utf8");
  } catch (error) {
    const code = errnoCode(error);
    return { problem: code === "ENOENT" ? "is missing" : `cannot be read (${code})` };
  }
  const value = openDocument(text, unsealed);
  if (value !== undefined) return { value };
  return { problem: tryParse(text) === undefined ? "is not valid JSON" : "does not match its checksum (it was altered)" };
}

export interface LoadedWorker {
  worker: FsWorker;
  /** Batch of the state.json it was loaded from (0 when unknown). */
  batch: number;
  /** The state differs from state.json (the logs went further, or were repaired): checkpoint it. */
  dirty: boolean;
  /** Highest event id the worker's files mention. */
  last_event_id: number;
}

/** Line of a log as read at open: where it starts and what it parsed to (undefined: not valid). */
interface Line {
  start: number;
  value: unknown;
}

/** The lines a log reconciled to (past the checkpoint, or the whole-file truth) and its final size. */
interface LogLines {
  size: number;
  lines: Line[];
  problem?: undefined;
}

/** What reconciling one log found; `problem` makes the worker unavailable. */
type LogResult = LogLines | { problem: string };

/**
 * Reads a worker's metadata (worker.json, state.json) and reconciles its counters with what its
 * logs hold past state.json's checkpoint: after a crash the logs can be ahead of state.json
 * (whose writes are deferred to checkpoints), and the snapshot must tell the truth. A torn last
 * line is cut (store_repaired); anything else wrong makes only this worker unavailable.
 */
export function loadWorker(
  paths: StorePaths,
  runtime_id: string,
  id: string,
  repairs: Repairs,
  journaled?: { state: WorkerStateType; checkpoint: Checkpoint },
  texts?: WorkerTexts,
): LoadedWorker {
  const worker = newWorker(id, null, null);
  worker.on_disk = true;
  const result: LoadedWorker = { worker, batch: 0, dirty: false, last_event_id: 0 };
  const unavailable = (file: WorkerFile, problem: string): LoadedWorker => {
    worker.unavailable = `${paths.workerFile(id, file)} ${problem}`;
    return result;
  };

  const record = readRecord(paths, runtime_id, id, texts?.record);
  if ("problem" in record) return unavailable("worker.json", record.problem);
  worker.record = record.record;

  const chosen = chooseState(readJson(paths, paths.workerFile(id, "state.json"), texts?.state), journaled);
  if ("problem" in chosen) return unavailable("state.json", chosen.problem);
  if (chosen.replaces) {
    repairs.repaired(paths.workerFile(id, "state.json"), `${chosen.replaces}; the journal's newer state is used and written back`, id);
  }
  const { state: stored, checkpoint } = chosen;
  result.batch = checkpoint?.batch ?? 0;
  // Known even if a log turns out unreadable: ids up to here were handed out.
  result.last_event_id = stored.last_event_id;
  result.dirty = chosen.from_journal;
  // Damage an earlier open found and the files no longer show (a retired journal record) still counts.
  const marked = readUnavailableMarker(paths, id, texts?.marker);
  if (marked !== null) {
    worker.unavailable = marked;
    return result;
  }

  const transcriptFile = paths.workerFile(id, "transcript.jsonl");
  const transcript = reconcileLog(paths, transcriptFile, checkpoint?.transcript_bytes ?? null, stored.transcript_items, repairs, id, (value, index) => {
    // Past the checkpoint, entries must continue the sequence (index -1: a last line read on its own).
    if (!isEntry(value)) return false;
    return index < 0 || !checkpoint || value.sequence === stored.transcript_items + index;
  }, texts && { size: texts.transcript_size });
  if (transcript.problem !== undefined) return unavailable("transcript.jsonl", transcript.problem);
  const runsFile = paths.workerFile(id, "runs.jsonl");
  const runs = reconcileLog(paths, runsFile, checkpoint?.runs_bytes ?? null, stored.run_count, repairs, id, (value) => isRun(value, id), texts && { size: texts.runs_size });
  if (runs.problem !== undefined) return unavailable("runs.jsonl", runs.problem);

  const state: WorkerStateType = { ...stored };
  const lastEntry = countTranscript(state, stored, checkpoint, transcript);
  if (lastEntry) addAnchor(worker, state.transcript_items - 1, lastEntry.start);
  countRuns(state, stored, checkpoint, runs);

  worker.state = state;
  worker.transcript_bytes = transcript.size;
  worker.transcript_count = state.transcript_items;
  worker.runs_bytes = runs.size;
  result.last_event_id = state.last_event_id;
  result.dirty ||=
    checkpoint === null ||
    transcript.size !== checkpoint.transcript_bytes ||
    runs.size !== checkpoint.runs_bytes ||
    JSON.stringify(state) !== JSON.stringify(stored);
  return result;
}

/** worker.json, checked: a worker record of this id, of this runtime. */
function readRecord(paths: StorePaths, runtime_id: string, id: string, prefetched?: string | Error): { record: WorkerRecord } | { problem: string } {
  const file = readJson(paths, paths.workerFile(id, "worker.json"), prefetched);
  if (file.problem !== undefined) return { problem: file.problem };
  const problem = firstError(WorkerRecord, file.value);
  if (problem) return { problem: `does not hold a worker record (${problem})` };
  const record = file.value as WorkerRecord;
  if (record.worker_ref.worker_id !== id) return { problem: `names worker ${record.worker_ref.worker_id}, not ${id}` };
  if (record.worker_ref.runtime_id !== runtime_id) return { problem: `belongs to runtime ${record.worker_ref.runtime_id}, not ${runtime_id}` };
  return { record };
}

/**
 * Transcript counters from what the log holds: entries past the checkpoint continue the count;
 * without one the last entry gives it. Returns the last entry read, whose line start is known.
 */
function countTranscript(state: WorkerStateType, stored: WorkerStateType, checkpoint: Checkpoint | null, transcript: LogLines): Line | undefined {
  const lastEntry = transcript.lines[transcript.lines.length - 1];
  if (checkpoint !== null && transcript.size >= checkpoint.transcript_bytes) {
    state.transcript_items = stored.transcript_items + transcript.lines.length;
  } else {
    state.transcript_items = lastEntry ? (lastEntry.value as { sequence: number }).sequence + 1 : 0;
  }
  for (const line of transcript.lines) {
    const entry = line.value as { event_id: number; created_at: string };
    state.last_event_id = Math.max(state.last_event_id, entry.event_id);
    if (entry.created_at > state.updated_at) state.updated_at = entry.created_at;
  }
  return lastEntry;
}

/**
 * Run counters and status from what the log holds: a run's first record is `running`; the last
 * record says whether one is still active.
 */
function countRuns(state: WorkerStateType, stored: WorkerStateType, checkpoint: Checkpoint | null, runs: LogLines): void {
  const runLines = runs.lines.map((line) => line.value as RunType);
  if (checkpoint !== null && runs.size >= checkpoint.runs_bytes) {
    state.run_count = stored.run_count + runLines.filter((run) => run.status === "running").length;
  } else {
    state.run_count = new Set(runLines.map((run) => run.run_id)).size;
  }
  const lastRun = runLines[runLines.length - 1];
  if (!lastRun) return;
  const stopped = stored.status === "stopped";
  if (lastRun.status === "running") {
    state.active_run_id = lastRun.run_id;
    state.status = stopped ? "stopped" : "running";
  } else {
    state.active_run_id = null;
    state.status = stopped ? "stopped" : "idle";
  }
  const at = lastRun.finished_at ?? lastRun.started_at;
  if (at > state.updated_at) state.updated_at = at;
}

/**
 * The state to start from: state.json, unless the journal holds a newer one (or state.json is
 * unreadable and the journal has one), which then wins.
 */
function chooseState(
  file: Json,
  journaled: { state: WorkerStateType; checkpoint: Checkpoint } | undefined,
): { state: WorkerStateType; checkpoint: Checkpoint | null; from_journal: boolean; replaces?: string } | { problem: string } {
  let problem: string | null = file.problem ?? null;
  if (problem === null) {
    const schemaProblem = firstError(WorkerState, file.value);
    if (schemaProblem) problem = `does not hold a worker state (${schemaProblem})`;
    else if ((file.value as WorkerStateType).status === "unavailable") problem = "records the status unavailable, which is never stored";
  }
  const raw = problem === null ? (file.value as Record<string, unknown>) : null;
  const checkpoint = raw && firstError(Checkpoint, raw.checkpoint) === null ? (raw.checkpoint as Checkpoint) : null;
  if (journaled && (raw === null || journaled.checkpoint.batch >= (checkpoint?.batch ?? -1))) {
    const replaces = problem ?? undefined;
    return { state: { ...journaled.state }, checkpoint: journaled.checkpoint, from_journal: true, replaces };
  }
  if (raw === null) return { problem: problem! };
  return { state: stateOf(raw), checkpoint, from_journal: false };
}

function isEntry(value: unknown): value is { sequence: number; event_id: number; created_at: string } {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(entry.sequence) &&
    Number.isSafeInteger(entry.event_id) &&
    typeof entry.created_at === "string" &&
    typeof entry.content === "string"
  );
}

function isRun(value: unknown, worker_id: string): value is RunType {
  return firstError(Run, value) === null && (value as RunType).worker_ref.worker_id === worker_id;
}

/**
 * Brings one log in line with state.json: with a checkpoint, only the bytes past it are read
 * (nothing, after a clean shutdown); without one, or when the file is shorter than the
 * checkpoint says, the file is the truth — its last line for the transcript, every line for runs.
 * Returns the lines read (past the checkpoint, or the whole-file truth) and the final size.
 */
function reconcileLog(
  paths: StorePaths,
  file: string,
  checkpointBytes: number | null,
  storedCount: number,
  repairs: Repairs,
  worker_id: string,
  valid: (value: unknown, index: number) => boolean,
  /** The file's size as read ahead (size undefined: missing; null: unknown), if it was. */
  known?: { size: number | null | undefined },
): LogResult {
  // After a clean shutdown the log ends exactly at the checkpoint: one stat says so, and the
  // file is not opened at all (start-up touches 10,000s of workers).
  const size = known && known.size !== null ? known.size : fileSize(paths.fs, paths.abs(file));
  if (size === undefined) {
    if (storedCount === 0 && !checkpointBytes) return { size: 0, lines: [] };
    return { problem: `is missing, but state.json counts ${storedCount} records in it` };
  }
  if (checkpointBytes !== null && size === checkpointBytes) return { size, lines: [] };
  let fd: number;
  try {
    fd = paths.fs.openSync(paths.abs(file), "r+");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
    if (storedCount === 0 && !checkpointBytes) return { size: 0, lines: [] };
    return { problem: `is missing, but state.json counts ${storedCount} records in it` };
  }
  try {
    const size = paths.fs.fstatSync(fd).size;
    const cut = (at: number, why: string) => {
      paths.fs.ftruncateSync(fd, at);
      repairs.repaired(file, `${why}; cut ${size - at} bytes at byte ${at}`, worker_id, { offset: at, removed_bytes: size - at });
    };
    const log: OpenLog = { fs: paths.fs, fd, file, size, valid, cut, unsealed: paths.unsealedAccepted };
    if (checkpointBytes !== null && size >= checkpointBytes) return readPastCheckpoint(log, checkpointBytes);
    // Acknowledged records are missing: the counters must not follow the file down, or sequence
    // numbers and run ids would be handed out again. Only bytes past the checkpoint are a torn tail.
    if (checkpointBytes !== null) return { problem: `is shorter than its acknowledged records: it ends at byte ${size}, they reach byte ${checkpointBytes}` };
    return readAsTruth(log, repairLastLine(log));
  } finally {
    paths.fs.closeSync(fd);
  }
}

/** Size of a plain file; undefined when missing, null when it is something else (opened and judged then). */
function fileSize(fs: StoreFs, path: string): number | null | undefined {
  const found = fs.statSync(path, { throwIfNoEntry: false });
  if (found === undefined) return undefined;
  return found.isFile() ? found.size : null;
}

/** A log opened for reconciling: `cut` truncates it at a byte and reports the repair. */
interface OpenLog {
  fs: StoreFs;
  fd: number;
  file: string;
  size: number;
  valid: (value: unknown, index: number) => boolean;
  cut: (at: number, why: string) => void;
  /** Format-1 store: unsealed records are accepted. */
  unsealed: boolean;
}

/** The lines past the checkpoint, each checked; a torn last line is cut, anything else invalid is a problem. */
function readPastCheckpoint({ fs, fd, size, valid, cut, unsealed }: OpenLog, checkpointBytes: number): LogResult {
  if (size === checkpointBytes) return { size, lines: [] };
  const tail = readAtSync(fs, fd, checkpointBytes, size - checkpointBytes);
  const { lines, rest } = completeLines(tail);
  const out: Line[] = [];
  for (let i = 0; i < lines.length; i++) {
    const [start, end] = lines[i]!;
    const value = parseSealed(tail.toString("utf8", start, end), unsealed);
    if (!valid(value, out.length)) {
      if (i === lines.length - 1 && rest === tail.length) {
        cut(checkpointBytes + start, "the last line is not a valid record (a torn write)");
        return { size: checkpointBytes + start, lines: out };
      }
      return { problem: `holds an invalid record at byte ${checkpointBytes + start}` };
    }
    out.push({ start: checkpointBytes + start, value });
  }
  if (rest < tail.length) {
    cut(checkpointBytes + rest, "the last line was cut short by a crash (a torn write)");
    return { size: checkpointBytes + rest, lines: out };
  }
  return { size, lines: out };
}

/** Without a usable checkpoint: cuts a torn or invalid last line; returns the size after. */
function repairLastLine({ fs, fd, size, valid, cut, unsealed }: OpenLog): number {
  if (size === 0) return 0;
  if (readAtSync(fs, fd, size - 1, 1)[0] !== NEWLINE) {
    const start = lineStartBeforeSync(fs, fd, size);
    cut(start, "the last line was cut short (a torn write)");
    return start;
  }
  const start = lineStartBeforeSync(fs, fd, size - 1);
  if (!valid(parseSealed(readAtSync(fs, fd, start, size - 1 - start).toString("utf8"), unsealed), -1)) {
    cut(start, "the last line is not a valid record (a torn write)");
    return start;
  }
  return size;
}

/** The file (its first `end` bytes) as the truth: the transcript's last line, or every run record. */
function readAsTruth({ fs, fd, file, valid, unsealed }: OpenLog, end: number): LogResult {
  if (end === 0) return { size: 0, lines: [] };
  if (file.endsWith("transcript.jsonl")) {
    const start = lineStartBeforeSync(fs, fd, end - 1);
    const value = parseSealed(readAtSync(fs, fd, start, end - 1 - start).toString("utf8"), unsealed);
    if (!valid(value, -1)) return { problem: `holds an invalid record at byte ${start}` };
    return { size: end, lines: [{ start, value }] };
  }
  const whole = readAtSync(fs, fd, 0, end);
  const out: Line[] = [];
  for (const [start, stop] of completeLines(whole).lines) {
    const value = parseSealed(whole.toString("utf8", start, stop), unsealed);
    if (!valid(value, out.length)) return { problem: `holds an invalid record at byte ${start}` };
    out.push({ start, value });
  }
  return { size: end, lines: out };
}
