import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectCode } from "../core/helpers.ts";
import { branches, cleanTempDirs, fsStore, git, makeRepo, openWithWorkspaces, tempDir, until, worktrees } from "./helpers.ts";

afterAll(cleanTempDirs);

describe("workspaces: materialisation at create (issue 11)", () => {
  test("a worktree on the base, a branch, a tag and a commit; the detail shows branch, base and HEAD", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } } });
    const cases = [
      { id: "on-base", reference: "", base: "main", head: repo.main },
      { id: "on-branch", reference: "feature", base: "feature", head: repo.feature },
      { id: "on-tag", reference: "v1", base: "v1", head: repo.first },
      { id: "on-sha", reference: repo.first, base: repo.first, head: repo.first },
    ];
    for (const c of cases) {
      const worker = await runtime.createWorker({ worker_id: c.id, workspace_refs: [{ name: "app", reference: c.reference }] });
      expect(worker.workspaces).toHaveLength(1);
      const [ws] = worker.workspaces!;
      expect(ws!.name).toBe("app");
      expect(ws!.branch).toBe(`yoi/${c.id}`);
      expect(ws!.base).toBe(c.base);
      expect(ws!.head).toBe(c.head);
      expect(ws!.dirty).toBe(false);
    }
    expect(branches(repo.dir)).toEqual(["feature", "main", "yoi/on-base", "yoi/on-branch", "yoi/on-sha", "yoi/on-tag"]);
    expect(worktrees(repo.dir)).toHaveLength(4);
    for (const c of cases) expect(git(repo.dir, "rev-parse", `yoi/${c.id}`)).toBe(c.head);
    const summary = await runtime.summary();
    expect(summary.workspaces).toEqual(["app"]);
    expect(JSON.stringify(summary)).not.toContain(repo.dir);
    await runtime.close();
  });

  test("a create with workspaces and an Idempotency-Key: the retry answers the first detail and makes no second worktree", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } } });
    const request = { worker_id: "keyed", workspace_refs: [{ name: "app", reference: "" }] };
    const first = await runtime.createWorker(request, { idempotency: { key: "ws-create" } });
    expect(first.workspaces?.[0]?.branch).toBe("yoi/keyed");
    expect(await runtime.createWorker(request, { idempotency: { key: "ws-create" } })).toEqual(first);
    expect(worktrees(repo.dir)).toHaveLength(1);
    await runtime.close();
  });

  test("an unknown workspace is 400 unknown_workspace; nothing is created", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } } });
    const error = await expectCode(
      runtime.createWorker({ worker_id: "w", workspace_refs: [{ name: "nope", reference: "" }] }),
      "unknown_workspace",
    );
    expect(error.message).toContain("nope");
    await expectCode(runtime.getWorker("w"), "worker_not_found");
    expect(branches(repo.dir)).toEqual(["feature", "main"]);
    await runtime.close();
  });

  test("a bad ref is 400 invalid_workspace_ref with git's reason; no worker, branch or directory is left", async () => {
    const repo = makeRepo();
    const storeRoot = tempDir("store");
    const providerRoot = tempDir("provider");
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir }, other: { repo: repo.dir, branch_prefix: "o/" } }, store: fsStore(storeRoot), root: providerRoot });
    const error = await expectCode(
      runtime.createWorker({ worker_id: "bad", workspace_refs: [{ name: "app", reference: "no-such-ref" }] }),
      "invalid_workspace_ref",
    );
    expect(error.details?.reason).toMatch(/fatal|needed a single revision|unknown revision/i);
    expect(error.message).not.toContain("\n");
    // The second of two refs fails: the first one's worktree and branch are removed again.
    await expectCode(
      runtime.createWorker({ worker_id: "half", workspace_refs: [{ name: "app", reference: "" }, { name: "other", reference: "--orphan" }] }),
      "invalid_workspace_ref",
    );
    await expectCode(runtime.getWorker("bad"), "worker_not_found");
    await expectCode(runtime.getWorker("half"), "worker_not_found");
    expect(branches(repo.dir)).toEqual(["feature", "main"]);
    expect(worktrees(repo.dir)).toEqual([]);
    expect(existsSync(join(storeRoot, "workers", "bad"))).toBe(false);
    expect(existsSync(join(storeRoot, "workers", "half"))).toBe(false);
    expect(readdirSync(join(providerRoot, "staging"))).toEqual([]);
    await runtime.close();
  });

  test("20 workers created at once on one repository: 20 worktrees, 20 branches, no lock errors", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } }, store: fsStore(tempDir("store")) });
    const ids = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    const results = await Promise.allSettled(ids.map((id) => runtime.createWorker({ worker_id: id, workspace_refs: [{ name: "app", reference: "" }] })));
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(worktrees(repo.dir)).toHaveLength(20);
    expect(branches(repo.dir).filter((b) => b.startsWith("yoi/"))).toEqual(ids.map((id) => `yoi/${id}`));
    for (const path of worktrees(repo.dir)) expect(readFileSync(join(path, "README"), "utf8")).toBe("two\n");
    await runtime.close();
  });

  test("several refs: work/<name>/ each; the first is where runs work", async () => {
    const repo = makeRepo();
    const docs = makeRepo();
    const storeRoot = tempDir("store");
    const runtime = await openWithWorkspaces({
      workspaces: { app: { repo: repo.dir }, docs: { repo: docs.dir } },
      store: fsStore(storeRoot),
      profiles: { pwd: { backend: "command", command: ["/bin/pwd"] } },
      default_profile: "pwd",
    });
    const worker = await runtime.createWorker({ worker_id: "multi", workspace_refs: [{ name: "app", reference: "" }, { name: "docs", reference: "v1" }] });
    expect(worker.workspaces!.map((ws) => ws.name)).toEqual(["app", "docs"]);
    const work = join(storeRoot, "workers", "multi", "work");
    expect(readFileSync(join(work, "app", "README"), "utf8")).toBe("two\n");
    expect(readFileSync(join(work, "docs", "README"), "utf8")).toBe("one\n");
    const ack = await runtime.sendInput("multi", { kind: "user", content: "where" });
    const run = await runtime.waitRun("multi", ack.run_id!, 20_000);
    expect(run.status).toBe("completed");
    const page = await runtime.transcript("multi", { tail: 1 });
    expect(page.items[0]!.content.trim()).toBe(join(work, "app"));
    await runtime.close();
  });
});

