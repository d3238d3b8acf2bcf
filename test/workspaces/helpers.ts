import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FsStore,
  MemoryStore,
  Runtime,
  builtinBackends,
  openGitWorkspaces,
  type ProfileConfig,
  type RuntimeStore,
  type WorkspaceSettings,
} from "../../src/index.ts";

const dirs: string[] = [];

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `yoi-ws-${label}-`));
  dirs.push(dir);
  return dir;
}

export function cleanTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  LC_ALL: "C",
};

/** Runs git in `dir` and returns its trimmed stdout; throws with stderr when it fails. */
export function git(dir: string, ...args: string[]): string {
  const result = Bun.spawnSync(["git", "-C", dir, ...args], { env: GIT_ENV, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

export interface TestRepo {
  dir: string;
  /** The first commit (tagged v1), the tip of `main`, the tip of branch `feature`. */
  first: string;
  main: string;
  feature: string;
}

/** A repository on `main` with two commits, a tag `v1` on the first and a branch `feature` with one more. */
export function makeRepo(files = 1): TestRepo {
  const dir = join(tempDir("repo"), "repo");
  mkdirSync(dir);
  git(dir, "init", "--quiet", "-b", "main");
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 500)}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  writeFileSync(join(dir, "README"), "one\n");
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "first");
  const first = git(dir, "rev-parse", "HEAD");
  git(dir, "tag", "v1");
  writeFileSync(join(dir, "README"), "two\n");
  git(dir, "commit", "--quiet", "-am", "second");
  const main = git(dir, "rev-parse", "HEAD");
  git(dir, "branch", "feature", first);
  git(dir, "checkout", "--quiet", "feature");
  writeFileSync(join(dir, "FEATURE"), "feature\n");
  git(dir, "add", "FEATURE");
  git(dir, "commit", "--quiet", "-m", "feature");
  const feature = git(dir, "rev-parse", "HEAD");
  git(dir, "checkout", "--quiet", "main");
  return { dir, first, main, feature };
}

/** The branches of a repository. */
export function branches(repo: string): string[] {
  return git(repo, "branch", "--format=%(refname:short)").split("\n").filter(Boolean).sort();
}

/** The worktree paths of a repository, the main checkout excluded. */
export function worktrees(repo: string): string[] {
  return git(repo, "worktree", "list", "--porcelain")
    .split("\n")
    .filter((line) => line.startsWith("worktree "))
    .map((line) => line.slice(9))
    .slice(1);
}

export interface OpenOptions {
  workspaces: Record<string, WorkspaceSettings>;
  store?: RuntimeStore;
  /** The provider's own directory (default: a new temporary one). */
  root?: string;
  profiles?: Record<string, ProfileConfig>;
  default_profile?: string;
}

export async function openWithWorkspaces(options: OpenOptions): Promise<Runtime> {
  const store = options.store ?? new MemoryStore();
  const workspaces = await openGitWorkspaces(options.workspaces, { root: options.root ?? tempDir("root") });
  return Runtime.open({
    store,
    backends: builtinBackends,
    workspaces,
    runtime_id: "rt-ws",
    profiles: options.profiles,
    default_profile: options.default_profile,
  });
}

export function fsStore(root: string): FsStore {
  return new FsStore({ root, durability: "none" });
}

export { sleep, until } from "../support/wait.ts";
