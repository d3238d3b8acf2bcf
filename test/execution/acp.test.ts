import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, RuntimeError, builtinBackends, type ProfileConfig, type WorkerRef } from "../../src/index.ts";
import { EventLog, agentLog, fakeAgent, lastReply, pendingPermission, processesWithArgument, script, turn } from "./acp-helpers.ts";
import { Scratch, isRunning, until } from "./helpers.ts";

let s: Scratch;
let runtime: Runtime | null = null;

beforeEach(() => {
  s = new Scratch();
});

afterEach(async () => {
  await runtime?.close();
  runtime = null;
  s.remove();
});

/** A runtime whose default profile hosts the fake agent with `flags`, logging to `agent.log`. */
async function acpRuntime(flags: string[] = [], settings: Partial<ProfileConfig> = {}): Promise<{ runtime: Runtime; worker: WorkerRef }> {
  runtime = await Runtime.open({
    store: new MemoryStore(),
    backends: builtinBackends,
    profiles: { agent: { backend: "acp", command: fakeAgent("--log", s.path("agent.log"), ...flags), ...settings } },
    default_profile: "agent",
  });
  const worker = (await runtime.createWorker({})).worker_ref;
  return { runtime, worker };
}

const log = () => agentLog(s.path("agent.log"));
const methodsOf = () => log().map((line) => line.method);

/** `<pid> <sessionId> <turn>` as the fake agent reports itself. */
async function whoami(rt: Runtime, worker: WorkerRef): Promise<{ pid: number; session: string; turn: number }> {
  const run = await turn(rt, worker, script({ whoami: true }));
  expect(run.status).toBe("completed");
  const [pid, session, n] = (await lastReply(rt, worker)).split(" ");
  return { pid: Number(pid), session: session!, turn: Number(n) };
}

