import { closeSync, fstatSync, openSync } from "node:fs";
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
 * a later record appends behind the damaged one's bytes, so the damaged record can be stepped
 * over only when the file on disk already holds those bytes as complete, sealed records (the
 * usual case: the batch reached the files before the damage). Otherwise `take` answers null and
 * replay keeps everything from that record on aside, as for a damaged header.
 */
export class JournalIsolation {
  /** Isolated worker id → why (file and offset of the damaged record). */
  readonly isolated = new Map<string, string>();
  /** Highest event id held by what was not replayed (damaged payloads, withheld states): never handed out again. */
  withheld_event_id = 0;
  /** Journal files holding a damaged record (kept as a copy for inspection). */
  readonly damagedFiles: string[] = [];

  constructor(private readonly paths: StorePaths) {}

  /** The ops of `record` (read from `file`) to replay; null when its damage cannot be isolated. */
  take(record: JournalRecord, file: string): ReplayOp[] | null {
    const reason = record.damaged
      ? `${file} is damaged at byte ${record.offset} (store_corrupt_journal); this worker's acknowledged writes in that record were lost`
      : null;
    const out: ReplayOp[] = [];
    for (const op of record.ops) {
      const worker = this.workerOf(op);
      if (op.op === "create" || op.op === "delete") {
        if (worker !== null) this.isolated.delete(worker);
        out.push(op);
      } else if (reason !== null && op.op === "append") {
        if (worker !== null) this.isolated.set(worker, reason);
        else if (!this.stepOver(op.path, op.offset, op.data.length)) return null;
      } else if (worker !== null && this.isolated.has(worker)) {
        if (op.op === "state" && Number.isSafeInteger(op.state?.last_event_id)) this.note(op.state.last_event_id);
      } else {
        out.push(op);
      }
    }
    if (record.damaged) {
      this.note(highestEventId(record.damaged.payload));
      if (!this.damagedFiles.includes(file)) this.damagedFiles.push(file);
    }
    return out;
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
      fd = openSync(this.paths.abs(path), "r");
    } catch {
      return false;
    }
    try {
      if (fstatSync(fd).size < offset + bytes) return false;
      if (bytes === 0) return true;
      if (offset > 0 && readAtSync(fd, offset - 1, 1)[0] !== NEWLINE) return false;
      const chunk = readAtSync(fd, offset, bytes);
      const { lines, rest } = completeLines(chunk);
      if (rest !== chunk.length) return false;
      for (const [start, end] of lines) if (openLine(chunk.toString("utf8", start, end), this.paths.unsealedAccepted) === null) return false;
      this.note(highestEventId(chunk));
      return true;
    } finally {
      closeSync(fd);
    }
  }
}
