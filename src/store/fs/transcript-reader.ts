import { RuntimeError } from "../../core/errors.ts";
import type { TranscriptEntry } from "../../core/schema/transcript.ts";
import { completeLines, keyPrefix, leadingInteger, NEWLINE, readAtSync, type Waiting } from "./lines.ts";
import { addAnchor, type FsWorker } from "./worker.ts";
import { errnoCode } from "../../shared/errors.ts";
import { parseSealed, sealLine } from "./sealed-line.ts";
import type { StoreFs } from "./store-fs.ts";

const SEQUENCE = keyPrefix("sequence");
/** Below this many bytes between the bounds, scanning forward beats probing. */
const SCAN_WINDOW = 64 * 1024;
const PROBE = 4096;

/** Serialised with `sequence` first, so a line's sequence is read from its first bytes. */
export function transcriptLine(entry: TranscriptEntry): string {
  const text = JSON.stringify(entry);
  if (text.startsWith('{"sequence":')) return sealLine(text);
  const { sequence, ...rest } = entry;
  return sealLine(JSON.stringify({ sequence, ...rest }));
}

/**
 * Entries `start <= sequence < start + count` of a worker's transcript.jsonl, reading only byte
 * ranges: sequences are dense and lines are in sequence order, so the first line is found by
 * bisecting the file on line starts (each probe reads a few KiB and the `{"sequence":N` prefix),
 * starting from the closest remembered line starts; then the page is read in one pass.
 * No index is built and the file is never parsed whole.
 */