describe("acp: one agent process and session per worker", () => {
  test("three prompts go to one process and share one session, started with the worker's directory", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const first = await whoami(rt, worker);
    const second = await whoami(rt, worker);
    const third = await whoami(rt, worker);
    expect(new Set([first.pid, second.pid, third.pid]).size).toBe(1);
    expect(new Set([first.session, second.session, third.session]).size).toBe(1);
    expect([first.turn, second.turn, third.turn]).toEqual([1, 2, 3]);
    expect(methodsOf()).toEqual(["initialize", "session/new", "session/prompt", "session/prompt", "session/prompt"]);
    expect((await rt.getWorker(worker)).session_id).toBe(first.session);
    // The session's cwd is a directory of this worker (the memory store keeps none: a temporary one).
    const cwd = log()[1]!.cwd!;
    expect(cwd.endsWith(worker.worker_id)).toBe(true);
    // Capabilities declared honestly: no file system, no terminal.
    expect(log()[0]).toMatchObject({ protocolVersion: 1, clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false } });
  });

  test("each prompt carries its run's id and number in _meta; the long-lived process gets no per-run YOI_RUN_* variables", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const first = await turn(rt, worker, script({ chunk: "one" }));
    const second = await turn(rt, worker, script({ env: ["YOI_RUN_ID", "YOI_RUN_NUMBER", "YOI_WORKER_ID"] }));
    expect([first.status, second.status]).toEqual(["completed", "completed"]);
    const prompts = log().filter((line) => line.method === "session/prompt");
    expect(prompts.map((line) => line.meta)).toEqual([
      { yoi: { run_id: first.run_id, run_number: 1 } },
      { yoi: { run_id: second.run_id, run_number: 2 } },
    ]);
    // The process environment holds what stays true across runs, and nothing of one run.
    expect(JSON.parse(await lastReply(rt, worker))).toEqual({ YOI_RUN_ID: null, YOI_RUN_NUMBER: null, YOI_WORKER_ID: worker.worker_id });
  });

  test("agent_message_chunk streams as deltas and becomes one assistant entry; thoughts are live only", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const events = new EventLog(rt, worker.worker_id);
    const run = await turn(rt, worker, script({ chunk: "Hel" }, { thought: "thinking" }, { chunk: "lo" }));
    expect(run).toMatchObject({ status: "completed", stop_reason: "end_turn", partial: false });
    expect(await lastReply(rt, worker)).toBe("Hello");
    await events.waitFor("run_completed");
    expect(events.of("run_output_delta").map((e) => e.data.delta)).toEqual(["Hel", "lo"]);
    expect(events.of("run_thought_delta").map((e) => [e.id, e.data.delta])).toEqual([[null, "thinking"]]);
    const stored = await rt.readEvents({ worker_id: worker.worker_id });
    expect(stored.events.map((e) => e.kind)).not.toContain("run_thought_delta");
    events.stop();
  });

  test("tool calls and plans are stored events in order with the deltas; the run keeps each call's latest state", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const events = new EventLog(rt, worker.worker_id);
    const big = "x".repeat(10_000);
    const run = await turn(
      rt,
      worker,
      script(
        { chunk: "reading" },
        { tool: { id: "t1", title: "Read a file", kind: "read", status: "pending", rawInput: { path: "/etc/hosts" }, locations: [{ path: "/etc/hosts", line: 3 }] } },
        { plan: [{ content: "read", priority: "high", status: "in_progress" }] },
        { update: { id: "t1", status: "completed", rawOutput: big } },
        { chunk: " done" },
      ),
    );
    expect(run.status).toBe("completed");
    expect(run.tool_calls).toHaveLength(1);
    const call = run.tool_calls![0]!;
    expect(call).toMatchObject({
      tool_call_id: "t1",
      title: "Read a file",
      kind: "read",
      status: "completed",
      locations: [{ path: "/etc/hosts", line: 3 }],
      raw_input: '{"path":"/etc/hosts"}',
    });
    // Large raw values are cut with a marker.
    expect(call.raw_output!.length).toBeLessThan(5_000);
    expect(call.raw_output).toEndWith("…[truncated 5904 characters]");
    await events.waitFor("run_completed");
    const kinds = events.kinds().filter((k) => k !== "diagnostic");
    expect(kinds).toEqual([
      "worker_input_accepted",
      "run_started",
      "run_output_delta",
      "run_tool_call",
      "run_plan",
      "run_tool_call",
      "run_output_delta",
      "run_completed",
    ]);
    expect(events.of("run_tool_call").map((e) => (e.data.tool_call as { status: string }).status)).toEqual(["pending", "completed"]);
    expect(events.of("run_plan")[0]!.data.entries).toEqual([{ content: "read", priority: "high", status: "in_progress" }]);
    // Stored: a Backend can replay what the agent did.
    const stored = (await rt.readEvents({ worker_id: worker.worker_id })).events.map((e) => e.kind);
    expect(stored.filter((k) => k === "run_tool_call" || k === "run_plan")).toEqual(["run_tool_call", "run_plan", "run_tool_call"]);
    // The stored run record too.
    expect((await rt.getRun(worker, run.run_id)).tool_calls![0]!.status).toBe("completed");
    events.stop();
  });

  test("max_tokens, max_turn_requests and refusal complete the run with stop_reason set", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    for (const reason of ["max_tokens", "max_turn_requests", "refusal"]) {
      const run = await turn(rt, worker, script({ chunk: "so far" }, { stop: reason }));
      expect(run).toMatchObject({ status: "completed", stop_reason: reason, error: null });
    }
  });

  test("single flight: one of 20 concurrent inputs is accepted, the others fail worker_busy", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => rt.sendInput(worker, { kind: "user", content: script({ sleep_ms: 200 }, { chunk: `r${i}` }) })),
    );
    const accepted = results.filter((r) => r.status === "fulfilled");
    expect(accepted).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as RuntimeError).code).toBe("worker_busy");
    }
    const run = await rt.waitRun(worker, (accepted[0] as PromiseFulfilledResult<{ run_id: string }>).value.run_id, 60_000);
    expect(run.status).toBe("completed");
    expect(methodsOf().filter((m) => m === "session/prompt")).toHaveLength(1);
  });
});

