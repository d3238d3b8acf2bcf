/**
 * ACP workers through the real server process: HTTP permission route, the SSE stream, a runtime
 * SIGKILL and restart, and the same smoke flow under the compiled binary and Deno.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "../../src/client/index.ts";
import { CLI, REPO, cleanScratch, scratchDir, spawnCli, startServer, type Server } from "../cli/helpers.ts";
import { agentLog, fakeAgent, script } from "./acp-helpers.ts";
import { Scratch, isRunning, until } from "./helpers.ts";

const scratch = new Scratch();
afterAll(() => {
  scratch.remove();
  cleanScratch();
});

/** A directory holding runtime.toml with an `agent` profile (the fake agent with `flags`). */
function agentDir(flags: string[] = [], extra = ""): { cwd: string; log: string } {
  const cwd = scratchDir();
  const log = join(cwd, "agent.log");
  const argv = fakeAgent("--log", log, ...flags);
  writeFileSync(
    join(cwd, "runtime.toml"),
    `default_profile = "agent"\n[profiles.agent]\nbackend = "acp"\ncommand = ${JSON.stringify(argv)}\nkill_grace_ms = 500\n${extra}`,
  );
  return { cwd, log };
}

const SERVE = ["serve", "--store", "fs", "--data-dir", "data", "--config", "runtime.toml"];

async function post(server: Server, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function get(server: Server, path: string): Promise<any> {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status).toBe(200);
  return response.json();
}

/** Events of one worker read from `GET /v1/events/stream` by the typed client, as they arrive (id-less deltas included). */
class SseObserver {
  readonly events: { id: number | null; kind: string; data: any }[] = [];
  private readonly controller = new AbortController();

  constructor(server: Server, worker_id: string) {
    const events = createClient({ url: server.url }).events({ worker_id, after: 0, signal: this.controller.signal });
    void (async () => {
      for await (const event of events) this.events.push({ id: event.id, kind: event.kind, data: event.data });
    })();
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }

  async waitFor(kind: string): Promise<void> {
    await until(() => this.kinds().includes(kind), `SSE event ${kind}`, 60_000);
  }

  stop(): void {
    this.controller.abort();
  }
}

/** Create a worker, run a turn with tool calls and a permission request answered over HTTP, watching SSE. */
async function permissionFlow(server: Server): Promise<void> {
  expect((await post(server, "/v1/workers", { worker_id: "w" })).status).toBe(201);
  const sse = new SseObserver(server, "w");
  await until(() => sse.kinds().includes("worker_created"), "the stream to replay worker_created", 60_000);
  const content = script(
    { chunk: "looking" },
    { tool: { id: "t1", title: "List files", kind: "read", status: "in_progress" } },
    { update: { id: "t1", status: "completed", rawOutput: ["a", "b"] } },
    { ask: { id: "t2", title: "Delete b", kind: "delete" } },
  );
  const input = await post(server, "/v1/workers/w/input", { kind: "user", content });
  expect(input.status).toBe(202);
  const run_id = input.body.ack.run_id;
  await sse.waitFor("run_permission_requested");
  const waiting = (await get(server, `/v1/workers/w/runs/${run_id}`)).run;
  expect(waiting.pending_permission.tool_call).toEqual({ tool_call_id: "t2", title: "Delete b", kind: "delete" });

  const wrong = await post(server, `/v1/workers/w/runs/${run_id}/permission`, { option_id: "maybe" });
  expect(wrong.status).toBe(400);
  expect(wrong.body.error).toMatchObject({ code: "invalid_request", details: { offered_option_ids: ["allow", "always", "deny"] } });
  const answered = await post(server, `/v1/workers/w/runs/${run_id}/permission`, { option_id: "allow" });
  expect(answered.status).toBe(200);
  expect(answered.body.run).toMatchObject({ run_id, pending_permission: null });

  const run = (await get(server, `/v1/workers/w/runs/${run_id}?wait=60`)).run;
  expect(run).toMatchObject({ status: "completed", stop_reason: "end_turn" });
  expect(run.tool_calls.map((c: { tool_call_id: string; status: string }) => [c.tool_call_id, c.status])).toEqual([["t1", "completed"]]);
  const again = await post(server, `/v1/workers/w/runs/${run_id}/permission`, { option_id: "allow" });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe("no_pending_permission");

  await sse.waitFor("run_completed");
  const kinds = sse.kinds().filter((k) => k.startsWith("run_"));
  expect(kinds).toEqual([
    "run_started",
    "run_output_delta",
    "run_tool_call",
    "run_tool_call",
    "run_permission_requested",
    "run_permission_answered",
    "run_output_delta",
    "run_completed",
  ]);
  const deltas = sse.events.filter((e) => e.kind === "run_output_delta");
  expect(deltas.map((e) => [e.id, e.data.delta])).toEqual([
    [null, "looking"],
    [null, "permission: allow"],
  ]);
  sse.stop();
}

