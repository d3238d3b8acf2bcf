import type { Diagnostic } from "../../core/schema/diagnostic.ts";
import type { StoredEvent } from "../../core/schema/event.ts";
import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import type { JournalOp } from "./journal.ts";
import type { FsWorker } from "./worker.ts";

interface PlannedAppend {
  offset: number;
  end: number;
  texts: string[];
  joined?: string;
}

const dataOf = (planned: PlannedAppend): string => (planned.joined ??= planned.texts.join(""));

/**
 * What one group commit will write, built synchronously from the batch's commits in call order:
 * worker directories to create or remove, appends per file (with the offset each starts at),
 * files to remove, the states to journal. Nothing touches the disk until it is applied.
 */
export class BatchPlan {
  private readonly structural: JournalOp[] = [];
  private readonly appends = new Map<string, PlannedAppend>();
  private readonly removed: string[] = [];
  /** Worker directories on disk before this batch that must go (moved aside, then removed). */
  readonly removeDirs = new Set<string>();
  /** Workers created by this batch, keyed by id; only the last incarnation of an id survives. */
  readonly created = new Map<string, { worker: FsWorker; record: WorkerRecord; state: WorkerState }>();
  readonly touched = new Set<FsWorker>();
  readonly events: StoredEvent[] = [];
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly batch: number) {}

  create(worker: FsWorker, record: WorkerRecord, state: WorkerState): void {
    this.created.set(worker.id, { worker, record, state });
    this.structural.push({ op: "create", worker_id: worker.id, record, state });
  }

  /** Forgets everything planned for `worker`; its directory goes if it was on disk before. */
  delete(worker: FsWorker, dir: string): void {
    for (const path of [...this.appends.keys()]) if (path.startsWith(`${dir}/`)) this.appends.delete(path);
    this.touched.delete(worker);
    if (this.created.get(worker.id)?.worker === worker) this.created.delete(worker.id);
    else this.removeDirs.add(worker.id);
    this.structural.push({ op: "delete", worker_id: worker.id });
  }

  /** Plans `text` at the end of `path`, whose size before this batch is `size`; returns the offset it lands at. */
  append(path: string, size: number, text: string): number {
    let planned = this.appends.get(path);
    if (!planned) {
      planned = { offset: size, end: size, texts: [] };
      this.appends.set(path, planned);
    }
    const offset = planned.end;
    planned.texts.push(text);
    planned.joined = undefined;
    planned.end += Buffer.byteLength(text);
    return offset;
  }

  /** Size `path` will have after this batch, given its size before. */
  endOf(path: string, size: number): number {
    return this.appends.get(path)?.end ?? size;
  }

  remove(path: string): void {
    this.appends.delete(path);
    this.removed.push(path);
  }

  get hasStructural(): boolean {
    return this.structural.length > 0;
  }

  /** Paths this batch appends to that were empty (or missing) before it: their directory entry may be new. */
  *startedPaths(): Iterable<string> {
    for (const [path, planned] of this.appends) if (planned.offset === 0 && planned.end > 0) yield path;
  }

  appendedPaths(): Iterable<string> {
    return this.appends.keys();
  }

  removedPaths(): readonly string[] {
    return this.removed;
  }

  /**
   * The journal record — structure first, then appends, states, removals: the order replay
   * needs — with the appended text as its payload (`bytes` long in UTF-8), and where in that
   * payload each file's bytes lie.
   */
  finish(states: JournalOp[]): { ops: JournalOp[]; payload: string[]; bytes: number; writes: Array<[string, number, number, number]> } {
    const ops: JournalOp[] = [...this.structural];
    const payload: string[] = [];
    const writes: Array<[string, number, number, number]> = [];
    let bytes = 0;
    for (const [path, planned] of this.appends) {
      const length = planned.end - planned.offset;
      if (length === 0) continue;
      ops.push({ op: "append", path, offset: planned.offset, bytes: length });
      payload.push(dataOf(planned));
      writes.push([path, bytes, length, planned.offset]);
      bytes += length;
    }
    ops.push(...states);
    for (const path of this.removed) ops.push({ op: "remove", path });
    return { ops, payload, bytes, writes };
  }
}