describe("acp: sessions survive the agent process", () => {
  test("crash mid-prompt: the run fails agent_exited with the exit status and stderr; the next input resumes the session", async () => {
    const { runtime: rt, worker } = await acpRuntime(["--load-session", "--state", s.path("state")]);
    const before = await whoami(rt, worker);
    const run = await turn(rt, worker, script({ chunk: "half" }, { stderr: "boom: disk on fire" }, { exit: 3 }));
    expect(run.status).toBe("failed");
    expect(run.error!.code).toBe("agent_exited");
    expect(run.error!.details).toMatchObject({ exit_code: 3, signal: null });
    expect(String((run.error!.details as { stderr_tail?: string }).stderr_tail)).toContain("boom: disk on fire");
    expect(run.partial).toBe(true);
    expect(isRunning(before.pid)).toBe(false);
    const after = await whoami(rt, worker);
    expect(after.pid).not.toBe(before.pid);
    expect(after.session).toBe(before.session);
    expect(log().filter((l) => l.method === "session/load").map((l) => l.sessionId)).toEqual([before.session]);
    // The replayed history was not stored again: 3 turns = 6 entries.
    expect((await rt.getWorker(worker)).transcript_items).toBe(6);
  });

  test("an agent without loadSession gets a new session after a crash and a session_lost diagnostic; the worker stays usable", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const before = await whoami(rt, worker);
    expect((await turn(rt, worker, script({ exit: 1 }))).error!.code).toBe("agent_exited");
    const after = await whoami(rt, worker);
    expect(after.session).not.toBe(before.session);
    expect((await rt.getWorker(worker)).session_id).toBe(after.session);
    const lost = (await rt.diagnostics()).filter((d) => d.code === "session_lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]!.details).toEqual({ previous_session_id: before.session, session_id: after.session });
    expect(methodsOf().filter((m) => m === "session/load")).toEqual([]);
  });

  test("idle shutdown ends the agent; the next input starts it again and loads the session", async () => {
    const { runtime: rt, worker } = await acpRuntime(["--load-session", "--state", s.path("state")], { idle_shutdown_s: 0.3 });
    const before = await whoami(rt, worker);
    await until(() => !isRunning(before.pid), "the idle agent to be ended");
    const after = await whoami(rt, worker);
    expect(after.pid).not.toBe(before.pid);
    expect(after.session).toBe(before.session);
    expect(after.turn).toBe(2);
  });

  test("stop and delete end the agent's process group", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const first = await whoami(rt, worker);
    await turn(rt, worker, script({ grandchild: s.path("grandchild.pid") }));
    const grandchild = s.pids("grandchild.pid")[0]!;
    expect(isRunning(grandchild)).toBe(true);
    await rt.stopWorker(worker);
    // Checked at once: stop returns once the group is gone.
    expect([isRunning(first.pid), isRunning(grandchild)]).toEqual([false, false]);
    await rt.restoreWorker(worker);
    const second = await whoami(rt, worker);
    expect(second.pid).not.toBe(first.pid);
    await rt.deleteWorker(worker);
    expect(isRunning(second.pid)).toBe(false);
  });

  test("closing the runtime ends every agent", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const { pid } = await whoami(rt, worker);
    await rt.close();
    runtime = null;
    expect(isRunning(pid)).toBe(false);
  });
});

describe("acp: cancel", () => {
  test("cancel sends session/cancel; an agent that honours it ends the run cancelled and keeps running", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const before = await whoami(rt, worker);
    const events = new EventLog(rt, worker.worker_id);
    const ack = await rt.sendInput(worker, { kind: "user", content: script({ chunk: "partial" }, { wait_cancel: true }) });
    await events.waitFor("run_output_delta");
    const cancelled = await rt.cancelRun(worker);
    expect(cancelled.cancelled_run_id).toBe(ack.run_id);
    const run = await rt.getRun(worker, ack.run_id!);
    expect(run).toMatchObject({ status: "cancelled", partial: true, stop_reason: "cancelled" });
    expect(methodsOf()).toContain("session/cancel");
    expect(isRunning(before.pid)).toBe(true);
    expect((await whoami(rt, worker)).pid).toBe(before.pid);
    events.stop();
  });

  test("cancel ignored past kill_grace_ms: the group is killed (grandchildren too), the run is cancelled, the next input resumes", async () => {
    const { runtime: rt, worker } = await acpRuntime(["--ignore-cancel", "--load-session", "--state", s.path("state")], { kill_grace_ms: 300 });
    const before = await whoami(rt, worker);
    const events = new EventLog(rt, worker.worker_id);
    const ack = await rt.sendInput(worker, {
      kind: "user",
      content: script({ grandchild: s.path("grandchild.pid") }, { chunk: "working" }, { wait_cancel: true }),
    });
    await events.waitFor("run_output_delta");
    const grandchild = s.pids("grandchild.pid")[0]!;
    const started = Date.now();
    await rt.cancelRun(worker);
    // No orphans, checked at once: the run is reported only after the group is gone.
    expect([isRunning(before.pid), isRunning(grandchild)]).toEqual([false, false]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await rt.getRun(worker, ack.run_id!)).status).toBe("cancelled");
    const after = await whoami(rt, worker);
    expect(after.pid).not.toBe(before.pid);
    expect(after.session).toBe(before.session);
    events.stop();
  });

  test("a run timeout cancels the turn the same way (timed_out)", async () => {
    const { runtime: rt, worker } = await acpRuntime([], { timeout_s: 2 });
    const run = await turn(rt, worker, script({ chunk: "slow" }, { wait_cancel: true }));
    expect(run.status).toBe("timed_out");
    // The timeout counts from the input, start-up included: on a slow machine it may come first.
    if (methodsOf().includes("session/prompt")) expect(methodsOf()).toContain("session/cancel");
    else expect(processesWithArgument(s.path("agent.log"))).toEqual([]);
  });
});

