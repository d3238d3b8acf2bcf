import { RuntimeError } from "../../core/errors.ts";
import { messageOf } from "../../shared/errors.ts";
import type { StorePaths } from "./paths.ts";

/** Bytes one file may have waiting before it is written. */
const FILE_LIMIT = 256 * 1024;
/** Bytes all files together may have waiting before every one is written. */
const TOTAL_LIMIT = 16 * 1024 * 1024;

/**
 * Appends to the layout's files, written behind the journal: a batch is durable once the journal
 * holds it, so its appends to worker logs and segments wait here and go out in larger writes —
 * when a file has gathered enough, before anything reads that file, and before a checkpoint
 * syncs it. A crash loses only what the journal replays. Descriptors of hot files stay open,
 * least recently used closed first.
 */
export class AppendFiles {
  private readonly open = new Map<string, number>();
  private readonly pending = new Map<string, { chunks: Buffer[]; bytes: number }>();
  private total = 0;

  constructor(
    private readonly paths: StorePaths,
    private readonly capacity = 256,
  ) {}

  /** Queues `data` for the end of `relative` (created if missing). */
  append(relative: string, data: Buffer): void {
    let waiting = this.pending.get(relative);
    if (!waiting) {
      waiting = { chunks: [], bytes: 0 };
      this.pending.set(relative, waiting);
    }
    waiting.chunks.push(data);
    waiting.bytes += data.length;
    this.total += data.length;
    if (waiting.bytes >= FILE_LIMIT) this.writeback(relative);
    if (this.total >= TOTAL_LIMIT) this.writebackAll();
  }

  /** Writes what waits for `relative`, so a read of the file sees every append made so far. */
  writeback(relative: string): void {
    const waiting = this.pending.get(relative);
    if (!waiting) return;
    this.pending.delete(relative);
    this.total -= waiting.bytes;
    const data = waiting.chunks.length === 1 ? waiting.chunks[0]! : Buffer.concat(waiting.chunks, waiting.bytes);
    let written = 0;
    try {
      const fd = this.descriptor(relative);
      while (written < data.length) written += this.paths.fs.writeSync(fd, data, written, data.length - written);
    } catch (error) {
      // What did not reach the file waits again, first in line: the file and its queue still add up.
      const rest = data.subarray(written);
      const later = this.pending.get(relative);
      this.pending.set(relative, { chunks: [rest, ...(later?.chunks ?? [])], bytes: rest.length + (later?.bytes ?? 0) });
      this.total += rest.length;
      throw error;
    }
  }

  /** Bytes still waiting for `relative` (written behind): the file on disk is that much shorter. */
  waiting(relative: string): number {
    return this.pending.get(relative)?.bytes ?? 0;
  }

  /** The waiting bytes of `relative` from `from` on (0: the first byte not yet in the file), up to `length`. */
  waitingBytes(relative: string, from: number, length: number): Buffer {
    const waiting = this.pending.get(relative);
    if (!waiting) return Buffer.alloc(0);
    const all = waiting.chunks.length === 1 ? waiting.chunks[0]! : Buffer.concat(waiting.chunks, waiting.bytes);
    return all.subarray(from, from + length);
  }

  /** `writeback` before a read: a failure is the store's (store_io), not the reader's. */
  writebackBeforeRead(relative: string): void {
    try {
      this.writeback(relative);
    } catch (error) {
      throw new RuntimeError("store_io", `the store could not write ${relative}: ${messageOf(error)}`);
    }
  }

  writebackAll(): void {
    for (const relative of [...this.pending.keys()]) this.writeback(relative);
  }

  /** Forgets files under `prefix` (a deleted worker's directory, a removed segment): nothing waiting is written. */
  discardUnder(prefix: string): void {
    for (const [relative, waiting] of this.pending) {
      if (relative === prefix || relative.startsWith(`${prefix}/`)) {
        this.pending.delete(relative);
        this.total -= waiting.bytes;
      }
    }
    for (const [relative, fd] of this.open) {
      if (relative === prefix || relative.startsWith(`${prefix}/`)) {
        this.open.delete(relative);
        this.paths.fs.closeSync(fd);
      }
    }
  }

  /** Closes every descriptor; what still waits is dropped (the journal keeps it for replay). */
  closeAll(): void {
    for (const fd of this.open.values()) this.paths.fs.closeSync(fd);
    this.open.clear();
    this.pending.clear();
    this.total = 0;
  }

  private descriptor(relative: string): number {
    let fd = this.open.get(relative);
    if (fd === undefined) {
      fd = this.paths.fs.openSync(this.paths.abs(relative), "a", 0o644);
      if (this.open.size >= this.capacity) {
        const [oldest, oldestFd] = this.open.entries().next().value!;
        this.open.delete(oldest);
        this.paths.fs.closeSync(oldestFd);
      }
    } else {
      this.open.delete(relative);
    }
    this.open.set(relative, fd);
    return fd;
  }
}
