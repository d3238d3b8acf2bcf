import type { RemovedWorkspace, WorkerWorkspace, WorkspaceChanges, WorkspaceStatus } from "../schema/workspace.ts";

export type { RemovedWorkspace, WorkerWorkspace, WorkspaceChanges, WorkspaceStatus } from "../schema/workspace.ts";

/**
 * Workspaces (issue 11): a worker's working directories as git worktrees of configured
 * repositories. The core decides when (create, delete, open); a provider outside the core knows how.
 */

/** What a create request asks for: a configured workspace `name` at `reference` (empty: its base). */
export interface WorkspaceRequest {
  name: string;
  reference: string;
}

export interface WorkspaceProvider {
  /** The configured workspace names (never their paths). */
  readonly names: readonly string[];
  /**
   * Creates one worktree per request under `work_dir` (the store's directory for the worker, or
   * null: the provider's own), the first being the runs' cwd. All or nothing: when one fails, the
   * others are removed with their branches before this throws (`unknown_workspace`,
   * `invalid_workspace_ref`). Operations on one repository run one at a time.
   */
  create(worker_id: string, requests: readonly WorkspaceRequest[], work_dir: string | null): Promise<WorkerWorkspace[]>;
  /** Called once the worker is stored: moves the worktrees from where `create` built them into place. */
  settle(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<void>;
  /** Undoes `create` (the worker could not be stored). */
  discard(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<void>;
  /** Status from a short cache; a stale entry is refreshed, waiting at most a few tens of ms. */
  status(workspaces: readonly WorkerWorkspace[]): Promise<WorkspaceStatus[]>;
  /** Uncommitted changes, read now (null for a worktree that no longer exists). */
  changes(workspace: WorkerWorkspace): Promise<WorkspaceChanges | null>;
  /** Removes the worktrees (discarding changes) and, unless configured to keep them, their branches. */
  remove(workspaces: readonly WorkerWorkspace[]): Promise<Omit<RemovedWorkspace, "discarded">[]>;
  /**
   * On open, for every stored worker with workspaces: finishes a create that a crash cut between
   * storing the worker and moving its worktrees, and says why a worker is unusable (a worktree
   * that vanished), or null. Never recreates a vanished worktree.
   */
  recover(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<string | null>;
  /** On open: removes worktrees (and branches) of creates that a crash cut before the worker was stored. */
  sweep(known_worker_ids: ReadonlySet<string>): Promise<void>;
  close(): Promise<void>;
}