describe("acp: permission requests", () => {
  const ask = script({ ask: { id: "t9", title: "Delete build/", kind: "delete" } });

  test("ask: the run shows the request; an answer with an offered option goes to the agent", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const events = new EventLog(rt, worker.worker_id);
    const ack = await rt.sendInput(worker, { kind: "user", content: ask });
    const waiting = await pendingPermission(rt, worker, ack.run_id!);
    expect(waiting.pending_permission).toMatchObject({
      tool_call: { tool_call_id: "t9", title: "Delete build/", kind: "delete" },
      options: [
        { option_id: "allow", name: "Allow", kind: "allow_once" },
        { option_id: "always", name: "Always allow", kind: "allow_always" },
        { option_id: "deny", name: "Reject", kind: "reject_once" },
      ],
    });
    expect(waiting.pending_permission!.expires_at).not.toBeNull();
    // An option that was not offered: refused, listing the offered ids.
    const refused = await rt.answerPermission(worker, ack.run_id!, { option_id: "yes-please" }).catch((e: RuntimeError) => e);
    expect(refused).toMatchObject({ code: "invalid_request", details: { offered_option_ids: ["allow", "always", "deny"] } });
    const answered = await rt.answerPermission(worker, ack.run_id!, { option_id: "always" });
    expect(answered.pending_permission).toBeNull();
    const run = await rt.waitRun(worker, ack.run_id!, 60_000);
    expect(run.status).toBe("completed");
    expect(await lastReply(rt, worker)).toBe("permission: always");
    // Answered already: nothing is pending any more.
    const again = await rt.answerPermission(worker, ack.run_id!, { option_id: "allow" }).catch((e: RuntimeError) => e);
    expect((again as RuntimeError).code).toBe("no_pending_permission");
    await events.waitFor("run_completed");
    expect(events.of("run_permission_requested")[0]!.data).toMatchObject({ policy: "ask" });
    expect(events.of("run_permission_answered").map((e) => e.data)).toEqual([
      { request_id: waiting.pending_permission!.request_id, outcome: "selected", option_id: "always", by: "user" },
    ]);
    events.stop();
  });

  test("ask: an answer with an Idempotency-Key replays its run; it is not answered twice", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const events = new EventLog(rt, worker.worker_id);
    const ack = await rt.sendInput(worker, { kind: "user", content: ask });
    await pendingPermission(rt, worker, ack.run_id!);
    const idempotency = { key: "answer-1" };
    const answered = await rt.answerPermission(worker, ack.run_id!, { option_id: "allow" }, { idempotency });
    expect(answered.pending_permission).toBeNull();
    await rt.waitRun(worker, ack.run_id!, 60_000);
    // Without the key the same answer would be no_pending_permission; with it, the first answer.
    expect(await rt.answerPermission(worker, ack.run_id!, { option_id: "allow" }, { idempotency })).toEqual(answered);
    const other = await rt.answerPermission(worker, ack.run_id!, { option_id: "deny" }, { idempotency }).catch((e: RuntimeError) => e);
    expect((other as RuntimeError).code).toBe("idempotency_key_reused");
    await events.waitFor("run_completed");
    expect(events.of("run_permission_answered")).toHaveLength(1);
    events.stop();
  });

  test("ask: unanswered past permission_timeout_s, the first reject option is chosen", async () => {
    const { runtime: rt, worker } = await acpRuntime([], { permission_timeout_s: 0.3 });
    const events = new EventLog(rt, worker.worker_id);
    const run = await turn(rt, worker, ask);
    expect(run.status).toBe("completed");
    expect(await lastReply(rt, worker)).toBe("permission: deny");
    await events.waitFor("run_completed");
    expect(events.of("run_permission_timed_out").map((e) => e.data)).toEqual([
      { request_id: expect.any(String), outcome: "selected", option_id: "deny", by: "timeout" },
    ]);
    events.stop();
  });

  test("ask: cancel answers the pending request cancelled and ends the run cancelled", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const events = new EventLog(rt, worker.worker_id);
    const ack = await rt.sendInput(worker, { kind: "user", content: ask });
    await pendingPermission(rt, worker, ack.run_id!);
    await rt.cancelRun(worker);
    const run = await rt.getRun(worker, ack.run_id!);
    expect(run.status).toBe("cancelled");
    expect(run.pending_permission).toBeNull();
    await events.waitFor("run_cancelled");
    expect(events.of("run_permission_answered").map((e) => e.data.outcome)).toEqual(["cancelled"]);
    const late = await rt.answerPermission(worker, ack.run_id!, { option_id: "allow" }).catch((e: RuntimeError) => e);
    expect((late as RuntimeError).code).toBe("no_pending_permission");
    events.stop();
  });

  test("allow and reject policies answer at once and still record the request", async () => {
    for (const [policy, option] of [
      ["allow", "allow"],
      ["reject", "deny"],
    ] as const) {
      const { runtime: rt, worker } = await acpRuntime([], { permission: policy });
      const events = new EventLog(rt, worker.worker_id);
      const run = await turn(rt, worker, ask);
      expect(run.status).toBe("completed");
      expect(await lastReply(rt, worker)).toBe(`permission: ${option}`);
      await events.waitFor("run_completed");
      expect(events.of("run_permission_requested")[0]!.data.policy).toBe(policy);
      expect(events.of("run_permission_answered").map((e) => e.data)).toEqual([
        { request_id: expect.any(String), outcome: "selected", option_id: option, by: "policy" },
      ]);
      events.stop();
      await rt.close();
      runtime = null;
    }
  });

  test("answering a run that does not exist or never asked", async () => {
    const { runtime: rt, worker } = await acpRuntime();
    const run = await turn(rt, worker, "hi");
    const none = await rt.answerPermission(worker, run.run_id, { option_id: "allow" }).catch((e: RuntimeError) => e);
    expect((none as RuntimeError).code).toBe("no_pending_permission");
    const missing = await rt.answerPermission(worker, "r-nope", { option_id: "allow" }).catch((e: RuntimeError) => e);
    expect((missing as RuntimeError).code).toBe("run_not_found");
    const bad = await rt.answerPermission(worker, run.run_id, { option_id: "" } as never).catch((e: RuntimeError) => e);
    expect((bad as RuntimeError).code).toBe("invalid_request");
  });
});

