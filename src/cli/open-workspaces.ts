import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResolvedConfig } from "../config/resolved.ts";
import type { RuntimeLogger } from "../core/ports/logger.ts";
import type { WorkspaceProvider } from "../core/ports/workspaces.ts";
import { openGitWorkspaces } from "../execution/workspaces/git-workspaces.ts";

/**
 * The provider for `[workspaces.<name>]`, or undefined when none are configured. Its own files
 * live beside the fs store's (`<root>/workspaces`), or in a temporary directory for the memory
 * store, whose workers (and so their worktrees) end with the process. Fails `invalid_request`
 * naming the key when a repository is missing or not a git repository.
 */
export async function openWorkspaces(config: ResolvedConfig, logger: RuntimeLogger): Promise<WorkspaceProvider | undefined> {
  if (Object.keys(config.workspaces).length === 0) return undefined;
  const ephemeral = config.store.kind === "memory";
  const root = ephemeral ? mkdtempSync(join(tmpdir(), "yoi-workspaces-")) : join(config.store.root, "workspaces");
  return openGitWorkspaces(config.workspaces, { root, log: logger, ephemeral });
}
