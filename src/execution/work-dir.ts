import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackendError, type RunContext } from "../core/ports/backend.ts";

/**
 * Where a profile's program runs: its configured `cwd`; else the worker's first worktree (issue 11);
 * else the store's directory of the worker; else (a store that keeps nothing on disk) a temporary
 * directory per worker, removed on `close`.
 */
export class WorkDirs {
  /** Parent of the per-worker directories when the store keeps nothing on disk; made on first use. */
  private tempRoot: Promise<string> | null = null;
  /** Directories made by `of(…, reuse)`, not made again on later runs. */
  private readonly made = new Set<string>();

  constructor(
    private readonly profile: string,
    private readonly configured: string | undefined,
    private readonly tempPrefix: string,
  ) {}

  /**
   * The directory, made if missing. With `reuse`, a directory this made before is taken as it is
   * (issue 16: a mkdir per run of a short program is a measurable part of it); a caller that finds
   * it gone after all calls `forget` and asks again.
   */
  async of(context: Pick<RunContext, "worker_ref" | "work_dir" | "workspace">, reuse = false): Promise<string> {
    const configured = this.configured;
    if (configured !== undefined) {
      const info = await stat(configured).catch(() => null);
      if (!info?.isDirectory()) {
        throw new BackendError("spawn_failed", `profiles.${this.profile}.cwd ${JSON.stringify(configured)} is not a directory`, {
          cwd: configured,
        });
      }
      return configured;
    }
    if (context.workspace !== null) return context.workspace;
    let dir = context.work_dir;
    if (dir === null) {
      this.tempRoot ??= mkdtemp(join(tmpdir(), this.tempPrefix));
      dir = join(await this.tempRoot, context.worker_ref.worker_id);
    }
    if (reuse && this.made.has(dir)) return dir;
    await mkdir(dir, { recursive: true });
    if (reuse) this.made.add(dir);
    return dir;
  }

  /** Whether `dir` was taken as made; it is made again on the next `of`. */
  forget(dir: string): boolean {
    return this.made.delete(dir);
  }

  async close(): Promise<void> {
    const root = this.tempRoot;
    this.tempRoot = null;
    this.made.clear();
    if (root) await rm(await root, { recursive: true, force: true });
  }
}
