import { readFileSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import { fsyncDir } from "./atomic.ts";
import { completeLines, tryParse } from "./lines.ts";
import type { StorePaths } from "./paths.ts";

/**
 * One step of a batch. Appends name the byte offset they were written at, so replay can tell
 * whether a file already holds them. `state` is a worker's state after the batch, with the sizes
 * of its logs at that point.
 */
export type JournalOp =
  | { op: "create"; worker_id: string; record: WorkerRecord; state: WorkerState }
  | { op: "delete"; worker_id: string }
  | { op: "append"; path: string; offset: number; data: string }
  | { op: "remove"; path: string }
  | { op: "state"; worker_id: string; state: WorkerState; transcript_bytes: number; runs_bytes: number };

/** Everything one group commit writes: one line of `wal/<n>.jsonl`. */
export interface JournalRecord {
  batch: number;
  ops: JournalOp[];
}

/**
 * The write-ahead journal. Each batch is written here first, then applied to the layout's files,
 * then this one file is fdatasynced: one sync makes the whole batch durable however many worker
 * files it touched, and replay on open finishes any batch a crash cut short. Checkpoints sync the
 * layout's files and retire journal files.
 */
export class JournalWriter {
  private handle: FileHandle | null = null;
  number = 0;
  bytes = 0;

  constructor(
    private readonly paths: StorePaths,
    private readonly durable: boolean,
  ) {}

  /** Starts `wal/<number>.jsonl`; its name is made durable before any batch relies on it. */
  async start(number: number): Promise<void> {
    const handle = await open(this.paths.abs(this.paths.journal(number)), "a", 0o644);
    if (this.durable) await fsyncDir(this.paths.abs("wal"));
    this.handle = handle;
    this.number = number;
    this.bytes = 0;
  }

  write(record: JournalRecord): void {
    if (!this.handle) throw new Error("the journal is not open");
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    let written = 0;
    while (written < line.length) written += writeSync(this.handle.fd, line, written, line.length - written);
    this.bytes += line.length;
  }

  async sync(): Promise<void> {
    if (this.durable && this.handle) await this.handle.datasync();
  }

  /** Switches to the next file; returns the number of the one left behind (complete and synced). */
  async rotate(): Promise<number> {
    const previous = this.number;
    const old = this.handle;
    await this.start(previous + 1);
    await old?.close();
    return previous;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}

export interface ReadJournal {
  records: JournalRecord[];
  /** Byte offset of a final line cut short by a crash, if any. */
  torn_at: number | null;
  /** Byte offset of a complete line that is not a journal record; nothing after it is used. */
  corrupt_at: number | null;
  size: number;
}

function isRecord(value: unknown): value is JournalRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as { batch?: unknown; ops?: unknown };
  return Number.isSafeInteger(record.batch) && Array.isArray(record.ops);
}

export function readJournal(path: string): ReadJournal {
  const buffer = readFileSync(path);
  const { lines, rest } = completeLines(buffer);
  const records: JournalRecord[] = [];
  for (const [start, end] of lines) {
    const value = tryParse(buffer.toString("utf8", start, end));
    if (!isRecord(value)) {
      // A bad final line is a torn write like any other; one followed by more lines is damage.
      const last = end + 1 === buffer.length;
      return last
        ? { records, torn_at: start, corrupt_at: null, size: buffer.length }
        : { records, torn_at: null, corrupt_at: start, size: buffer.length };
    }
    records.push(value);
  }
  return { records, torn_at: rest < buffer.length ? rest : null, corrupt_at: null, size: buffer.length };
}
