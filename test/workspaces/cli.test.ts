import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanScratch, runCli, scratchDir, startServer } from "../cli/helpers.ts";
import { branches, cleanTempDirs, makeRepo, worktrees } from "./helpers.ts";

afterAll(() => {
  cleanScratch();
  cleanTempDirs();
});

function configIn(dir: string, toml: string): void {
  writeFileSync(join(dir, "c.toml"), toml);
}

describe("workspaces from the command line (issue 11)", () => {
  test("a workspace whose repo is missing, or not a git repository, stops start-up with exit 2 naming the key", async () => {
    const cwd = scratchDir();
    configIn(cwd, `[workspaces.app]\nrepo = "nowhere"\n`);
    const missing = await runCli(["serve", "--store", "memory", "--bind", "127.0.0.1:0", "--config", "c.toml"], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("workspaces.app.repo");
    mkdirSync(join(cwd, "plain"));
    configIn(cwd, `[workspaces.app]\nrepo = "plain"\n`);
    const plain = await runCli(["serve", "--store", "memory", "--bind", "127.0.0.1:0", "--config", "c.toml"], { cwd });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("workspaces.app.repo");
    expect(plain.stderr).toContain("not a git repository");
  });

  test("serve, workers create --workspace name:ref, workers show prints it, workers delete --force", async () => {
    const repo = makeRepo();
    const cwd = scratchDir();
    configIn(cwd, `[workspaces.app]\nrepo = ${JSON.stringify(repo.dir)}\nkeep_branch_on_delete = false\n`);
    const server = await startServer(["--store", "fs", "--data-dir", "data", "--config", "c.toml"], { cwd });
    try {
      const url = ["--url", server.url];
      const created = await runCli(["workers", "create", "--id", "cli1", "--workspace", "app:v1", ...url]);
      expect(created.stderr).toBe("");
      expect(created.stdout.trim()).toBe("cli1");
      expect(worktrees(repo.dir)).toHaveLength(1);
      const shown = await runCli(["workers", "show", "cli1", ...url]);
      expect(shown.stdout).toMatch(new RegExp(`workspace app\\s+yoi/cli1 from v1 at ${repo.first.slice(0, 12)}, clean`));
      const bad = await runCli(["workers", "create", "--workspace", "app:nope", ...url]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("invalid_workspace_ref");
      writeFileSync(join(worktrees(repo.dir)[0]!, "wip"), "x");
      const refused = await runCli(["workers", "delete", "cli1", ...url]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain("workspace_dirty");
      const forced = await runCli(["workers", "delete", "cli1", "--force", ...url]);
      expect(forced.code).toBe(0);
      expect(forced.stdout.trim()).toBe("cli1 deleted");
      expect(worktrees(repo.dir)).toEqual([]);
      expect(branches(repo.dir)).toEqual(["feature", "main"]);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
});
