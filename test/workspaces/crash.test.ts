import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime, builtinBackends, openGitWorkspaces } from "../../src/index.ts";
import { cleanScratch, scratchDir, startServer } from "../cli/helpers.ts";
import { branches, cleanTempDirs, makeRepo, worktrees } from "./helpers.ts";

afterAll(() => {
  cleanScratch();
  cleanTempDirs();
});

const CREATES = 16;
const CONCURRENCY = 4;

describe("fs store crash with workspaces (issue 11)", () => {
  // SIGKILL while creates are in flight, after a different number of them were acknowledged each
  // round: afterwards every worker is whole (its worktree and branch in place, usable) or absent
  // (no worktree, branch or staging directory of it left).
  for (const killAfter of [1, 6]) {
    test(`SIGKILL after ${killAfter} acknowledged create(s): each worker whole or nothing`, async () => {
      const repo = makeRepo();
      const cwd = scratchDir();
      writeFileSync(join(cwd, "c.toml"), `[workspaces.app]\nrepo = ${JSON.stringify(repo.dir)}\n`);
      const server = await startServer(["--store", "fs", "--data-dir", "data", "--config", "c.toml", "--runtime-id", "rt-crash"], { cwd });
      const acked = new Set<string>();
      let next = 0;
      let killed = false;
      const client = async () => {
        while (!killed && next < CREATES) {
          const id = `k${String(next++).padStart(2, "0")}`;
          const response = await fetch(`${server.url}/v1/workers`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ worker_id: id, workspace_refs: [{ name: "app", reference: "" }] }),
          }).catch(() => null);
          if (response?.status === 201) acked.add(id);
          if (acked.size >= killAfter && !killed) {
            killed = true;
            server.proc.kill("SIGKILL");
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, client));
      await server.proc.exited;
      expect(killed).toBe(true);

      const data = join(cwd, "data");
      const workspaces = await openGitWorkspaces({ app: { repo: repo.dir } }, { root: join(data, "workspaces") });
      const runtime = await Runtime.open({ store: new FsStore({ root: data }), backends: builtinBackends, workspaces });
      const { workers } = await runtime.listWorkers();
      const ids = workers.map((w) => w.worker_ref.worker_id);
      for (const id of acked) expect(ids).toContain(id);
      for (const worker of workers) {
        const id = worker.worker_ref.worker_id;
        expect(worker.status).toBe("idle");
        const path = join(data, "workers", id, "work");
        expect(readFileSync(join(path, "README"), "utf8")).toBe("two\n");
      }
      const ours = branches(repo.dir).filter((b) => b.startsWith("yoi/"));
      expect(ours).toEqual(ids.map((id) => `yoi/${id}`).sort());
      expect(worktrees(repo.dir).sort()).toEqual(ids.map((id) => join(data, "workers", id, "work")).sort());
      const staging = join(data, "workspaces", "staging");
      expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
      // A recovered worker is usable: it can be deleted cleanly.
      if (ids.length > 0) {
        const result = await runtime.deleteWorker(ids[0]!);
        expect(result.workspaces?.[0]?.branch).toBe(`yoi/${ids[0]}`);
      }
      await runtime.close();
    }, 120_000);
  }
});
