import { activeOf, transition, type RunMove } from "./run-state.ts";
import type { RuntimeSummary } from "./schema/runtime.ts";
import { workerStatus, type ActiveRun, type LoadedWorker, type WorkerEntry } from "./worker-entry.ts";

type Tally = RuntimeSummary["workers"] & { active_runs: number };

/**
 * The runtime's workers by id, with their counts by status and of active runs kept as they
 * change, so the summary a Backend polls costs the same with 10 workers or 10,000. The counts
 * follow every way an entry comes and goes (`set`, `delete`, `clear`: create, delete, restore
 * from the store, a worker becoming unavailable) and every status change, which goes through
 * `move` — the one caller of `transition`. An entry no longer in the table (a create rolled back,
 * a deleted worker whose run still ends) moves without being counted.
 */
export class WorkerTable extends Map<string, WorkerEntry> {
  private readonly tally: Tally = { total: 0, idle: 0, running: 0, stopped: 0, unavailable: 0, active_runs: 0 };

  override set(worker_id: string, entry: WorkerEntry): this {
    const previous = super.get(worker_id);
    if (previous !== undefined) this.count(previous, -1);
    super.set(worker_id, entry);
    this.count(entry, 1);
    return this;
  }

  override delete(worker_id: string): boolean {
    const previous = super.get(worker_id);
    if (previous === undefined) return false;
    this.count(previous, -1);
    return super.delete(worker_id);
  }

  override clear(): void {
    super.clear();
    for (const key of Object.keys(this.tally) as (keyof Tally)[]) this.tally[key] = 0;
  }

  /** Moves a worker through the §5 state machine (`transition`), keeping the counts. */
  move(entry: LoadedWorker, move: RunMove<ActiveRun>): void {
    const counted = super.get(entry.id) === entry;
    if (counted) this.count(entry, -1);
    try {
      entry.run = transition(entry.run, move);
    } finally {
      if (counted) this.count(entry, 1);
    }
  }

  /** The workers by status and the number of active runs, as of now (a copy). */
  counts(): { workers: RuntimeSummary["workers"]; active_runs: number } {
    const { total, idle, running, stopped, unavailable, active_runs } = this.tally;
    return { workers: { total, idle, running, stopped, unavailable }, active_runs };
  }

  private count(entry: WorkerEntry, by: 1 | -1): void {
    this.tally.total += by;
    this.tally[workerStatus(entry)] += by;
    if (entry.kind === "loaded" && activeOf(entry.run) !== null) this.tally.active_runs += by;
  }
}
