import type { StoreFs } from "./store-fs.ts";

export const NEWLINE = 0x0a;
const BACKWARD_CHUNK = 64 * 1024;

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export function readAtSync(fs: StoreFs, fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const read = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (read === 0) break;
    filled += read;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export async function readAt(handle: ReadSource, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/**
 * The integer right after `prefix` (e.g. `{"sequence":`) at `start`, when the line begins that
 * way — the shape this store writes — so a line's key is read without parsing the line.
 * Null when the line is shaped otherwise; the caller then parses the whole line.
 */
export function leadingInteger(buffer: Uint8Array, start: number, end: number, prefix: Uint8Array): number | null {
  if (end - start < prefix.length + 1) return null;
  for (let i = 0; i < prefix.length; i++) if (buffer[start + i] !== prefix[i]) return null;
  let value = 0;
  let i = start + prefix.length;
  const first = i;
  for (; i < end; i++) {
    const c = buffer[i]!;
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
  }
  if (i === first || i - first > 15 || (buffer[i] !== 0x2c && buffer[i] !== 0x7d)) return null;
  return value;
}

/** `{"<key>":` as bytes, for `leadingInteger`. */
export const keyPrefix = (key: string): Uint8Array => Buffer.from(`{"${key}":`);

/** Where the line that ends at `end` starts: just after the previous newline, or 0. Reads backwards. */
export function lineStartBeforeSync(fs: StoreFs, fd: number, end: number): number {
  let position = end;
  while (position > 0) {
    const from = Math.max(0, position - BACKWARD_CHUNK);
    const chunk = readAtSync(fs, fd, from, position - from);
    const index = chunk.lastIndexOf(NEWLINE);
    if (index >= 0) return from + index + 1;
    position = from;
  }
  return 0;
}

/** Splits complete lines (each ending in a newline) of `buffer`; `rest` is where an unfinished one starts. */
export function completeLines(buffer: Buffer): { lines: Array<[number, number]>; rest: number } {
  const lines: Array<[number, number]> = [];
  let start = 0;
  for (;;) {
    const index = buffer.indexOf(NEWLINE, start);
    if (index < 0) break;
    lines.push([start, index]);
    start = index + 1;
  }
  return { lines, rest: start };
}

/** JSON.parse that answers undefined instead of throwing. */
export function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What `readAt` reads from: a file, or a file with bytes still waiting to be written behind it. */
export interface ReadSource {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Bytes of a file that wait in memory to be written behind the journal (append-files.ts), and the
 * offset in the file they start at. While the disk refuses writes, reads take them from here.
 */
export interface Waiting {
  from: number;
  bytes: Buffer;
}

/** `handle`, with `waiting` read from memory: what the file will hold once written behind. */
export function withWaiting(handle: ReadSource, waiting: Waiting | null): ReadSource {
  if (!waiting || waiting.bytes.length === 0) return handle;
  return {
    async read(buffer, offset, length, position) {
      if (position < waiting.from) return handle.read(buffer, offset, Math.min(length, waiting.from - position), position);
      const start = position - waiting.from;
      const end = Math.min(waiting.bytes.length, start + length);
      if (end <= start) return { bytesRead: 0 };
      buffer.set(waiting.bytes.subarray(start, end), offset);
      return { bytesRead: end - start };
    },
  };
}
