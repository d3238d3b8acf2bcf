import { fdatasync, readFileSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import { fsyncDir } from "./atomic.ts";
import { NEWLINE, tryParse } from "./lines.ts";
import type { StorePaths } from "./paths.ts";

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
  ops: ReplayOp[];
}

/**
 * The write-ahead journal, wal/<n>.jsonl. Each batch is written here first — a JSON header line
 * `{"batch","ops","payload"}` followed by `payload` bytes (the appended lines, in op order) and
 * a newline — then applied to the layout's files, then this one file is fdatasynced: one sync
 * makes the whole batch durable however many files it touched, and replay on open finishes any
 * batch a crash cut short. Checkpoints sync the layout's files and retire journal files.
 */
export class JournalWriter {
  private handle: FileHandle | null = null;
  /** The sync in flight (settles, never rejects): rotation waits for it. */
  private syncing: Promise<void> = Promise.resolve();
  number = 0;
  bytes = 0;

  constructor(
    private readonly paths: StorePaths,
    private readonly durable: boolean,
  ) {}

  /** Starts `wal/<number>.jsonl`; its name is made durable before any batch relies on it. */
  async start(number: number): Promise<void> {
    const handle = await open(this.paths.abs(this.paths.journal(number)), "a", 0o644);
    try {
      if (this.durable) await fsyncDir(this.paths.abs("wal"));
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
    const header = `${JSON.stringify({ batch, ops, payload: bytes })}\n`;
    const record = Buffer.from(`${header}${payload.join("")}\n`);
    let written = 0;
    while (written < record.length) written += writeSync(this.handle.fd, record, written, record.length - written);
    this.bytes += record.length;
    return record.subarray(record.length - 1 - bytes, record.length - 1);
  }

  /** fdatasync of the journal (the callback form: it costs the least per call). */
  sync(): Promise<void> {
    const handle = this.handle;
    if (!this.durable || !handle) return Promise.resolve();
    const synced = new Promise<void>((resolve, reject) => fdatasync(handle.fd, (error) => (error ? reject(error) : resolve())));
    this.syncing = synced.catch(() => undefined);
    return synced;
  }

  /** Switches to the next file once the sync in flight returned; the one left behind is complete and synced. */
  async rotate(): Promise<void> {
    await this.syncing;
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
  /** Byte offset of a complete record that does not read back; nothing after it is used. */
  corrupt_at: number | null;
  size: number;
}

interface Header {
  batch: number;
  ops: JournalOp[];
  payload: number;
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

export function readJournal(path: string): ReadJournal {
  const buffer = readFileSync(path);
  const records: JournalRecord[] = [];
  let position = 0;
  while (position < buffer.length) {
    const end = buffer.indexOf(NEWLINE, position);
    // A record that does not finish before the end of the file is one a crash cut short.
    if (end < 0) return { records, torn_at: position, corrupt_at: null, size: buffer.length };
    const header = tryParse(buffer.toString("utf8", position, end));
    if (!isHeader(header)) {
      return end + 1 === buffer.length
        ? { records, torn_at: position, corrupt_at: null, size: buffer.length }
        : { records, torn_at: null, corrupt_at: position, size: buffer.length };
    }
    const payloadEnd = end + 1 + header.payload;
    if (payloadEnd + 1 > buffer.length) return { records, torn_at: position, corrupt_at: null, size: buffer.length };
    const ops = withData(header.ops, buffer.subarray(end + 1, payloadEnd));
    if (!ops || buffer[payloadEnd] !== NEWLINE) return { records, torn_at: null, corrupt_at: position, size: buffer.length };
    records.push({ batch: header.batch, ops });
    position = payloadEnd + 1;
  }
  return { records, torn_at: null, corrupt_at: null, size: buffer.length };
}
