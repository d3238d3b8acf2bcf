import { existsSync, mkdirSync, realpathSync, rmdirSync, statSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { RuntimeError } from "../../core/errors.ts";
import type {
  RemovedWorkspace,
  WorkerWorkspace,
  WorkspaceChanges,
  WorkspaceProvider,
  WorkspaceRequest,
  WorkspaceStatus,
} from "../../core/ports/workspaces.ts";
import { SILENT_LOGGER, type RuntimeLogger } from "../../core/ports/logger.ts";
import { ProgramNotFound } from "../../platform/run-program.ts";
import { firstLine, git, GitError, parseStatus, parseWorktreeList } from "./git.ts";
import { SerialQueue } from "./serial-queue.ts";

/** `[workspaces.<name>]` (issue 11). */
export interface WorkspaceSettings {
  /** Path of an existing (non-bare) git repository. */
  repo: string;
  /** Ref new worktrees start from when a request names none; default: the repository's current branch. */
  base?: string;
  /** Branch of a worker's worktree: `<branch_prefix><worker_id>`. Default `yoi/`. */
  branch_prefix?: string;
  /** Whether deleting a worker keeps its branch. Default true. */
  keep_branch_on_delete?: boolean;
}

export const DEFAULT_BRANCH_PREFIX = "yoi/";
/** How long a worktree's status is answered from the cache before it is read again. */
const STATUS_TTL_MS = 1_000;
/** How long a request waits for a refresh before answering with what the cache holds. */
const STATUS_WAIT_MS = 50;

interface Workspace {
  name: string;
  repo: string;
  base: string;
  branch_prefix: string;
  keep_branch_on_delete: boolean;
}

interface CachedStatus {
  head: string | null;
  changes: WorkspaceChanges | null;
  checked_at: number | null;
  refreshing: Promise<void> | null;
}

export interface GitWorkspacesOptions {
  /**
   * A directory of the provider's own: worktrees are built under `<root>/staging/` until their
   * worker is stored, and live under `<root>/workers/` when the store keeps no directory per worker.
   */
  root: string;
  log?: RuntimeLogger;
  /**
   * The store keeps no worker past the process (memory): `close` removes every worktree, and
   * the root, as if each worker were deleted (branches kept per `keep_branch_on_delete`).
   */
  ephemeral?: boolean;
}

/**
 * Checks every `[workspaces.<name>]` (the repository exists and is a git work tree, the base
 * resolves) and returns the provider. Fails `invalid_request` naming the key.
 */
export async function openGitWorkspaces(settings: Record<string, WorkspaceSettings>, options: GitWorkspacesOptions): Promise<GitWorkspaces> {
  const workspaces = new Map<string, Workspace>();
  for (const [name, table] of Object.entries(settings)) {
    const key = `workspaces.${name}`;
    const repo = resolve(table.repo);
    if (!existsSync(repo) || !statSync(repo).isDirectory()) {
      throw new RuntimeError("invalid_request", `${key}.repo: ${repo} does not exist or is not a directory`);
    }
    let top: string;
    try {
      top = (await git(repo, ["rev-parse", "--show-toplevel"])).trim();
    } catch (error) {
      if (error instanceof ProgramNotFound) throw new RuntimeError("invalid_request", `${key}: workspaces need the git executable on PATH`);
      throw new RuntimeError("invalid_request", `${key}.repo: ${repo} is not a git repository (${reasonOf(error)})`);
    }
    let base = table.base;
    if (base === undefined) {
      base = (await git(top, ["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(() => "")).trim();
      if (base === "") base = (await git(top, ["rev-parse", "HEAD"]).catch(() => "")).trim();
      if (base === "") throw new RuntimeError("invalid_request", `${key}.repo: ${repo} has no commit to start worktrees from`);
    } else {
      await resolveCommit(top, base).catch((error) => {
        throw new RuntimeError("invalid_request", `${key}.base: ${JSON.stringify(base)} does not resolve to a commit (${reasonOf(error)})`);
      });
    }
    workspaces.set(name, {
      name,
      repo: realpathSync(top),
      base,
      branch_prefix: table.branch_prefix ?? DEFAULT_BRANCH_PREFIX,
      keep_branch_on_delete: table.keep_branch_on_delete ?? true,
    });
  }
  mkdirSync(options.root, { recursive: true });
  return new GitWorkspaces(workspaces, realpathSync(options.root), options.log ?? SILENT_LOGGER, options.ephemeral ?? false);
}

/** Workspaces as git worktrees, made and removed with the `git` executable. */
export class GitWorkspaces implements WorkspaceProvider {
  readonly names: readonly string[];
  /** git takes a lock per repository for worktree operations: ours wait their turn instead of failing. */
  private readonly queues = new Map<string, SerialQueue>();
  private readonly cache = new Map<string, CachedStatus>();

  constructor(
    private readonly workspaces: Map<string, Workspace>,
    private readonly root: string,
    private readonly log: RuntimeLogger,
    private readonly ephemeral: boolean,
  ) {
    this.names = [...workspaces.keys()].sort();
  }

  async create(worker_id: string, requests: readonly WorkspaceRequest[], work_dir: string | null): Promise<WorkerWorkspace[]> {
    const chosen = requests.map((request) => ({ request, workspace: this.workspace(request.name) }));
    const names = new Set<string>();
    for (const { request } of chosen) {
      if (names.has(request.name)) {
        throw new RuntimeError("invalid_request", `workspace_refs names "${request.name}" twice`, { name: request.name });
      }
      names.add(request.name);
    }
    const dir = work_dir ?? join(this.root, "workers", worker_id, "work");
    const made: WorkerWorkspace[] = [];
    try {
      for (const { request, workspace } of chosen) {
        const base = request.reference === "" ? workspace.base : request.reference;
        const path = chosen.length === 1 ? dir : join(dir, workspace.name);
        const branch = `${workspace.branch_prefix}${worker_id}`;
        const staging = this.stagingPath(worker_id, workspace.name);
        await this.queue(workspace.repo).run(async () => {
          const base_commit = await resolveCommit(workspace.repo, base).catch((error) => {
            throw refError(workspace.name, base, error);
          });
          mkdirSync(join(this.root, "staging", worker_id), { recursive: true });
          await git(workspace.repo, ["worktree", "add", "--quiet", "-b", branch, staging, base_commit]).catch((error) => {
            throw refError(workspace.name, base, error);
          });
          made.push({ name: workspace.name, base, base_commit, branch, path });
        });
      }
    } catch (error) {
      await this.discard(worker_id, made);
      throw error;
    }
    return made;
  }

  async settle(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<void> {
    for (const ws of workspaces) {
      const workspace = this.workspace(ws.name);
      await this.queue(workspace.repo).run(() => this.moveIntoPlace(worker_id, workspace, ws));
      this.cache.set(ws.path, { head: ws.base_commit, changes: { modified: 0, untracked: 0 }, checked_at: Date.now(), refreshing: null });
    }
    await rm(join(this.root, "staging", worker_id), { recursive: true, force: true });
  }

  async discard(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<void> {
    for (const ws of workspaces) {
      const workspace = this.workspace(ws.name);
      await this.queue(workspace.repo).run(async () => {
        await this.removeWorktree(workspace.repo, this.stagingPath(worker_id, ws.name));
        await this.removeWorktree(workspace.repo, ws.path);
        await git(workspace.repo, ["branch", "-D", ws.branch]).catch((error) => this.log.warn("could not delete a branch", { branch: ws.branch, error: reasonOf(error) }));
      });
    }
    await rm(join(this.root, "staging", worker_id), { recursive: true, force: true });
  }

  async status(workspaces: readonly WorkerWorkspace[]): Promise<WorkspaceStatus[]> {
    const pending = workspaces.map((ws) => this.fresh(ws.path));
    if (pending.some((p) => p !== null)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, STATUS_WAIT_MS)));
      await Promise.race([Promise.all(pending), waited]);
      clearTimeout(timer);
    }
    return workspaces.map((ws) => {
      const cached = this.cache.get(ws.path);
      const changes = cached?.changes ?? null;
      return {
        name: ws.name,
        branch: ws.branch,
        base: ws.base,
        head: cached?.head ?? null,
        dirty: changes === null ? null : changes.modified + changes.untracked > 0,
        changes,
        checked_at: cached?.checked_at == null ? null : new Date(cached.checked_at).toISOString(),
      };
    });
  }

  async changes(workspace: WorkerWorkspace): Promise<WorkspaceChanges | null> {
    if (!existsSync(workspace.path)) return null;
    const { changes } = parseStatus(await git(workspace.path, ["status", "--porcelain=v2", "--branch"]));
    return changes;
  }

  async remove(workspaces: readonly WorkerWorkspace[]): Promise<Omit<RemovedWorkspace, "discarded">[]> {
    const removed: Omit<RemovedWorkspace, "discarded">[] = [];
    for (const ws of workspaces) {
      const workspace = this.workspaces.get(ws.name);
      if (!workspace) {
        // No longer configured: the runtime cannot find its repository; the files are the store's to remove.
        removed.push({ name: ws.name, branch: ws.branch, branch_kept: true });
        continue;
      }
      await this.queue(workspace.repo).run(async () => {
        await this.removeWorktree(workspace.repo, ws.path);
        let kept = workspace.keep_branch_on_delete;
        if (!kept) {
          await git(workspace.repo, ["branch", "-D", ws.branch]).catch((error) => {
            kept = true;
            this.log.warn("could not delete a worker's branch", { branch: ws.branch, error: reasonOf(error) });
          });
        }
        removed.push({ name: ws.name, branch: ws.branch, branch_kept: kept });
      });
      this.cache.delete(ws.path);
    }
    return removed;
  }

  async recover(worker_id: string, workspaces: readonly WorkerWorkspace[]): Promise<string | null> {
    for (const ws of workspaces) {
      if (existsSync(ws.path) && existsSync(join(ws.path, ".git"))) continue;
      const workspace = this.workspaces.get(ws.name);
      if (!workspace) return `workspace "${ws.name}" is no longer configured and its worktree is missing`;
      if (existsSync(this.stagingPath(worker_id, ws.name))) {
        // The worker was stored but a crash came before its worktree was moved into place: finish it.
        await this.queue(workspace.repo).run(() => this.moveIntoPlace(worker_id, workspace, ws));
        continue;
      }
      return `the worktree of workspace "${ws.name}" (branch ${ws.branch}) was removed while the runtime was down; it is not recreated (delete this worker; the branch is kept)`;
    }
    await rm(join(this.root, "staging", worker_id), { recursive: true, force: true });
    // Read in the background so the first request after a start finds the cache warm.
    for (const ws of workspaces) void this.fresh(ws.path);
    return null;
  }

  sweep(known_worker_ids: ReadonlySet<string>): Promise<void> {
    return this.removeOwnedWorktrees(known_worker_ids, false);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.idle()));
    if (this.ephemeral) {
      await this.removeOwnedWorktrees(new Set(), true);
      await rm(this.root, { recursive: true, force: true });
    }
  }

  /**
   * Removes the worktrees under our root whose worker is not in `known`: branches too, unless
   * `asDeleted` and the workspace keeps branches of deleted workers (a create cut short made no
   * work worth a branch).
   */
  private async removeOwnedWorktrees(known_worker_ids: ReadonlySet<string>, asDeleted: boolean): Promise<void> {
    const repos = new Map<string, Workspace[]>();
    for (const workspace of this.workspaces.values()) repos.set(workspace.repo, [...(repos.get(workspace.repo) ?? []), workspace]);
    for (const [repo, workspaces] of repos) {
      await this.queue(repo).run(async () => {
        await git(repo, ["worktree", "prune"]);
        for (const worktree of parseWorktreeList(await git(repo, ["worktree", "list", "--porcelain"]))) {
          const owner = this.ownerOf(worktree.path);
          if (owner === null || known_worker_ids.has(owner)) continue;
          await this.removeWorktree(repo, worktree.path);
          const branch = worktree.branch;
          const workspace = workspaces.find((ws) => branch === `${ws.branch_prefix}${owner}`);
          if (branch !== null && workspace && !(asDeleted && workspace.keep_branch_on_delete)) {
            await git(repo, ["branch", "-D", branch]).catch(() => {});
          }
          if (!asDeleted) this.log.info("removed the worktree of a worker that does not exist (a create cut short)", { worker_id: owner, branch });
        }
      });
    }
    for (const area of ["staging", "workers"]) {
      const dir = join(this.root, area);
      const ids = await readdir(dir).catch(() => [] as string[]);
      for (const id of ids) if (!known_worker_ids.has(id)) await rm(join(dir, id), { recursive: true, force: true });
    }
  }

  // ---------------------------------------------------------------- internals

  private workspace(name: string): Workspace {
    const workspace = this.workspaces.get(name);
    if (!workspace) {
      const known = this.names.length > 0 ? this.names.join(", ") : "none";
      throw new RuntimeError("unknown_workspace", `no workspace "${name}" is configured (configured: ${known})`, { name });
    }
    return workspace;
  }

  private queue(repo: string): SerialQueue {
    let queue = this.queues.get(repo);
    if (!queue) this.queues.set(repo, (queue = new SerialQueue()));
    return queue;
  }

  private stagingPath(worker_id: string, name: string): string {
    return join(this.root, "staging", worker_id, name);
  }

  /** The worker a worktree under our root belongs to, or null for any other worktree. */
  private ownerOf(path: string): string | null {
    if (!path.startsWith(this.root + sep)) return null;
    const [area, id] = path.slice(this.root.length + 1).split(sep);
    return (area === "staging" || area === "workers") && id ? id : null;
  }

  private async moveIntoPlace(worker_id: string, workspace: Workspace, ws: WorkerWorkspace): Promise<void> {
    const staging = this.stagingPath(worker_id, workspace.name);
    if (!existsSync(staging)) return;
    // The store made the worker's (empty) work directory; the worktree takes its place.
    if (existsSync(ws.path)) rmdirSync(ws.path);
    mkdirSync(join(ws.path, ".."), { recursive: true });
    await git(workspace.repo, ["worktree", "move", staging, ws.path]);
  }

  private async removeWorktree(repo: string, path: string): Promise<void> {
    if (existsSync(path)) {
      await git(repo, ["worktree", "remove", "--force", "--force", path]).catch(async (error) => {
        // Not (or no longer) a worktree of this repository: only the directory is left.
        this.log.debug("git worktree remove failed; removing the directory", { error: reasonOf(error) });
        await rm(path, { recursive: true, force: true });
      });
    }
    await git(repo, ["worktree", "prune"]);
  }

  /** Starts a refresh of a stale entry and returns it, or null when the cache is fresh. */
  private fresh(path: string): Promise<void> | null {
    let cached = this.cache.get(path);
    if (!cached) this.cache.set(path, (cached = { head: null, changes: null, checked_at: null, refreshing: null }));
    if (cached.refreshing) return cached.refreshing;
    if (cached.checked_at !== null && Date.now() - cached.checked_at < STATUS_TTL_MS) return null;
    const entry = cached;
    entry.refreshing = git(path, ["status", "--porcelain=v2", "--branch"])
      .then(
        (output) => {
          const { head, changes } = parseStatus(output);
          entry.head = head;
          entry.changes = changes;
        },
        () => {
          entry.head = null;
          entry.changes = null;
        },
      )
      .finally(() => {
        entry.checked_at = Date.now();
        entry.refreshing = null;
      });
    return entry.refreshing;
  }
}

async function resolveCommit(repo: string, ref: string): Promise<string> {
  if (ref.startsWith("-")) throw new GitError(["rev-parse"], `fatal: invalid reference: ${ref}`);
  return (await git(repo, ["rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`])).trim();
}

function refError(name: string, reference: string, error: unknown): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const reason = reasonOf(error);
  return new RuntimeError("invalid_workspace_ref", `workspace "${name}": cannot make a worktree at ${JSON.stringify(reference)}: ${reason}`, {
    name,
    reference,
    reason,
  });
}

function reasonOf(error: unknown): string {
  if (error instanceof GitError) return error.reason;
  return firstLine(error instanceof Error ? error.message : String(error));
}
