import type { Run } from "../../core/schema/run.ts";

const CAPACITY = 4096;

/**
 * Runs read back from runs.jsonl, least recently used dropped first, so asking about a run twice
 * reads its file once. Kept current by commits: a run already cached is replaced by its newer record.
 */
export class RunCache {
  private readonly runs = new Map<string, Run>();

  get(worker_id: string, run_id: string): Run | undefined {
    return this.runs.get(`${worker_id}/${run_id}`);
  }

  put(worker_id: string, run: Run): void {
    const key = `${worker_id}/${run.run_id}`;
    this.runs.delete(key);
    this.runs.set(key, run);
    if (this.runs.size > CAPACITY) this.runs.delete(this.runs.keys().next().value!);
  }

  /** A newer record of `run`: replaces the cached one, if that run is cached at all. */
  update(worker_id: string, run: Run): void {
    if (this.runs.size > 0 && this.runs.has(`${worker_id}/${run.run_id}`)) this.put(worker_id, run);
  }

  forgetWorker(worker_id: string): void {
    for (const key of [...this.runs.keys()]) if (key.startsWith(`${worker_id}/`)) this.runs.delete(key);
  }
}