describe("acp: failures have clear codes and leave the worker usable", () => {
  test("a program that does not exist: spawn_failed", async () => {
    runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: builtinBackends,
      profiles: { agent: { backend: "acp", command: [s.path("no-such-agent")] } },
      default_profile: "agent",
    });
    const worker = (await runtime.createWorker({})).worker_ref;
    const run = await turn(runtime, worker, "hi");
    expect(run.error).toMatchObject({ code: "spawn_failed" });
    expect((await runtime.getWorker(worker)).status).toBe("idle");
  });

  test("initialize not answered within startup_timeout_s: agent_start_timeout, and the process is ended", async () => {
    const { runtime: rt, worker } = await acpRuntime(["--hang-init"], { startup_timeout_s: 0.5 });
    const run = await turn(rt, worker, "hi");
    expect(run.error).toMatchObject({ code: "agent_start_timeout" });
    // Whether or not it got as far as reading initialize, no process of it is left.
    expect(processesWithArgument(s.path("agent.log"))).toEqual([]);
  });

  for (const [name, step] of [
    ["a line that is not JSON-RPC", { garbage: "this is not json" }],
    ["a response to an id never sent", { stray_response: true }],
  ] as const) {
    test(`${name}: protocol_error, the process is ended, the next input works`, async () => {
      const { runtime: rt, worker } = await acpRuntime();
      const before = await whoami(rt, worker);
      const run = await turn(rt, worker, script({ chunk: "a" }, step, { wait_cancel: true }));
      expect(run.error).toMatchObject({ code: "protocol_error" });
      expect(JSON.stringify(run.error)).not.toContain("this is not json");
      expect(isRunning(before.pid)).toBe(false);
      const after = await whoami(rt, worker);
      expect(after.pid).not.toBe(before.pid);
    });
  }

  test("an agent that requires authentication: agent_auth_required listing its methods", async () => {
    const { runtime: rt, worker } = await acpRuntime(["--auth"]);
    const run = await turn(rt, worker, "hi");
    expect(run.error).toMatchObject({
      code: "agent_auth_required",
      details: { auth_methods: [{ id: "fake-login", name: "Fake login", description: "run `fake login`" }] },
    });
    expect((await rt.getWorker(worker)).status).toBe("idle");
  });

  test("the input never reaches the runtime's logs", async () => {
    const lines: string[] = [];
    const logger = {
      debug: (m: string, f?: object) => lines.push(m + JSON.stringify(f ?? {})),
      info: (m: string, f?: object) => lines.push(m + JSON.stringify(f ?? {})),
      warn: (m: string, f?: object) => lines.push(m + JSON.stringify(f ?? {})),
      error: (m: string, f?: object) => lines.push(m + JSON.stringify(f ?? {})),
    };
    runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: builtinBackends,
      profiles: { agent: { backend: "acp", command: fakeAgent() } },
      default_profile: "agent",
      logger,
    });
    const worker = (await runtime.createWorker({})).worker_ref;
    const run = await turn(runtime, worker, script({ chunk: "secret-sauce-42" }, { exit: 2 }));
    expect(run.error!.code).toBe("agent_exited");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain("secret-sauce-42");
  });
});

