import { highestEventId, type JournalRecord, type ReplayOp } from "./journal.ts";
import { completeLines, NEWLINE, readAtSync } from "./lines.ts";
import type { StorePaths } from "./paths.ts";
import { openLine } from "./sealed-line.ts";

/**
 * Replay's rule for journal records whose payload is damaged but whose sealed header is intact
 * (issue 12, "isolation, not loss"). The header names every op, so it says whose writes were
 * lost: the workers with an append in that record. Only they are isolated (made unavailable);
 * every other op of the record — creates, deletes, states, removals — carries no payload and is
 * replayed as written, and so is every later record of the other workers. That is safe because
 * a later record never depends on an earlier one of another worker: each `state` op carries a
 * worker's whole state and log sizes, appends name their own offsets, creates carry the record.
 *
 * An isolated worker stays isolated for the rest of the journal — its later records are withheld
 * (they would build on the lost bytes) — until a later create or delete of that id, which does
 * not depend on what came before. Runtime-wide files (event segments, diagnostics) are shared:
 * a later record appends behind the damaged one's bytes. When the file on disk already holds
 * those bytes as complete, sealed records (the batch reached the files before the damage), they
 * stay; otherwise the file is cut where they started and later appends to it land that many
 * bytes earlier (a `truncate` step, then shifted offsets): the lost records are simply absent,
 * as events pruned or lost are, and their ids are never handed out again (`withheld_event_id`).
 */
/** A replay-only step: cut the file at `offset` (the damaged record's bytes and anything after). */
export interface TruncateOp {
  op: "truncate";
  path: string;
  offset: number;
}

export class JournalIsolation {
  /** Isolated worker id → why (file and offset of the damaged record). */
  readonly isolated = new Map<string, string>();
  /** Highest event id held by what was not replayed (damaged payloads, withheld states): never handed out again. */
  withheld_event_id = 0;
  /** Journal files holding a damaged record → the records' offsets (a copy is kept for inspection). */
  readonly damagedFiles = new Map<string, number[]>();
  /** Per runtime-wide file, the damaged ranges cut from it: later offsets move down by their lengths. */
  private readonly cuts = new Map<string, Array<{ from: number; bytes: number }>>();
  /** Highest event id of the records read so far: ids in a damaged record follow it. */
  private seen_event_id = 0;

  constructor(private readonly paths: StorePaths) {}

  /** The ops of `record` (read from `file`) to replay; null when its damage cannot be isolated. */
  take(record: JournalRecord, file: string): Array<ReplayOp | TruncateOp> | null {
    const reason = record.damaged
      ? `${file} is damaged at byte ${record.offset} (store_corrupt_journal); this worker's acknowledged writes in that record were lost`
      : null;
    const out: Array<ReplayOp | TruncateOp> = [];
    for (const op of record.ops) {
      const worker = this.workerOf(op);
      if (op.op === "create" || op.op === "delete") {
        if (worker !== null) this.isolated.delete(worker);
        out.push(op);
      } else if (reason !== null && op.op === "append") {
        if (worker !== null) this.isolated.set(worker, reason);
        else if (!this.paths.parseTarget(op.path) || !Number.isSafeInteger(op.offset) || op.offset < 0) return null;
        else if (!this.stepOver(op.path, this.shifted(op.path, op.offset), op.data.length)) {
          out.push({ op: "truncate", path: op.path, offset: this.shifted(op.path, op.offset) });
          this.cut(op.path, op.offset, op.data.length);
          this.noteLostEvents(op.path, this.shifted(op.path, op.offset), op.data.length);
        }
      } else if (worker !== null && this.isolated.has(worker)) {
        if (op.op === "state" && Number.isSafeInteger(op.state?.last_event_id)) this.note(op.state.last_event_id);
      } else if (op.op === "append") {
        out.push(this.cuts.has(op.path) ? { ...op, offset: this.shifted(op.path, op.offset) } : op);
        if (worker === null) this.seen_event_id = Math.max(this.seen_event_id, highestEventId(op.data));
      } else {
        if (op.op === "remove") this.cuts.delete(op.path);
        if (op.op === "state" && Number.isSafeInteger(op.state?.last_event_id)) this.seen_event_id = Math.max(this.seen_event_id, op.state.last_event_id);
        out.push(op);
      }
    }
    if (record.damaged) {
      for (const op of record.ops) if (op.op === "state" && Number.isSafeInteger(op.state?.last_event_id)) this.note(op.state.last_event_id);
      this.note(highestEventId(record.damaged.payload));
      this.damagedFiles.set(file, [...(this.damagedFiles.get(file) ?? []), record.offset]);
    }
    return out;
  }

