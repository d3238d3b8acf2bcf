import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { isValidId } from "../../core/ids.ts";
import { WorkerRecord, WorkerState } from "../../core/schema/worker.ts";
import type { WorkerState as WorkerStateType } from "../../core/schema/worker.ts";
import { firstError } from "../../core/validate.ts";
import { readJournal, type ReplayOp } from "./journal.ts";
import { readAtSync, tryParse } from "./lines.ts";
import { numberedName, type StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { createWorkerDir, moveWorkerDirAside } from "./worker-dir.ts";
import type { Checkpoint } from "./worker.ts";

export interface ReplayResult {
  /** Highest batch number found in the journal (0: none). */
  last_batch: number;
  /** Journal files replayed; the caller removes them once what they hold is durable elsewhere. */
  journals: string[];
  /** Files replay wrote to, to be synced before the journal goes. */
  written: Set<string>;
  /** Removals still running in the background. */
  removals: Promise<void>[];
  /**
   * Each worker's last journaled state, with the log sizes it covers: newer than its state.json
   * unless a checkpoint followed (the loader compares batches). Written at the next checkpoint.
   */
  states: Map<string, { state: WorkerStateType; checkpoint: Checkpoint }>;
}

interface Step {
  batch: number;
  op: ReplayOp;
}

/**
 * Finishes what the journal holds (wal/<n>.jsonl, oldest first), so the layout's files have
 * every batch that reached the journal — which is every acknowledged one — and returns each
 * worker's last journaled state (state.json is rewritten by the next checkpoint; until then the
 * journal stays). Replay is idempotent:
 * an append already present at its offset is skipped, so files written before a crash are left
 * as they are. For each worker only what follows its last create/delete is replayed (an earlier
 * incarnation's appends are moot), and nothing is appended to a file removed later in the journal.
 */
export async function replayJournal(paths: StorePaths, durable: boolean, repairs: Repairs): Promise<ReplayResult> {
  const result: ReplayResult = { last_batch: 0, journals: [], written: new Set(), removals: [], states: new Map() };
  const numbers = readdirSync(paths.abs("wal"))
    .map((name) => numberedName(name))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  const steps: Step[] = [];
  for (const [position, number] of numbers.entries()) {
    const path = paths.journal(number);
    const journal = readJournal(paths.abs(path));
    for (const record of journal.records) for (const op of record.ops) steps.push({ batch: record.batch, op });
    for (const record of journal.records) result.last_batch = Math.max(result.last_batch, record.batch);
    if (journal.torn_at !== null) {
      // The batch was being written when the process died; it was never acknowledged.
      const fd = openSync(paths.abs(path), "r+");
      ftruncateSync(fd, journal.torn_at);
      closeSync(fd);
      repairs.repaired(path, `the last batch was cut short by a crash and never acknowledged; cut ${journal.size - journal.torn_at} bytes`);
    }
    if (journal.corrupt_at !== null) {
      // Kept for inspection under names replay ignores: nothing after the damage is replayed, and
      // nothing is removed either.
      const stamp = Date.now();
      const kept = [path, ...numbers.slice(position + 1).map((n) => paths.journal(n))].map((file) => {
        renameSync(paths.abs(file), paths.abs(`${file}.unreplayed-${stamp}`));
        return `${file}.unreplayed-${stamp}`;
      });
      repairs.add(
        "error",
        "store_corrupt_journal",
        `${path} is unreadable from byte ${journal.corrupt_at}; the batches from there on were not replayed (kept as ${kept.join(", ")})`,
        null,
        { file: path, kept },
      );
      break;
    }
    result.journals.push(path);
  }
  if (steps.length === 0) return result;

  // Anything naming a worker by an invalid id is damage, not a path to follow.
  const sane = steps.filter(({ op }) => {
    const id = (op as { worker_id?: unknown }).worker_id;
    if (op.op !== "create" && op.op !== "delete" && op.op !== "state") return true;
    if (isValidId(id)) return true;
    repairs.add("error", "store_corrupt_journal", `the journal names a worker by an invalid id: ${String(id).slice(0, 200)}`, null, {});
    return false;
  });
  steps.length = 0;
  steps.push(...sane);

  const lastStructural = new Map<string, number>();
  const lastRemoval = new Map<string, number>();
  const lastState = new Map<string, number>();
  steps.forEach(({ op }, index) => {
    if (op.op === "create" || op.op === "delete") lastStructural.set(op.worker_id, index);
    else if (op.op === "remove") lastRemoval.set(op.path, index);
    else if (op.op === "state") lastState.set(op.worker_id, index);
  });
  const current = (worker_id: unknown, index: number) =>
    typeof worker_id === "string" && index >= (lastStructural.get(worker_id) ?? -1);

  let restored = 0;
  for (let index = 0; index < steps.length; index++) {
    const { batch, op } = steps[index]!;
    switch (op.op) {
      case "create": {
        if (lastStructural.get(op.worker_id) !== index || !validCreate(op)) break;
        if (matchesRecord(paths, op.worker_id, op.record)) break;
        const aside = moveWorkerDirAside(paths, op.worker_id);
        if (aside) result.removals.push(aside);
        await createWorkerDir(paths, op.record, op.state, batch, durable);
        restored++;
        break;
      }
      case "delete": {
        if (lastStructural.get(op.worker_id) !== index) break;
        paths.workerDir(op.worker_id);
        const aside = moveWorkerDirAside(paths, op.worker_id);
        if (aside) result.removals.push(aside);
        break;
      }
      case "remove": {
        if (!paths.parseTarget(op.path)) {
          repairs.add("error", "store_corrupt_journal", `the journal names a file this store never writes: ${String(op.path).slice(0, 200)}`, null, {});
          break;
        }
        if (lastRemoval.get(op.path) !== index) break;
        const target = paths.parseTarget(op.path)!;
        if (target.kind === "worker") break;
        try {
          unlinkSync(paths.abs(op.path));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
        break;
      }
      case "append": {
        const target = paths.parseTarget(op.path);
        if (!target || !Number.isSafeInteger(op.offset) || op.offset < 0) {
          repairs.add("error", "store_corrupt_journal", `the journal names a file this store never writes: ${String(op.path).slice(0, 200)}`, null, {});
          break;
        }
        if (target.kind === "worker" && !current(target.worker_id, index)) break;
        if ((lastRemoval.get(op.path) ?? -1) > index) break;
        if (target.kind === "worker" && !existsSync(paths.abs(paths.workerDir(target.worker_id)))) break;
        if (applyAppend(paths, op.path, op.offset, op.data, repairs, target.kind === "worker" ? target.worker_id : null)) restored++;
        result.written.add(op.path);
        break;
      }
      case "state":
        break;
    }
  }

  for (const [worker_id, index] of lastState) {
    const { batch, op } = steps[index]!;
    if (op.op !== "state" || !current(worker_id, index) || firstError(WorkerState, op.state) !== null) continue;
    if (!Number.isSafeInteger(op.transcript_bytes) || !Number.isSafeInteger(op.runs_bytes)) continue;
    result.states.set(worker_id, { state: op.state, checkpoint: { batch, transcript_bytes: op.transcript_bytes, runs_bytes: op.runs_bytes } });
  }
  if (restored > 0) {
    repairs.add("info", "store_recovered", `finished ${restored} writes from the journal that a crash had cut short`, null, {
      writes: restored,
    });
  }
  return result;
}

function validCreate(op: Extract<ReplayOp, { op: "create" }>): boolean {
  return firstError(WorkerRecord, op.record) === null && firstError(WorkerState, op.state) === null && op.record.worker_ref.worker_id === op.worker_id;
}

function matchesRecord(paths: StorePaths, worker_id: string, record: WorkerRecord): boolean {
  try {
    const onDisk = tryParse(readFileSync(paths.abs(paths.workerFile(worker_id, "worker.json")), "utf8"));
    return onDisk !== undefined && JSON.stringify(onDisk) === JSON.stringify(record);
  } catch {
    return false;
  }
}

/**
 * Makes `path` hold `data` at `offset`. Returns true when something had to be written: the bytes
 * were missing (lost with the crash) or differed (a torn tail, reported as store_repaired).
 */
function applyAppend(paths: StorePaths, path: string, offset: number, bytes: Buffer, repairs: Repairs, worker_id: string | null): boolean {
  const file = paths.abs(path);
  closeSync(openSync(file, "a", 0o644));
  const fd = openSync(file, "r+");
  try {
    const size = fstatSync(fd).size;
    let at = offset;
    let from = 0;
    if (size < offset) {
      repairs.repaired(path, `was shorter (${size} bytes) than a journaled write expects (${offset}); it is appended at the end`, worker_id);
      at = size;
    } else {
      const present = readAtSync(fd, offset, Math.min(bytes.length, size - offset));
      if (present.equals(bytes.subarray(0, present.length))) {
        if (present.length === bytes.length) return false;
        at = offset + present.length;
        from = present.length;
      } else {
        ftruncateSync(fd, offset);
        repairs.repaired(path, `bytes at ${offset} did not match the journal (a torn write); rewrote them from the journal`, worker_id);
      }
    }
    for (let written = from; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written, at + written - from);
    return true;
  } finally {
    closeSync(fd);
  }
}
