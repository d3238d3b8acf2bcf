import { environment } from "../../platform/environment.ts";
import { runProgram } from "../../platform/run-program.ts";
import type { WorkspaceChanges } from "../../core/ports/workspaces.ts";

/** Thrown when git exits non-zero; `reason` is git's own first line (e.g. "fatal: invalid reference: x"). */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly reason: string,
  ) {
    super(`git ${args.join(" ")}: ${reason}`);
    this.name = "GitError";
  }
}

/**
 * Runs `git -C dir args…` and returns its stdout. Messages in English (LC_ALL=C) so they read the
 * same in every log; never prompts (a worktree operation must not wait for a terminal).
 */
export async function git(dir: string, args: readonly string[]): Promise<string> {
  const env = { ...environment(), LC_ALL: "C", GIT_TERMINAL_PROMPT: "0" };
  const result = await runProgram(["git", "-C", dir, ...args], { env });
  if (result.code !== 0) throw new GitError(args, firstLine(result.stderr) || `exited with status ${result.code}`);
  return result.stdout;
}

export function firstLine(text: string): string {
  return text.split("\n").find((line) => line.trim().length > 0)?.trim() ?? "";
}

/** HEAD and uncommitted changes, from `git status --porcelain=v2 --branch`. */
export function parseStatus(output: string): { head: string | null; changes: WorkspaceChanges } {
  let head: string | null = null;
  let modified = 0;
  let untracked = 0;
  for (const line of output.split("\n")) {
    if (line.startsWith("# branch.oid ")) {
      const oid = line.slice(13).trim();
      head = oid === "(initial)" ? null : oid;
    } else if (line.startsWith("1 ") || line.startsWith("2 ") || line.startsWith("u ")) modified++;
    else if (line.startsWith("? ")) untracked++;
  }
  return { head, changes: { modified, untracked } };
}

/** The worktrees of a repository with their checked-out branch, from `git worktree list --porcelain`. */
export function parseWorktreeList(output: string): { path: string; branch: string | null }[] {
  const list: { path: string; branch: string | null }[] = [];
  for (const block of output.split("\n\n")) {
    let path: string | null = null;
    let branch: string | null = null;
    for (const line of block.split("\n")) {
      if (line.startsWith("worktree ")) path = line.slice(9);
      else if (line.startsWith("branch refs/heads/")) branch = line.slice(18);
    }
    if (path !== null) list.push({ path, branch });
  }
  return list;
}
