import type { Waiting } from "./lines.ts";
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



  /**
   * `writeback` before a read of `relative`, whose logical size (file + waiting bytes) is `size`.
   * When the disk refuses the write (full, failing), the read still sees everything: the bytes
   * that wait are returned, with where in the file they start, for the reader to take from memory.
   */
  beforeRead(relative: string, size: number): Waiting | null {
    try {
      this.writeback(relative);
      return null;
    } catch {
      const waiting = this.pending.get(relative);
      if (!waiting) return null;
      const bytes = waiting.chunks.length === 1 ? waiting.chunks[0]! : Buffer.concat(waiting.chunks, waiting.bytes);
      return { from: size - bytes.length, bytes };
    }
  }

  /**
   * Takes back the last `bytes` appended to `relative` (a failed batch's); returns how many of them
   * had been written to the file already (the caller cuts the file for those).
   */
  dropTail(relative: string, bytes: number): number {
    const waiting = this.pending.get(relative);
    if (!waiting) return bytes;
    if (waiting.bytes <= bytes) {
      this.pending.delete(relative);
      this.total -= waiting.bytes;
      return bytes - waiting.bytes;
    }
    const all = Buffer.concat(waiting.chunks, waiting.bytes);
    const kept = all.subarray(0, all.length - bytes);
    this.pending.set(relative, { chunks: [kept], bytes: kept.length });
    this.total -= bytes;
    return 0;
  }

  writebackAll(): void {
    for (const relative of [...this.pending.keys()]) this.writeback(relative);
  }

  /**
   * Forgets files under `prefix` (a deleted worker's directory, a removed segment): nothing waiting
   * is written. Returns what was waiting, for `putBack` should the deletion be taken back.
   */
  discardUnder(prefix: string): Array<[string, Buffer]> {
    const taken: Array<[string, Buffer]> = [];
    for (const [relative, waiting] of this.pending) {
      if (relative === prefix || relative.startsWith(`${prefix}/`)) {
        this.pending.delete(relative);
        this.total -= waiting.bytes;
        taken.push([relative, Buffer.concat(waiting.chunks, waiting.bytes)]);
      }
    }
    for (const [relative, fd] of this.open) {
      if (relative === prefix || relative.startsWith(`${prefix}/`)) {
        this.open.delete(relative);
        this.paths.fs.closeSync(fd);
      }
    }
    return taken;
  }

  /** Waits `data` for `relative` again, ahead of anything waiting now (what `discardUnder` took). */
  putBack(relative: string, data: Buffer): void {
    const later = this.pending.get(relative);
    this.pending.set(relative, { chunks: [data, ...(later?.chunks ?? [])], bytes: data.length + (later?.bytes ?? 0) });
    this.total += data.length;
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
