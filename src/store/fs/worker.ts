import { Type } from "@sinclair/typebox";
import type { Run } from "../../core/schema/run.ts";
import type { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import { sealDocument } from "./sealed-line.ts";

/** A worker as the fs store tracks it. Sizes and counts cover what is written to its files. */
export interface FsWorker {
  readonly id: string;
  record: WorkerRecord | null;
  state: WorkerState | null;
  unavailable: string | null;
  /** False until its directory exists: a created worker's is made lazily (see `unmade`). */
  on_disk: boolean;
  /**
   * A created worker whose directory is not made yet: the journal holds the create, and the
   * directory is made by its first append, its first work/ use or the next checkpoint, whichever
   * comes first (issue 16: a create costs one journal line, not a directory's file creations).
   */
  unmade: { record: WorkerRecord; state: WorkerState; batch: number } | null;
  /** The making of that directory, while under way. */
  making: Promise<void> | null;
  transcript_bytes: number;
  /** Entries in transcript.jsonl: the next sequence. */
  transcript_count: number;
  runs_bytes: number;
  /** Root-relative paths of its logs (the id was checked before it got here). */
  readonly transcript_path: string;
  readonly runs_path: string;
  /** The latest run record appended: the run asked about most. */
  last_run: Run | null;
  /** Known line starts in transcript.jsonl (sequence → byte offset), so nearby reads skip the search. */
  anchors: Array<{ sequence: number; offset: number }>;
}

export function newWorker(id: string, record: WorkerRecord | null, state: WorkerState | null): FsWorker {
  return {
    id,
    record,
    state,
    unavailable: null,
    on_disk: false,
    unmade: null,
    making: null,
    transcript_bytes: 0,
    transcript_count: 0,
    runs_bytes: 0,
    transcript_path: `workers/${id}/transcript.jsonl`,
    runs_path: `workers/${id}/runs.jsonl`,
    last_run: null,
    anchors: [],
  };
}

/**
 * Where state.json's counters stand in the logs: the batch it was written after and the sizes of
 * transcript.jsonl and runs.jsonl then. Start-up reads only what lies beyond these sizes.
 */
export const Checkpoint = Type.Object({
  batch: Type.Integer({ minimum: 0 }),
  transcript_bytes: Type.Integer({ minimum: 0 }),
  runs_bytes: Type.Integer({ minimum: 0 }),
});
export interface Checkpoint {
  batch: number;
  transcript_bytes: number;
  runs_bytes: number;
}

const STATE_KEYS = ["status", "active_run_id", "transcript_items", "run_count", "last_event_id", "stopped_reason", "updated_at"] as const;

/** state.json: the WorkerState fields, plus the checkpoint that says what they cover. */
export function stateFile(state: WorkerState, checkpoint: Checkpoint): string {
  const out: Record<string, unknown> = {};
  for (const key of STATE_KEYS) out[key] = state[key];
  out.checkpoint = checkpoint;
  return sealDocument(out);
}

/** The WorkerState part of a parsed state.json, without the store's checkpoint. */
export function stateOf(value: Record<string, unknown>): WorkerState {
  const out: Record<string, unknown> = {};
  for (const key of STATE_KEYS) out[key] = value[key];
  return out as WorkerState;
}

export const recordFile = (record: WorkerRecord): string => sealDocument(record as unknown as Record<string, unknown>);

/** Remembers a line start; a few per worker are enough for paging forward and reading the tail. */
export function addAnchor(worker: FsWorker, sequence: number, offset: number): void {
  const anchors = worker.anchors;
  if (anchors.some((a) => a.sequence === sequence)) return;
  anchors.push({ sequence, offset });
  if (anchors.length > 8) anchors.shift();
}
