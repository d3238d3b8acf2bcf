import { RuntimeError } from "../../core/errors.ts";
import type { StoredEvent } from "../../core/schema/event.ts";
import type { BatchPlan } from "./batch-plan.ts";
import { completeLines, keyPrefix, leadingInteger, lineStartBeforeSync, NEWLINE, readAt, readAtSync, withWaiting, type Waiting } from "./lines.ts";
import { numberedName, type StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { errnoCode } from "../../shared/errors.ts";
import { parseSealed, sealLine } from "./sealed-line.ts";
import { EVENTS_CHECKPOINT, readEventsCheckpoint, type EventsCheckpoint } from "./events-checkpoint.ts";

const ID = keyPrefix("id");
/** Recent events kept parsed in memory: live subscribers and pollers read from here. */
const TAIL_CAPACITY = 4096;
const READ_CHUNK = 256 * 1024;

interface Segment {
  /** Id of its first event: the file is events/<first>.jsonl. */
  first: number;
  path: string;
  /** Bytes written (including batches not yet durable). */
  bytes: number;
  /** Event ids and their line offsets; built when first read, kept up to date while appending. */
  ids: number[] | null;
  offsets: number[] | null;
  /** Offset from which acknowledged events are missing (the file was shortened or damaged); reads through it fail store_corrupt. */
  damaged?: number;
}

/** Serialised with `id` first so an index is built from line prefixes, without parsing events. */
function lineOf(event: StoredEvent): string {
  const text = JSON.stringify(event);
  if (text.startsWith('{"id":')) return sealLine(text);
  const { id, ...rest } = event;
  return sealLine(JSON.stringify({ id, ...rest }));
}

/**
 * The runtime-wide event log: append-only segments events/<first_id>.jsonl, a new one every
 * `perSegment` events, the oldest removed whole once the rest still hold `maxRetained` ids.
 * Readers see events only once their batch is durable (`published`), so no one sees an id a crash
 * could take back.
 */
export class EventLog {
  private segments: Segment[] = [];
  private tail: StoredEvent[] = [];
  private tailHead = 0;
  private durableLast = 0;
  private firstId: number | null = null;

  constructor(
    private readonly paths: StorePaths,
    private readonly perSegment: number,
    private readonly maxRetained: number,
    /** Writes what still waits for a segment (of `size` bytes) before it is read; what the disk refuses is read from memory. */
    private readonly beforeRead: (path: string, size: number) => Waiting | null,
  ) {}

  /**
   * Lists the segments, cuts a torn last line from any of them (store_repaired), indexes the
   * newest and reads the first id of the oldest. Returns the highest stored id (0: none).
   */
  load(repairs: Repairs, gaps: ReadonlyMap<string, number>): number {
    const names = this.paths.fs.readdirSync(this.paths.abs("events"))
      .map((name) => numberedName(name))
      .filter((n): n is number => n !== null)
      .sort((a, b) => a - b);
    const checkpoint = readEventsCheckpoint(this.paths);
    if (checkpoint.problem) repairs.add("error", "store_corrupt_events", checkpoint.problem, null, { file: EVENTS_CHECKPOINT });
    const acknowledged = checkpoint.record;
    for (const first of names) {
      const path = this.paths.segment(first);
      const ackBytes = acknowledged?.segments[String(first)] ?? 0;
      const { size, missingFrom } = this.repairEnd(path, ackBytes, repairs);
      const damaged = Math.min(missingFrom ?? Infinity, gaps.get(path) ?? Infinity);
      if (damaged !== Infinity) {
        repairs.add("error", "store_corrupt_events", `${path} is missing acknowledged events from byte ${damaged}; reads through it fail store_corrupt`, null, {
          file: path,
          offset: damaged,
        });
        this.segments.push({ first, path, bytes: size, ids: null, offsets: null, damaged });
      } else if (size === 0) {
        // An empty file (a batch a crash cut short, or all of it torn) holds nothing: not a segment.
        this.paths.fs.unlinkSync(this.paths.abs(path));
      } else this.segments.push({ first, path, bytes: size, ids: null, offsets: null });
    }
    const newest = this.segments[this.segments.length - 1];
    if (!newest) return acknowledged?.last_event_id ?? 0;
    this.indexSync(newest, repairs);
    const oldest = this.segments[0]!;
    if (oldest !== newest) this.indexSync(oldest, repairs);
    this.firstId = oldest.ids![0] ?? oldest.first;
    const last = Math.max(newest.ids![newest.ids!.length - 1] ?? 0, acknowledged?.last_event_id ?? 0);
    this.durableLast = last;
    return last;
  }

  /** What a checkpoint records once the segments are synced: their sizes and the last id. */
  checkpointRecord(): EventsCheckpoint {
    const segments: Record<string, number> = {};
    for (const segment of this.segments) segments[String(segment.first)] = segment.bytes;
    const newest = this.segments[this.segments.length - 1];
    return { segments, last_event_id: Math.max(this.durableLast, newest?.ids?.at(-1) ?? 0) };
  }

  /**
   * Cuts a torn last line, but only past the `acknowledged` bytes: a segment shorter than those,
   * or whose last line within them is not whole, is missing acknowledged events (`missingFrom`).
   */
  private repairEnd(path: string, acknowledged: number, repairs: Repairs): { size: number; missingFrom?: number } {
    const fd = this.paths.fs.openSync(this.paths.abs(path), "r+");
    try {
      let size = this.paths.fs.fstatSync(fd).size;
      if (size < acknowledged) return { size, missingFrom: size };
      if (size > 0 && readAtSync(this.paths.fs, fd, size - 1, 1)[0] !== NEWLINE) {
        const start = lineStartBeforeSync(this.paths.fs, fd, size);
        if (start < acknowledged) return { size, missingFrom: start };
        this.paths.fs.ftruncateSync(fd, start);
        repairs.repaired(path, `the last line was cut short by a crash (a torn write); cut ${size - start} bytes at byte ${start}`);
        size = start;
      }
      if (size > 0) {
        const start = lineStartBeforeSync(this.paths.fs, fd, size - 1);
        if (idOf(readAtSync(this.paths.fs, fd, start, size - 1 - start)) === null) {
          if (start < acknowledged) return { size, missingFrom: start };
          this.paths.fs.ftruncateSync(fd, start);
          repairs.repaired(path, `the last line is not an event (a torn write); cut ${size - start} bytes at byte ${start}`);
          size = start;
        }
      }
      return { size };
    } finally {
      this.paths.fs.closeSync(fd);
    }
  }

  private indexSync(segment: Segment, repairs: Repairs): void {
    const fd = this.paths.fs.openSync(this.paths.abs(segment.path), "r");
    try {
      this.fillIndex(segment, readAtSync(this.paths.fs, fd, 0, segment.bytes), repairs);
    } finally {
      this.paths.fs.closeSync(fd);
    }
  }

  private fillIndex(segment: Segment, buffer: Buffer, repairs: Repairs | null): void {
    const ids: number[] = [];
    const offsets: number[] = [];
    let skipped = 0;
    for (const [start, end] of completeLines(buffer).lines) {
      const id = idOf(buffer.subarray(start, end));
      if (id === null || (ids.length > 0 && id <= ids[ids.length - 1]!)) {
        skipped++;
        continue;
      }
      ids.push(id);
      offsets.push(start);
    }
    if (skipped > 0 && repairs) {
      repairs.add("error", "store_corrupt_events", `${segment.path}: ${skipped} lines are not readable events and are skipped`, null, {
        file: segment.path,
      });
    }
    segment.ids = ids;
    segment.offsets = offsets;
  }

  /** Plans appending `events` (in id order), starting segments and removing old ones as needed. */
  plan(events: readonly StoredEvent[], plan: BatchPlan): void {
    for (const event of events) {
      let segment = this.segments[this.segments.length - 1];
      // A damaged segment is not written to again: new events start a readable one.
      if (!segment || segment.damaged !== undefined || segment.ids!.length >= this.perSegment) {
        segment = { first: event.id, path: this.paths.segment(event.id), bytes: 0, ids: [], offsets: [] };
        this.segments.push(segment);
        this.firstId ??= event.id;
      }
      const text = lineOf(event);
      const offset = plan.append(segment.path, segment.bytes, text);
      segment.ids!.push(event.id);
      segment.offsets!.push(offset);
      segment.bytes = plan.endOf(segment.path, segment.bytes);
      plan.events.push(event);
    }
    const last = this.segments[this.segments.length - 1]?.ids?.at(-1);
    if (last === undefined) return;
    // Drop the oldest segment while the others still span maxRetained ids.
    while (this.segments.length > 1 && last - this.segments[1]!.first + 1 >= this.maxRetained) {
      plan.remove(this.segments.shift()!.path);
      this.firstId = this.segments[0]!.first;
    }
  }

  /** The batch holding `events` is durable: readers may see them now. */
  published(events: readonly StoredEvent[]): void {
    for (const event of events) this.tail.push(event);
    if (events.length > 0) this.durableLast = events[events.length - 1]!.id;
    if (this.tail.length - this.tailHead > TAIL_CAPACITY) this.tailHead = this.tail.length - TAIL_CAPACITY;
    if (this.tailHead > TAIL_CAPACITY) {
      this.tail = this.tail.slice(this.tailHead);
      this.tailHead = 0;
    }
  }

  firstRetained(): number | null {
    return this.firstId;
  }

  lastDurable(): number {
    return this.durableLast;
  }

  /** Stored events with id > after (of one worker, when given), at most `limit`. */
  async read(after: number, limit: number, worker_id?: string): Promise<StoredEvent[]> {
    if (after >= this.durableLast || limit <= 0) return [];
    const out: StoredEvent[] = [];
    const match = (event: StoredEvent) => worker_id === undefined || event.worker_ref?.worker_id === worker_id;
    const tailFirst = this.tail[this.tailHead]?.id;
    if (tailFirst !== undefined && after + 1 >= tailFirst) {
      let i = this.tailHead + lowerBound(this.tail.length - this.tailHead, (k) => this.tail[this.tailHead + k]!.id > after);
      for (; i < this.tail.length && out.length < limit; i++) {
        const event = this.tail[i]!;
        if (event.id > this.durableLast) break;
        if (match(event)) out.push(event);
      }
      return out;
    }
    const needle = worker_id === undefined ? null : Buffer.from(`"worker_id":"${worker_id}"`);
    const segments = this.segments;
    let s = Math.max(0, lowerBound(segments.length, (k) => segments[k]!.first > after + 1) - 1);
    for (; s < segments.length && out.length < limit; s++) {
      const segment = segments[s]!;
      if (segment.damaged !== undefined) throw damagedEvent(segment.path, segment.damaged);
      if (!(await this.ensureIndex(segment))) throw expired(after, this.firstId);
      const ids = segment.ids!;
      const offsets = segment.offsets!;
      let i = lowerBound(ids.length, (k) => ids[k]! > after);
      while (i < ids.length && out.length < limit && ids[i]! <= this.durableLast) {
        // Unfiltered, a read covers exactly the lines wanted; filtered, a chunk at a time.
        let j = i;
        const budget = needle ? READ_CHUNK : Infinity;
        while (j < ids.length && ids[j]! <= this.durableLast && (needle || j - i < limit - out.length)) {
          j++;
          if (needle && offsets[j - 1]! - offsets[i]! > budget) break;
        }
        const end = j < ids.length ? offsets[j]! : segment.bytes;
        const buffer = await this.readRange(segment, offsets[i]!, end - offsets[i]!, after);
        for (const [start, stop] of completeLines(buffer).lines) {
          if (out.length >= limit) break;
          const line = buffer.subarray(start, stop);
          if (needle && line.indexOf(needle) < 0) continue;
          const event = parseSealed(line.toString("utf8"), this.paths.unsealedAccepted) as StoredEvent | undefined;
          if (!event || typeof event.id !== "number") throw damagedEvent(segment.path, offsets[i]! + start);
          if (event.id <= after || event.id > this.durableLast) continue;
          if (match(event)) out.push(event);
        }
        i = j;
      }
    }
    return out;
  }

  private async readRange(segment: Segment, position: number, length: number, after: number): Promise<Buffer> {
    const waiting = this.beforeRead(segment.path, segment.bytes);
    let handle;
    try {
      handle = await this.paths.fs.promises.open(this.paths.abs(segment.path), "r");
    } catch (error) {
      if (errnoCode(error) === "ENOENT") throw expired(after, this.firstId);
      throw error;
    }
    try {
      return await readAt(withWaiting(handle, waiting), position, length);
    } finally {
      await handle.close();
    }
  }

  /** Builds a segment's index from its file on first read; false when retention removed it meanwhile. */
  private async ensureIndex(segment: Segment): Promise<boolean> {
    if (segment.ids) return true;
    const waiting = this.beforeRead(segment.path, segment.bytes);
    let handle;
    try {
      handle = await this.paths.fs.promises.open(this.paths.abs(segment.path), "r");
    } catch (error) {
      if (errnoCode(error) === "ENOENT") return false;
      throw error;
    }
    try {
      const buffer = await readAt(withWaiting(handle, waiting), 0, segment.bytes);
      if (!segment.ids) this.fillIndex(segment, buffer, null);
      return true;
    } finally {
      await handle.close();
    }
  }
}

function idOf(line: Buffer): number | null {
  const fast = leadingInteger(line, 0, line.length, ID);
  if (fast !== null) return fast;
  const value = parseSealed(line.toString("utf8"), true) as { id?: unknown } | undefined;
  return value && Number.isSafeInteger(value.id) && (value.id as number) > 0 ? (value.id as number) : null;
}

/** First index in [0, n) for which `above(index)` holds (it must be monotone), or n. */
export function lowerBound(n: number, above: (index: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (above(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function damagedEvent(path: string, offset: number): RuntimeError {
  return new RuntimeError("store_corrupt", `${path} is damaged near byte ${offset}: it does not hold the expected event`, { file: path, offset });
}

function expired(after: number, first: number | null): RuntimeError {
  return new RuntimeError("cursor_expired", `events after ${after} were pruned; the oldest retained event is ${first}`, {
    oldest_event_id: first,
  });
}
