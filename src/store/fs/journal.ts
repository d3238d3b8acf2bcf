import type { FileHandle } from "node:fs/promises";
import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import { errnoCode } from "../../shared/errors.ts";
import { fsyncDir } from "./atomic.ts";
import { checksumHex } from "../../platform/checksum.ts";
import { leadingInteger, NEWLINE, tryParse } from "./lines.ts";
import { openLine, sealLine } from "./sealed-line.ts";
import type { StorePaths } from "./paths.ts";
import type { StoreFs } from "./store-fs.ts";

/**
 * One step of a batch. Appends name the byte offset they were written at, so replay can tell
 * whether a file already holds them; their bytes follow the record as its payload. `state` is a
 * worker's state after the batch, with the sizes of its logs at that point.
 */
export type JournalOp =
  | { op: "create"; worker_id: string; record: WorkerRecord; state: WorkerState }
  | { op: "delete"; worker_id: string }
  | { op: "append"; path: string; offset: number; bytes: number }
  | { op: "remove"; path: string }
  | { op: "state"; worker_id: string; state: WorkerState; transcript_bytes: number; runs_bytes: number };

/** A record read back: appends carry their bytes. */
export type ReplayOp = Exclude<JournalOp, { op: "append" }> | { op: "append"; path: string; offset: number; data: Buffer };

export interface JournalRecord {
  batch: number;
  /** Byte offset of the record's header line in its file. */
  offset: number;
  ops: ReplayOp[];
  /**
   * Set when the payload fails its check but the sealed header is intact: `ops` then holds the
   * header's ops in order, appends with zeros in place of their bytes, and `payload` the damaged
   * bytes (to bound the event ids they held).
   */
  damaged?: { payload: Buffer };
}

/**
 * The write-ahead journal, wal/<n>.jsonl. Each batch is written here first — a JSON header line
 * `{"batch","ops","payload","payload_crc","crc"}` (the CRC-32 of the payload; the header's seal) followed by `payload` bytes (the appended lines, in op order) and
 * a newline — then applied to the layout's files, then this one file is fdatasynced: one sync
 * makes the whole batch durable however many files it touched, and replay on open finishes any
 * batch a crash cut short. Checkpoints sync the layout's files and retire journal files.
 */
export class JournalWriter {
  private handle: FileHandle | null = null;
  /** The sync in flight (settles, never rejects): rotation waits for it. */
  private syncing: Promise<void> = Promise.resolve();
  /**
   * A write or sync of this file failed: nothing more is written to it or synced through it. After a
   * failed fsync the kernel may have dropped the dirty pages, so a later fsync that succeeds proves
   * nothing ("fsyncgate"); the store recovers into a fresh file instead (session.ts).
   */
  failed: unknown = null;
  number = 0;
  bytes = 0;

  constructor(
    private readonly paths: StorePaths,
    private readonly durable: boolean,
  ) {}

