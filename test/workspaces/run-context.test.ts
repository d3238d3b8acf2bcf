import { afterAll, describe, expect, test } from "bun:test";
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MemoryStore, Runtime, builtinBackends } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { call, errorOf } from "../server/helpers.ts";
import { cleanTempDirs, makeRepo, openWithWorkspaces, tempDir, worktrees } from "./helpers.ts";

afterAll(cleanTempDirs);

async function runOnce(runtime: Runtime, worker_id: string, content: string): Promise<string> {
  const ack = await runtime.sendInput(worker_id, { kind: "user", content });
  const run = await runtime.waitRun(worker_id, ack.run_id!, 25_000);
  expect(run.status).toBe("completed");
  const page = await runtime.transcript(worker_id, { tail: 1 });
  return page.items[0]!.content;
}

describe("run context for command programs (issue 11)", () => {
  test("YOI_* environment and argv placeholders; the program runs in its worktree", async () => {
    const repo = makeRepo();
    const dir = tempDir("scripts");
    const script = join(dir, "context.sh");
    writeFileSync(
      script,
      [
        "#!/bin/sh",
        'echo "env $YOI_RUNTIME_ID $YOI_WORKER_ID $YOI_RUN_ID $YOI_RUN_NUMBER $YOI_SESSION_ID $YOI_WORKSPACE"',
        'echo "argv $*"',
        'echo "pwd $(pwd -P)"',
        'echo "readme $(cat README)"',
      ].join("\n"),
      { mode: 0o755 },
    );
    const runtime = await openWithWorkspaces({
      workspaces: { app: { repo: repo.dir } },
      profiles: {
        ctx: { backend: "command", command: [script, "--worker={worker_id}", "{run_id}", "n={run_number}", "--session-id", "{session_id}", "{workspace}", "in:{input}"] },
      },
      default_profile: "ctx",
    });
    const worker = await runtime.createWorker({ worker_id: "w1", workspace_refs: [{ name: "app", reference: "v1" }] });
    const [worktree] = worktrees(repo.dir);
    const outputs: string[] = [];
    const runIds: string[] = [];
    for (const content of ["first {run_id}", "second"]) {
      outputs.push(await runOnce(runtime, "w1", content));
      runIds.push((await runtime.listRuns("w1")).runs.at(-1)!.run_id);
    }
    const sessions = new Set<string>();
    outputs.forEach((output, i) => {
      const lines = Object.fromEntries(output.trim().split("\n").map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]));
      const [runtime_id, worker_id, run_id, run_number, session_id, workspace] = lines.env!.split(" ");
      expect([runtime_id, worker_id, run_id, run_number, workspace]).toEqual(["rt-ws", "w1", runIds[i], String(i + 1), worktree]);
      expect(session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      sessions.add(session_id!);
      const input = i === 0 ? "first {run_id}" : "second";
      // Placeholders expand once: text the input brings in is not expanded again.
      expect(lines.argv).toBe(`--worker=w1 ${runIds[i]} n=${i + 1} --session-id ${session_id} ${worktree} in:${input}`);
      expect(lines.pwd).toBe(realpathSync(worktree!));
      expect(lines.readme).toBe("one");
    });
    expect(sessions.size).toBe(1);
    expect(worker.workspaces![0]!.base).toBe("v1");
    await runtime.close();
  });

  test('input = "json" writes {input, history} with the last max_history_items entries before the input', async () => {
    const runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: builtinBackends,
      profiles: { stateless: { backend: "command", command: ["/bin/cat"], input: "json", max_history_items: 3 } },
      default_profile: "stateless",
    });
    await runtime.createWorker({ worker_id: "j" });
    const first = JSON.parse(await runOnce(runtime, "j", "hello"));
    expect(first).toEqual({ input: "hello", history: [] });
    await runtime.sendInput("j", { kind: "system", content: "be brief" });
    const third = JSON.parse(await runOnce(runtime, "j", "again"));
    // Transcript before "again": user hello, assistant (first's JSON), system "be brief": the last 3.
    expect(third.input).toBe("again");
    expect(third.history.map((h: { role: string }) => h.role)).toEqual(["user", "assistant", "system"]);
    expect(third.history[0]).toEqual({ role: "user", content: "hello" });
    expect(third.history[2]).toEqual({ role: "system", content: "be brief" });
    const fourth = JSON.parse(await runOnce(runtime, "j", "last"));
    expect(fourth.history).toHaveLength(3);
    expect(fourth.history.at(-1).role).toBe("assistant");
    await runtime.close();
  });

  test('input = "json" cannot be combined with {input} in command (start-up refusal)', async () => {
    const open = Runtime.open({
      store: new MemoryStore(),
      backends: builtinBackends,
      profiles: { bad: { backend: "command", command: ["/bin/echo", "{input}"], input: "json" } },
    });
    await expect(open).rejects.toThrow(/"json" cannot be combined with "\{input\}"/);
  });
});

describe("workspaces over HTTP (issue 11)", () => {
  test("create with workspace_refs, GET shows workspaces, unknown/bad ref 400, DELETE dirty 409 then ?force=true", async () => {
    const repo = makeRepo();
    const runtime = await openWithWorkspaces({ workspaces: { app: { repo: repo.dir } } });
    const app = createApp(runtime);
    const summary = await call(app, "GET", "/v1/runtime");
    expect(summary.body.runtime.workspaces).toEqual(["app"]);
    expect(summary.text).not.toContain(repo.dir);

    errorOf(await call(app, "POST", "/v1/workers", { json: { workspace_refs: [{ name: "zzz", reference: "" }] } }), 400, "unknown_workspace");
    const bad = errorOf(await call(app, "POST", "/v1/workers", { json: { workspace_refs: [{ name: "app", reference: "nope" }] } }), 400, "invalid_workspace_ref");
    expect(bad.message).toContain("nope");

    const created = await call(app, "POST", "/v1/workers", { json: { worker_id: "h", workspace_refs: [{ name: "app", reference: "" }] } });
    expect(created.status).toBe(201);
    expect(created.body.worker.workspaces[0]).toMatchObject({ name: "app", branch: "yoi/h", base: "main", head: repo.main, dirty: false });
    const got = await call(app, "GET", "/v1/workers/h");
    expect(got.body.worker.workspaces[0].branch).toBe("yoi/h");

    writeFileSync(join(worktrees(repo.dir)[0]!, "scratch"), "x");
    const dirty = errorOf(await call(app, "DELETE", "/v1/workers/h"), 409, "workspace_dirty");
    expect(dirty.details).toEqual({ workspaces: [{ name: "app", modified: 0, untracked: 1 }] });
    errorOf(await call(app, "DELETE", "/v1/workers/h?force=yes"), 400, "invalid_request");
    const forced = await call(app, "DELETE", "/v1/workers/h?force=true");
    expect(forced.status).toBe(200);
    expect(forced.body.workspaces).toEqual([{ name: "app", branch: "yoi/h", branch_kept: true, discarded: { modified: 0, untracked: 1 } }]);
    expect(worktrees(repo.dir)).toEqual([]);
    await runtime.close();
  });
});