describe("acp workers through the server (bun cli.ts)", () => {
  test("permission asked and answered over HTTP; an SSE observer sees deltas and tool-call events in order", async () => {
    const { cwd } = agentDir();
    const server = await startServer(SERVE, { cwd });
    try {
      await permissionFlow(server);
    } finally {
      await server.stop();
    }
  });

  test.if(process.platform === "linux")(
    "runtime SIGKILL: the next runtime ends what the agent left, then session/load resumes the same session without duplicating history",
    async () => {
      const { cwd, log } = agentDir(["--load-session", "--state", join(scratch.dir, `state-${Date.now()}`)]);
      const grandchildFile = scratch.path(`grandchild-${Date.now()}.pid`);
      const first = await startServer(SERVE, { cwd });
      let session: string;
      let agentPid: number;
      try {
        expect((await post(first, "/v1/workers", { worker_id: "k" })).status).toBe(201);
        const one = await post(first, "/v1/workers/k/input?wait=60", { kind: "user", content: script({ whoami: true }) });
        expect(one.body.run.status).toBe("completed");
        const two = await post(first, "/v1/workers/k/input?wait=60", {
          kind: "user",
          content: script({ grandchild: grandchildFile }, { chunk: "spawned" }),
        });
        expect(two.body.run.status).toBe("completed");
        session = (await get(first, "/v1/workers/k")).worker.session_id;
        agentPid = agentLog(log)[0]!.pid;
        expect(typeof session).toBe("string");
      } finally {
        await first.stop("SIGKILL");
      }
      const grandchild = scratch.pids(grandchildFile.slice(scratch.dir.length + 1))[0]!;
      // Nothing ended it with the runtime: it outlived its parent.
      expect(isRunning(grandchild)).toBe(true);

      const second = await startServer(SERVE, { cwd });
      try {
        await until(() => !isRunning(grandchild) && !isRunning(agentPid), "the orphaned agent group to be ended", 30_000);
        const three = await post(second, "/v1/workers/k/input?wait=60", { kind: "user", content: script({ whoami: true }) });
        expect(three.body.run.status).toBe("completed");
        const [pid, resumed, turnNumber] = (await get(second, "/v1/workers/k/transcript?tail=1")).transcript.items[0].content.split(" ");
        expect(Number(pid)).not.toBe(agentPid);
        expect(resumed).toBe(session);
        expect(Number(turnNumber)).toBe(3);
        expect(agentLog(log).filter((l) => l.method === "session/load").map((l) => l.sessionId)).toEqual([session]);
        // 3 turns = 6 entries: the history session/load replayed was not stored again.
        expect((await get(second, "/v1/workers/k")).worker.transcript_items).toBe(6);
      } finally {
        await second.stop();
      }
    },
    90_000,
  );
});

describe("acp workers from the CLI", () => {
  test("chat shows the permission request with numbered options and the next line answers it; tail prints it", async () => {
    const { cwd } = agentDir();
    const server = await startServer(SERVE, { cwd });
    try {
      expect((await post(server, "/v1/workers", { worker_id: "c" })).status).toBe(201);
      const tail = spawnCli(["tail", "--worker", "c", "--url", server.url]);
      await until(() => tail.stderr().includes("following events"), "tail to follow", 60_000);
      const chat = spawnCli(["chat", "c", "--url", server.url], { stdin: true });
      chat.write(script({ tool: { id: "t1", title: "Build", kind: "execute", status: "pending" } }, { ask: { id: "t2", title: "rm -rf build", kind: "delete" } }) + "\n");
      await until(() => chat.stdout().includes("choose 1-3: "), "chat to ask which option", 60_000);
      expect(chat.stdout()).toContain('[permission] the agent asks to delete "rm -rf build"\n  1) Allow [allow, allow_once]\n  2) Always allow [always, allow_always]\n  3) Reject [deny, reject_once]\n');
      // Not an option: asked again.
      chat.write("7\n");
      await until(() => chat.stdout().split("choose 1-3: ").length === 3, "chat to ask again", 60_000);
      chat.write("2\n");
      await until(() => chat.stdout().includes("permission: always\n"), "the agent's reply after the answer", 60_000);
      chat.endInput();
      expect((await chat.exited).code).toBe(0);
      await until(() => tail.stdout().includes("run_completed"), "tail to print the run's end", 60_000);
      tail.proc.kill("SIGINT");
      await tail.exited;
      const lines = tail.stdout().split("\n");
      expect(lines.find((l) => l.includes(" run_tool_call "))).toContain('t1 execute pending "Build"');
      expect(lines.find((l) => l.includes(" run_permission_requested "))).toContain(
        'asks to delete "rm -rf build": allow (allow_once), always (allow_always), deny (reject_once) (policy ask)',
      );
      expect(lines.find((l) => l.includes(" run_permission_answered "))).toContain("chose always (by user)");
    } finally {
      await server.stop();
    }
  }, 90_000);
});

const deno = join(REPO, "node_modules/.bin/deno");

describe.skipIf(!existsSync(deno))("acp workers under Deno (`deno run -A cli.ts`)", () => {
  test("the SDK client runs under Deno: permission over HTTP and the SSE order", async () => {
    const { cwd } = agentDir();
    const server = await startServer(SERVE, { cwd, command: [deno, "run", "-A", CLI] });
    try {
      await permissionFlow(server);
    } finally {
      await server.stop();
    }
  }, 90_000);
});

describe("acp workers in the compiled binary (`bun build --compile`)", () => {
  let binDir: string;
  let binary: string;

  beforeAll(() => {
    binDir = mkdtempSync(join(tmpdir(), "yoi-acp-bin-"));
    binary = join(binDir, "yoi-runtime");
    const build = Bun.spawnSync([process.execPath, join(REPO, "scripts/build.ts"), "--outfile", binary], {
      cwd: REPO,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  }, 180_000);

  afterAll(() => {
    rmSync(binDir, { recursive: true, force: true });
  });

  test("the SDK client runs in the binary: permission over HTTP and the SSE order", async () => {
    const { cwd } = agentDir();
    const server = await startServer(SERVE, { cwd, command: [binary] });
    try {
      await permissionFlow(server);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