describe("acp: profile settings are validated strictly at start-up", () => {
  for (const [what, settings, key] of [
    ["an unknown key", { command: ["x"], shell: true }, "profiles.agent"],
    ["a bad permission policy", { command: ["x"], permission: "maybe" }, "profiles.agent.permission"],
    ["no command", {}, "profiles.agent"],
    ["an empty command", { command: [] }, "profiles.agent.command"],
    ["a bad mcp server", { command: ["x"], mcp_servers: [{ name: "m", url: "http://x" }] }, "profiles.agent.mcp_servers"],
    ["a zero idle shutdown", { command: ["x"], idle_shutdown_s: 0 }, "profiles.agent.idle_shutdown_s"],
  ] as const) {
    test(`${what} is refused, naming the key`, async () => {
      const error = await Runtime.open({
        store: new MemoryStore(),
        backends: builtinBackends,
        profiles: { agent: { backend: "acp", ...settings } as ProfileConfig },
      }).catch((e: RuntimeError) => e);
      expect(error).toBeInstanceOf(RuntimeError);
      expect((error as RuntimeError).code).toBe("invalid_request");
      expect((error as RuntimeError).message).toContain(key);
    });
  }

  test("mcp_servers are passed as ACP describes them", async () => {
    const settings = {
      mcp_servers: [
        { name: "files", command: "/usr/bin/mcp-files", args: ["--root", "/tmp"], env: [{ name: "A", value: "1" }] },
        { type: "http", name: "web", url: "http://127.0.0.1:9/mcp", headers: [{ name: "X-Key", value: "k" }] },
      ],
    };
    const { runtime: rt, worker } = await acpRuntime([], settings);
    expect((await turn(rt, worker, "hi")).status).toBe("completed");
    expect(log().find((l) => l.method === "session/new")!.mcpServers).toEqual(settings.mcp_servers);
  });
});