  /** Starts `wal/<number>.jsonl`; its name is made durable before any batch relies on it. */
  async start(number: number): Promise<void> {
    const handle = await this.paths.fs.promises.open(this.paths.abs(this.paths.journal(number)), "a", 0o644);
    try {
      if (this.durable) await fsyncDir(this.paths.fs, this.paths.abs("wal"));
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.handle = handle;
    this.number = number;
    this.bytes = 0;
  }

  /**
   * Writes one record: `payload` is the appends' text, `bytes` its UTF-8 length. Returns the
   * payload as written, so the same bytes can go on to the layout's files without encoding again.
   */
  write(batch: number, ops: JournalOp[], payload: string[], bytes: number): Buffer {
    if (!this.handle) throw new Error("the journal is not open");
    if (this.failed !== null) throw this.failed;
    const text = payload.join("");
    const body = JSON.stringify({ batch, ops, payload: bytes, payload_crc: checksumHex(text) });
    const header = sealLine(body);
    const record = Buffer.from(`${header}${text}\n`);
    let written = 0;
    try {
      while (written < record.length) written += this.paths.fs.writeSync(this.handle.fd, record, written, record.length - written);
    } catch (error) {
      this.failed = error;
      throw error;
    }
    this.bytes += record.length;
    return record.subarray(record.length - 1 - bytes, record.length - 1);
  }

  /** fdatasync of the journal (the callback form: it costs the least per call). */
  sync(): Promise<void> {
    const handle = this.handle;
    if (!this.durable || !handle) return Promise.resolve();
    if (this.failed !== null) return Promise.reject(this.failed);
    const synced = new Promise<void>((resolve, reject) =>
      this.paths.fs.fdatasync(handle.fd, (error) => {
        if (!error) return resolve();
        this.failed ??= error;
        reject(error);
      }),
    );
    this.syncing = synced.catch(() => undefined);
    return synced;
  }

  /** Resolves once the sync in flight (if any) returned, whatever it returned. */
  settled(): Promise<void> {
    return this.syncing;
  }

  /** Switches to the next file once the sync in flight returned; the one left behind is complete and synced. */
  async rotate(): Promise<void> {
    await this.syncing;
    if (this.failed !== null) throw this.failed;
    const old = this.handle;
    await this.start(this.number + 1);
    await old?.close();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

export interface ReadJournal {
  records: JournalRecord[];
  /** Byte offset of a record cut short by a crash (it runs to the end of the file), if any. */
  torn_at: number | null;
  /**
   * Byte offset of a complete record whose header does not read back (so nobody can say whose it
   * was, nor where the next record starts); nothing after it is used. A record whose header is
   * sealed and intact but whose payload is damaged is returned `damaged` instead, and reading goes on.
   */
  corrupt_at: number | null;
  size: number;
}

interface Header {
  batch: number;
  ops: JournalOp[];
  payload: number;
  payload_crc?: string;
}

function isHeader(value: unknown): value is Header {
  if (typeof value !== "object" || value === null) return false;
  const header = value as Partial<Header>;
  return Number.isSafeInteger(header.batch) && Array.isArray(header.ops) && Number.isSafeInteger(header.payload) && header.payload! >= 0;
}

/** Attaches each append's bytes, in op order; null when they do not add up to the payload. */
function withData(ops: JournalOp[], payload: Buffer): ReplayOp[] | null {
  const out: ReplayOp[] = [];
  let at = 0;
  for (const op of ops) {
    if (typeof op !== "object" || op === null) return null;
    if (op.op !== "append") {
      out.push(op);
      continue;
    }
    if (!Number.isSafeInteger(op.bytes) || op.bytes < 0 || at + op.bytes > payload.length) return null;
    out.push({ op: "append", path: op.path, offset: op.offset, data: payload.subarray(at, at + op.bytes) });
    at += op.bytes;
  }
  return at === payload.length ? out : null;
}

/** Total bytes the header's appends name (0 when they are malformed: withData then refuses them). */
function sumAppends(ops: JournalOp[]): number {
  let total = 0;
  for (const op of ops) {
    if (typeof op !== "object" || op === null || op.op !== "append") continue;
    if (!Number.isSafeInteger(op.bytes) || op.bytes < 0) return 0;
    total += op.bytes;
  }
  return total;
}

/** Reads a journal file; `unsealed` accepts records without a seal (a format-1 store). */
export function readJournal(fs: StoreFs, path: string, unsealed: boolean): ReadJournal {
  const buffer = fs.readFileSync(path);
  const records: JournalRecord[] = [];
  let position = 0;
  while (position < buffer.length) {
    const end = buffer.indexOf(NEWLINE, position);
    // A record that does not finish before the end of the file is one a crash cut short.
    if (end < 0) return { records, torn_at: position, corrupt_at: null, size: buffer.length };
    const text = buffer.toString("utf8", position, end);
    const opened = openLine(text, unsealed);
    const header = opened === null ? undefined : tryParse(opened);
    if (!isHeader(header)) {
      return end + 1 === buffer.length
        ? { records, torn_at: position, corrupt_at: null, size: buffer.length }
        : { records, torn_at: null, corrupt_at: position, size: buffer.length };
    }
    const payloadEnd = end + 1 + header.payload;
    if (payloadEnd + 1 > buffer.length) return { records, torn_at: position, corrupt_at: null, size: buffer.length };
    const payload = buffer.subarray(end + 1, payloadEnd);
    const ops = withData(header.ops, payload);
    const intact = header.payload_crc === undefined ? opened === text : header.payload_crc === checksumHex(payload);
    if (ops && intact && buffer[payloadEnd] === NEWLINE) {
      records.push({ batch: header.batch, offset: position, ops });
    } else if (header.payload_crc !== undefined && opened !== text) {
      // The header's seal checks out, so its ops and payload length are what was written: only
      // the appended bytes are lost, and the next record starts where the header says.
      const headerOps = withData(header.ops, Buffer.alloc(sumAppends(header.ops)));
      if (!headerOps) return { records, torn_at: null, corrupt_at: position, size: buffer.length };
      records.push({ batch: header.batch, offset: position, ops: headerOps, damaged: { payload } });
    } else {
      return { records, torn_at: null, corrupt_at: position, size: buffer.length };
    }
    position = payloadEnd + 1;
  }
  return { records, torn_at: null, corrupt_at: null, size: buffer.length };
}

/** What the records from a damaged one on name: whose writes were not replayed, and the event ids they held. */
export interface SetAsideScope {
  /** Worker ids named by the damaged record and every record after it; null when the damaged record's own header is unreadable (then anyone may be affected). */
  workers: Set<string> | null;
  /** Highest event id those records hold or imply, so ids are not handed out again. */
  last_event_id: number;
}

const EVENT_ID = Buffer.from('{"id":');

/**
 * The highest id of the event lines in `data` (lines start with their id), 0 when none. Damaged
 * bytes may read wrong, which errs on the high side at worst: ids are skipped, never reused.
 */
export function highestEventId(data: Buffer): number {
  let highest = 0;
  for (let i = data.indexOf(EVENT_ID); i >= 0; i = data.indexOf(EVENT_ID, i + 1)) {
    if (i > 0 && data[i - 1] !== NEWLINE) continue;
    const value = leadingInteger(data, i, data.length, EVENT_ID);
    if (value !== null) highest = Math.max(highest, value);
  }
  return highest;
}

/**
 * Reads what the records from `from` on (the damaged one first) name, without applying them:
 * records whose header seal checks out are trusted for their ops even when their payload is
 * damaged; other lines are skipped until the next sealed header. `named(path)` gives the worker
 * a journaled file belongs to, null for runtime-wide files.
 */
export function scopeFrom(
  fs: StoreFs,
  path: string,
  from: number,
  unsealed: boolean,
  named: (path: string) => string | null,
  scope: SetAsideScope,
): void {
  const buffer = fs.readFileSync(path);
  let position = from;
  let first = true;
  while (position < buffer.length) {
    const end = buffer.indexOf(NEWLINE, position);
    if (end < 0) break;
    const opened = openLine(buffer.toString("utf8", position, end), unsealed);
    const header = opened === null ? undefined : tryParse(opened);
    if (!isHeader(header)) {
      if (first) scope.workers = null;
      first = false;
      position = end + 1;
      continue;
    }
    first = false;
    let at = end + 1;
    for (const op of header.ops) {
      if (typeof op !== "object" || op === null) continue;
      if ("worker_id" in op && typeof op.worker_id === "string") scope.workers?.add(op.worker_id);
      if (op.op === "state" && Number.isSafeInteger(op.state?.last_event_id)) scope.last_event_id = Math.max(scope.last_event_id, op.state.last_event_id);
      if (op.op !== "append" && op.op !== "remove") continue;
      const owner = named(op.path);
      if (owner !== null) scope.workers?.add(owner);
      if (op.op === "append" && Number.isSafeInteger(op.bytes) && op.bytes >= 0) {
        // Event lines start with their id; a damaged one may read wrong, which errs on the high side at worst.
        scope.last_event_id = Math.max(scope.last_event_id, highestEventId(buffer.subarray(at, Math.min(buffer.length, at + op.bytes))));
        at += op.bytes;
      }
    }
    position = end + 1 + header.payload + 1;
  }
}

/**
 * Cuts journal file `path` back to `size` (the end of its last acknowledged record) through a new
 * descriptor and syncs that: what a failed batch left past `size` is never replayed, and the cut
 * is durable before anything is acknowledged after it. (Only the new descriptor is synced: the
 * one whose sync failed is never trusted again.)
 */
export function cutJournal(fs: StoreFs, path: string, size: number): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(path, "r+");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return Promise.resolve();
    return Promise.reject(error);
  }
  try {
    if (fs.fstatSync(fd).size > size) fs.ftruncateSync(fd, size);
  } catch (error) {
    fs.closeSync(fd);
    return Promise.reject(error);
  }
  return new Promise<void>((resolve, reject) =>
    fs.fdatasync(fd, (error) => {
      fs.closeSync(fd);
      if (error) reject(error);
      else resolve();
    }),
  );
}
