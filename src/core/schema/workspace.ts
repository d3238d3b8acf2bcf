import { Type, type Static } from "@sinclair/typebox";
import { Nullable, Timestamp } from "./common.ts";

/** A worker's worktree as its record keeps it (see ports/workspaces.ts). */
export const WorkerWorkspace = Type.Object({
  name: Type.String(),
  base: Type.String(),
  base_commit: Type.String(),
  branch: Type.String(),
  path: Type.String(),
});
export type WorkerWorkspace = Static<typeof WorkerWorkspace>;

/** Uncommitted changes of a worktree: tracked files changed (staged or not), untracked files. */
export const WorkspaceChanges = Type.Object({ modified: Type.Integer({ minimum: 0 }), untracked: Type.Integer({ minimum: 0 }) });
export type WorkspaceChanges = Static<typeof WorkspaceChanges>;

/** A workspace in a worker's detail: `head`, `dirty` and `changes` come from a short cache (`checked_at`). */
export const WorkspaceStatus = Type.Object({
  name: Type.String(),
  branch: Type.String(),
  base: Type.String(),
  head: Nullable(Type.String()),
  dirty: Nullable(Type.Boolean()),
  changes: Nullable(WorkspaceChanges),
  checked_at: Nullable(Timestamp),
});
export type WorkspaceStatus = Static<typeof WorkspaceStatus>;

/** What a delete did with a workspace: the worktree is gone; the branch may be kept. */
export const RemovedWorkspace = Type.Object({
  name: Type.String(),
  branch: Type.String(),
  branch_kept: Type.Boolean(),
  discarded: WorkspaceChanges,
});
export type RemovedWorkspace = Static<typeof RemovedWorkspace>;