describe("workspaces: delete (issue 11)", () => {
  test("clean: the worktree goes, the branch is kept (default) and reported, with an info diagnostic", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } }, store: fsStore(tempDir("store")) });
    await runtime.createWorker({ worker_id: "w", workspace_refs: [{ name: "app", reference: "" }] });
    const result = await runtime.deleteWorker("w");
    expect(result.workspaces).toEqual([{ name: "app", branch: "yoi/w", branch_kept: true, discarded: { modified: 0, untracked: 0 } }]);
    expect(worktrees(repo.dir)).toEqual([]);
    expect(branches(repo.dir)).toContain("yoi/w");
    const diagnostic = (await runtime.diagnostics()).find((d) => d.code === "workspace_branch_kept");
    expect(diagnostic?.message).toContain("yoi/w");
    await runtime.close();
  });

  test("dirty: 409 workspace_dirty with the counts, nothing removed; force discards and says so", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir, keep_branch_on_delete: false } } });
    await runtime.createWorker({ worker_id: "w", workspace_refs: [{ name: "app", reference: "" }] });
    const [path] = worktrees(repo.dir);
    writeFileSync(join(path!, "README"), "changed\n");
    writeFileSync(join(path!, "new-1"), "x");
    writeFileSync(join(path!, "new-2"), "x");
    const error = await expectCode(runtime.deleteWorker("w"), "workspace_dirty");
    expect(error.details).toEqual({ workspaces: [{ name: "app", modified: 1, untracked: 2 }] });
    expect((await runtime.getWorker("w")).worker_ref.worker_id).toBe("w");
    expect(worktrees(repo.dir)).toHaveLength(1);
    await until(async () => (await runtime.getWorker("w")).workspaces?.[0]?.dirty === true, "the detail to show the changes");
    expect((await runtime.getWorker("w")).workspaces![0]!.changes).toEqual({ modified: 1, untracked: 2 });

    const forced = await runtime.deleteWorker("w", { force: true });
    expect(forced.workspaces).toEqual([{ name: "app", branch: "yoi/w", branch_kept: false, discarded: { modified: 1, untracked: 2 } }]);
    expect(worktrees(repo.dir)).toEqual([]);
    expect(branches(repo.dir)).toEqual(["feature", "main"]);
    expect((await runtime.diagnostics()).some((d) => d.code === "workspace_changes_discarded")).toBe(true);
    await expectCode(runtime.getWorker("w"), "worker_not_found");
    await runtime.close();
  });

  test("inspection follows commits in the worktree (HEAD moves, clean again)", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } } });
    await runtime.createWorker({ worker_id: "w", workspace_refs: [{ name: "app", reference: "" }] });
    const [path] = worktrees(repo.dir);
    writeFileSync(join(path!, "NEW"), "new\n");
    git(path!, "add", "NEW");
    git(path!, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "--quiet", "-m", "work");
    const head = git(path!, "rev-parse", "HEAD");
    await until(async () => (await runtime.getWorker("w")).workspaces?.[0]?.head === head, "HEAD to move");
    const ws = (await runtime.getWorker("w")).workspaces![0]!;
    expect(ws.dirty).toBe(false);
    expect(ws.base).toBe("main");
    expect(typeof ws.checked_at).toBe("string");
    await runtime.close();
  });
});