  /** Where an append journaled at `offset` lands once the damaged ranges before it are cut out. */
  private shifted(path: string, offset: number): number {
    let at = offset;
    for (const cut of this.cuts.get(path) ?? []) if (cut.from < offset) at -= cut.bytes;
    return at;
  }

  private cut(path: string, from: number, bytes: number): void {
    const cuts = this.cuts.get(path) ?? [];
    cuts.push({ from, bytes });
    this.cuts.set(path, cuts);
  }

  /**
   * Events lost from a segment: ids run on from the segment's first id and the lines before
   * `offset`, one per event, and each event line takes more than one byte: `bytes` more ids is
   * an upper bound for them, whatever the damage did to their text.
   */
  private noteLostEvents(path: string, offset: number, bytes: number): void {
    const target = this.paths.parseTarget(path);
    if (target?.kind !== "events") return;
    let before = Math.max(this.seen_event_id, target.first - 1);
    try {
      const fd = this.paths.fs.openSync(this.paths.abs(path), "r");
      try {
        before = Math.max(before, highestEventId(readAtSync(this.paths.fs, fd, 0, Math.min(offset, this.paths.fs.fstatSync(fd).size))));
      } finally {
        this.paths.fs.closeSync(fd);
      }
    } catch {
      // No file: the segment's first id bounds what came before.
    }
    this.note(before + bytes);
  }

  private note(event_id: number): void {
    this.withheld_event_id = Math.max(this.withheld_event_id, event_id);
  }

  /** The worker an op belongs to; null for runtime-wide files (and paths this store never writes). */
  private workerOf(op: ReplayOp): string | null {
    if (op.op === "append" || op.op === "remove") {
      const target = this.paths.parseTarget(op.path);
      return target?.kind === "worker" ? target.worker_id : null;
    }
    return typeof op.worker_id === "string" ? op.worker_id : null;
  }

  /**
   * True when the runtime-wide file at `path` already holds `bytes` bytes at `offset` as complete
   * records whose seals check out (what the damaged record appended there); their event ids count.
   */
  private stepOver(path: string, offset: number, bytes: number): boolean {
    const target = this.paths.parseTarget(path);
    if (!target || target.kind === "worker" || !Number.isSafeInteger(offset) || offset < 0) return false;
    let fd: number;
    try {
      fd = this.paths.fs.openSync(this.paths.abs(path), "r");
    } catch {
      return false;
    }
    try {
      if (this.paths.fs.fstatSync(fd).size < offset + bytes) return false;
      if (bytes === 0) return true;
      if (offset > 0 && readAtSync(this.paths.fs, fd, offset - 1, 1)[0] !== NEWLINE) return false;
      const chunk = readAtSync(this.paths.fs, fd, offset, bytes);
      const { lines, rest } = completeLines(chunk);
      if (rest !== chunk.length) return false;
      for (const [start, end] of lines) if (openLine(chunk.toString("utf8", start, end), this.paths.unsealedAccepted) === null) return false;
      this.note(highestEventId(chunk));
      return true;
    } finally {
      this.paths.fs.closeSync(fd);
    }
  }
}