export async function readTranscriptPage(
  fs: StoreFs,
  file: string,
  path: string,
  worker: FsWorker,
  start: number,
  count: number,
  unsealed: boolean,
  /** Acknowledged bytes the disk has not taken yet (append-files.ts `beforeRead`): read from memory. */
  waiting: Waiting | null = null,
): Promise<TranscriptEntry[]> {
  const bytes = worker.transcript_bytes;
  const total = worker.transcript_count;
  if (count <= 0 || start >= total) return [];
  // Synchronous reads: a page is a few small reads of a file the page cache holds, each far
  // cheaper than a hop to the I/O threads and back, which on a loaded machine is what made the
  // slowest pages slow (issue 16: p99 and max of pages at random offsets). One turn of the event
  // loop first (a few µs): a caller reading pages in a loop must not starve the writes' completions.
  await new Promise<void>((resolve) => setImmediate(resolve));
  let handle: OpenFile;
  try {
    handle = { fs, fd: fs.openSync(file, "r"), waiting: waiting && waiting.bytes.length > 0 ? waiting : null };
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
  try {
    const from = locate(handle, path, worker, start, bytes, total);
    const wanted = Math.min(count, total - start);
    const { entries, next } = readForward(handle, path, from.offset, from.sequence, start, wanted, bytes, unsealed);
    if (start + entries.length < total) addAnchor(worker, start + entries.length, next);
    return entries;
  } finally {
    fs.closeSync(handle.fd);
  }
}

/** The transcript file open for a page's reads, with the bytes still waiting to be written behind it. */
interface OpenFile {
  fs: StoreFs;
  fd: number;
  waiting: Waiting | null;
}

/** Up to `length` bytes at `position`: from the file, and past `waiting.from` from memory. */
function readAt({ fs, fd, waiting }: OpenFile, position: number, length: number): Buffer {
  if (!waiting) return readAtSync(fs, fd, position, length);
  if (position >= waiting.from) return waiting.bytes.subarray(position - waiting.from, position - waiting.from + length);
  const head = readAtSync(fs, fd, position, Math.min(length, waiting.from - position));
  if (head.length < waiting.from - position || head.length === length) return head;
  return Buffer.concat([head, waiting.bytes.subarray(0, length - head.length)]);
}

interface Position {
  offset: number;
  sequence: number;
}

/**
 * A line start at or before the line of `target`, close enough to scan from. Probes interpolate
 * between the bounds (entries are of similar length on average, so one or two probes usually
 * land on the line) and fall back to halving when a probe did not halve the span.
 */
function locate(handle: OpenFile, path: string, worker: FsWorker, target: number, bytes: number, total: number): Position {
  let lo: Position = { offset: 0, sequence: 0 };
  let hi: { offset: number; sequence: number | null } = { offset: bytes, sequence: total };
  for (const anchor of worker.anchors) {
    if (anchor.offset > bytes || anchor.sequence >= total) continue;
    if (anchor.sequence <= target && anchor.sequence > lo.sequence) lo = anchor;
    if (anchor.sequence > target && anchor.offset < hi.offset) hi = anchor;
  }
  let halve = false;
  while (hi.offset - lo.offset > SCAN_WINDOW && lo.sequence !== target) {
    const span = hi.offset - lo.offset;
    let guess: number;
    if (halve || hi.sequence === null) {
      guess = lo.offset + Math.floor(span / 2);
    } else {
      // Aim half a line early: the first line start after the guess is then the target's.
      const line = span / (hi.sequence - lo.sequence);
      guess = Math.floor(lo.offset + (target - lo.sequence) * line - line / 2);
    }
    guess = Math.min(Math.max(guess, lo.offset), hi.offset - 1);
    const probe = lineAfter(handle, path, guess, hi.offset);
    if (probe === null) hi = { offset: guess + 1, sequence: null };
    else if (probe.sequence <= target) lo = probe;
    else hi = probe;
    halve = hi.offset - lo.offset > span / 2;
  }
  return lo;
}

/** The first line start in (from, limit) and its sequence, or null when none starts there. */
function lineAfter(handle: OpenFile, path: string, from: number, limit: number): Position | null {
  let position = from;
  while (position < limit) {
    const chunk = readAt(handle, position, Math.min(PROBE, limit - position));
    if (chunk.length === 0) return null;
    const index = chunk.indexOf(NEWLINE);
    if (index < 0) {
      position += chunk.length;
      continue;
    }
    const offset = position + index + 1;
    if (offset >= limit) return null;
    const fast = leadingInteger(chunk, index + 1, chunk.length, SEQUENCE);
    return { offset, sequence: fast ?? sequenceAt(handle, path, offset) };
  }
  return null;
}

function sequenceAt(handle: OpenFile, path: string, offset: number): number {
  const head = readAt(handle, offset, 32);
  const fast = leadingInteger(head, 0, head.length, SEQUENCE);
  if (fast !== null) return fast;
  // Not the shape this store writes (edited by hand?): parse the whole line. Only a position is
  // taken from it: the lines served are verified by readForward.
  let length = 4096;
  for (;;) {
    const chunk = readAt(handle, offset, length);
    const end = chunk.indexOf(NEWLINE);
    if (end >= 0 || chunk.length < length) {
      const value = parseSealed(chunk.toString("utf8", 0, end >= 0 ? end : chunk.length), true) as { sequence?: unknown } | undefined;
      if (value && Number.isSafeInteger(value.sequence)) return value.sequence as number;
      throw corrupt(path, offset);
    }
    length *= 4;
  }
}

/** Reads lines from `offset` (the line of `sequence`), skipping to `start`, until `count` entries. */
function readForward(
  handle: OpenFile,
  path: string,
  offset: number,
  sequence: number,
  start: number,
  count: number,
  bytes: number,
  unsealed: boolean,
): { entries: TranscriptEntry[]; next: number } {
  const out: TranscriptEntry[] = [];
  let position = offset;
  let current = sequence;
  let chunkSize = SCAN_WINDOW;
  while (out.length < count && position < bytes) {
    const chunk = readAt(handle, position, Math.min(chunkSize, bytes - position));
    const { lines, rest } = completeLines(chunk);
    if (lines.length === 0) {
      if (chunk.length < chunkSize) throw corrupt(path, position);
      chunkSize *= 4;
      continue;
    }
    for (const [from, to] of lines) {
      if (current >= start) {
        const entry = parseSealed(chunk.toString("utf8", from, to), unsealed) as TranscriptEntry | undefined;
        if (!entry || entry.sequence !== current) throw corrupt(path, position + from);
        out.push(entry);
        if (out.length === count) {
          position += to + 1;
          break;
        }
      }
      current++;
    }
    if (out.length < count) position += rest;
  }
  if (out.length < count) throw corrupt(path, position);
  return { entries: out, next: position };
}

function corrupt(path: string, offset: number): RuntimeError {
  return new RuntimeError("store_corrupt", `${path} is damaged near byte ${offset}: it does not hold the expected transcript entry`, {
    file: path,
    offset,
  });
}