describe("workspaces: restart (issue 11)", () => {
  test("worktrees survive a restart; a removed worktree makes only its worker unavailable, never recreated", async () => {
    const repo = makeRepo();
    const storeRoot = tempDir("store");
    const root = tempDir("provider");
    const options = { workspaces: { app: { repo: repo.dir } }, root };
    let runtime = await openWithWorkspaces({ ...options, store: fsStore(storeRoot) });
    await runtime.createWorker({ worker_id: "keep", workspace_refs: [{ name: "app", reference: "" }] });
    await runtime.createWorker({ worker_id: "lose", workspace_refs: [{ name: "app", reference: "feature" }] });
    await runtime.close();

    runtime = await openWithWorkspaces({ ...options, store: fsStore(storeRoot) });
    expect((await runtime.getWorker("keep")).status).toBe("idle");
    expect((await runtime.getWorker("lose")).workspaces![0]!.head).not.toBeUndefined();
    expect(worktrees(repo.dir)).toHaveLength(2);
    await runtime.close();

    const lost = join(storeRoot, "workers", "lose", "work");
    rmSync(lost, { recursive: true, force: true });
    runtime = await openWithWorkspaces({ ...options, store: fsStore(storeRoot) });
    expect((await runtime.getWorker("keep")).status).toBe("idle");
    await until(async () => (await runtime.getWorker("keep")).workspaces?.[0]?.dirty === false, "the kept worktree's status");
    const lose = await runtime.getWorker("lose");
    expect(lose.status).toBe("unavailable");
    expect(lose.unavailable_reason).toContain("app");
    expect(lose.unavailable_reason).toContain("removed while the runtime was down");
    expect(existsSync(join(lost, "README"))).toBe(false);
    await expectCode(runtime.sendInput("lose", { kind: "user", content: "hi" }), "store_corrupt");
    expect((await runtime.diagnostics()).some((d) => d.code === "worker_unavailable" && d.worker_ref?.worker_id === "lose")).toBe(true);
    // It can still be deleted; the branch is kept.
    await runtime.deleteWorker("lose");
    expect(branches(repo.dir)).toContain("yoi/lose");
    expect(worktrees(repo.dir)).toHaveLength(1);
    await runtime.close();
  });

  test("the memory store: closing removes the worktrees (branches kept per keep_branch_on_delete)", async () => {
    const repo = makeRepo();
    const { openGitWorkspaces, Runtime, MemoryStore, builtinBackends } = await import("../../src/index.ts");
    const workspaces = await openGitWorkspaces({ app: { repo: repo.dir } }, { root: tempDir("eph"), ephemeral: true });
    const runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, workspaces });
    await runtime.createWorker({ worker_id: "m", workspace_refs: [{ name: "app", reference: "" }] });
    expect(worktrees(repo.dir)).toHaveLength(1);
    await runtime.close();
    expect(worktrees(repo.dir)).toEqual([]);
    expect(branches(repo.dir)).toContain("yoi/m");
  });
});
