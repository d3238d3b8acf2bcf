import { describe, expect, test } from "bun:test";
import { RuntimeError, type CreateWorkerRequest } from "../../src/index.ts";
import { expectCode, openRuntime } from "./helpers.ts";

describe("createWorker (§4)", () => {
  test("{} creates an idle assistant worker on the runtime default profile", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({});
    expect(worker.status).toBe("idle");
    expect(worker.intent).toEqual({ kind: "assistant" });
    expect(worker.intent_kind).toBe("assistant");
    expect(worker.profile).toEqual({ name: "echo", backend: "echo" });
    expect(worker.config_bundle).toBeNull();
    expect(worker.requested_capabilities).toEqual([]);
    expect(worker.workspace_refs).toEqual([]);
    expect(worker.mount_refs).toEqual([]);
    expect(worker.transcript_items).toBe(0);
    expect(worker.run_count).toBe(0);
    expect(worker.active_run_id).toBeNull();
    expect(worker.display_name).toBeNull();
    expect(worker.stopped_reason).toBeNull();
    expect(worker.unavailable_reason).toBeNull();
    expect(Number.isNaN(Date.parse(worker.created_at))).toBe(false);
    expect(await runtime.getWorker(worker.worker_ref)).toEqual(worker);
    // No argument at all behaves like {}.
    expect((await runtime.createWorker()).intent).toEqual({ kind: "assistant" });
    await runtime.close();
  });

  test("the runtime default profile follows default_profile", async () => {
    const runtime = await openRuntime({ default_profile: "slow" });
    expect((await runtime.createWorker({})).profile).toEqual({ name: "slow", backend: "echo" });
    expect((await runtime.createWorker({ profile: { kind: "runtime_default" } })).profile.name).toBe("slow");
    // `builtin echo` is the builtin profile, whatever the default.
    expect((await runtime.createWorker({ profile: { kind: "builtin", value: "echo" } })).profile.name).toBe("echo");
    const summary = await runtime.summary();
    expect(summary.default_profile).toBe("slow");
    expect(summary.profiles.find((p) => p.name === "slow")?.is_default).toBe(true);
    expect(summary.profiles.find((p) => p.name === "echo")?.is_default).toBe(false);
    await runtime.close();
  });

  test("an unknown default_profile refuses to open", async () => {
    await expectCode(openRuntime({ default_profile: "missing" }), "unknown_profile");
  });

  test("every intent variant is stored as given", async () => {
    const runtime = await openRuntime();
    const intents: NonNullable<CreateWorkerRequest["intent"]>[] = [
      { kind: "assistant" },
      { kind: "assistant", purpose: "answer questions" },
      { kind: "task", objective: "summarise the logs" },
      { kind: "role", role: "reviewer" },
      { kind: "role", role: "reviewer", purpose: "review pull requests" },
    ];
    for (const intent of intents) {
      const worker = await runtime.createWorker({ intent });
      expect(worker.intent).toEqual(intent);
      expect(worker.intent_kind).toBe(intent.kind);
    }
    await runtime.close();
  });

  test("every profile variant resolves at create time", async () => {
    const runtime = await openRuntime();
    expect((await runtime.createWorker({ profile: { kind: "runtime_default" } })).profile).toEqual({ name: "echo", backend: "echo" });
    expect((await runtime.createWorker({ profile: { kind: "builtin", value: "echo" } })).profile).toEqual({ name: "echo", backend: "echo" });
    expect((await runtime.createWorker({ profile: { kind: "named", value: "slow" } })).profile).toEqual({ name: "slow", backend: "echo" });
    expect((await runtime.createWorker({ profile: { kind: "named", value: "hold" } })).profile).toEqual({ name: "hold", backend: "hold" });
    const err = await expectCode(runtime.createWorker({ profile: { kind: "named", value: "nope" } }), "unknown_profile");
    expect(err.details).toEqual({ profile: "nope", configured: expect.arrayContaining(["echo", "slow", "hold"]) });
    await runtime.close();
  });

  const invalidRequests: Array<[string, unknown]> = [
    ["unknown top-level field", { name: "x" }],
    ["unknown intent field", { intent: { kind: "assistant", extra: 1 } }],
    ["unknown intent kind", { intent: { kind: "boss" } }],
    ["task without objective", { intent: { kind: "task" } }],
    ["task with empty objective", { intent: { kind: "task", objective: "" } }],
    ["role without role", { intent: { kind: "role" } }],
    ["unknown profile kind", { profile: { kind: "magic" } }],
    ["builtin other than echo", { profile: { kind: "builtin", value: "slow" } }],
    ["named without value", { profile: { kind: "named" } }],
    ["runtime_default with value", { profile: { kind: "runtime_default", value: "echo" } }],
    ["config_bundle without id", { config_bundle: {} }],
    ["config_bundle with extra field", { config_bundle: { id: "b", version: 2 } }],
    ["capability without name", { requested_capabilities: [{ reason: "x" }] }],
    ["capabilities not an array", { requested_capabilities: { name: "web" } }],
    ["workspace_ref without reference", { workspace_refs: [{ name: "repo" }] }],
    ["mount_ref with unknown field", { mount_refs: [{ name: "m", reference: "r", mode: "rw" }] }],
    ["display_name not a string", { display_name: 5 }],
    ["request not an object", "worker"],
    ["request null", null],
    ["request an array", []],
  ];
  for (const [name, request] of invalidRequests) {
    test(`${name} fails invalid_request and creates nothing`, async () => {
      const runtime = await openRuntime();
      const before = (await runtime.summary()).last_event_id;
      const err = await expectCode(runtime.createWorker(request as CreateWorkerRequest), "invalid_request");
      expect(err.message).toContain("create request");
      expect((await runtime.listWorkers()).workers).toEqual([]);
      expect((await runtime.summary()).last_event_id).toBe(before);
      await runtime.close();
    });
  }

  test("a requested capability the profile does not offer fails unsupported_capability", async () => {
    const runtime = await openRuntime();
    const err = await expectCode(
      runtime.createWorker({ worker_id: "w1", requested_capabilities: [{ name: "web" }] }),
      "unsupported_capability",
    );
    expect(err.details).toEqual({ capability: "web", profile: "echo" });
    await expectCode(runtime.getWorker("w1"), "worker_not_found");
    // The `web` profile offers web and files, but not shell.
    const web = { kind: "named", value: "web" } as const;
    const worker = await runtime.createWorker({
      profile: web,
      requested_capabilities: [{ name: "web", reason: "look things up" }, { name: "files" }],
    });
    expect(worker.requested_capabilities).toEqual([{ name: "web", reason: "look things up" }, { name: "files" }]);
    await expectCode(
      runtime.createWorker({ profile: web, requested_capabilities: [{ name: "web" }, { name: "shell" }] }),
      "unsupported_capability",
    );
    const summary = await runtime.summary();
    expect(summary.profiles.find((p) => p.name === "web")?.capabilities).toEqual(["web", "files"]);
    expect(summary.profiles.find((p) => p.name === "echo")?.capabilities).toEqual([]);
    expect(summary.capabilities).toEqual(["files", "web"]);
    await runtime.close();
  });

  test("mount refs are recorded; a workspace ref needs a configured workspace (unknown_workspace, no worker)", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ mount_refs: [{ name: "data", reference: "volume:data" }] });
    expect(worker.mount_refs).toEqual([{ name: "data", reference: "volume:data" }]);
    expect(worker.workspace_refs).toEqual([]);
    await expectCode(
      runtime.createWorker({ worker_id: "ws", workspace_refs: [{ name: "repo", reference: "main" }] }),
      "unknown_workspace",
    );
    await expectCode(runtime.getWorker("ws"), "worker_not_found");
    await runtime.close();
  });

  test("config_bundle is recorded, with a config_bundle_unresolved warning diagnostic and event", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ worker_id: "w1", config_bundle: { id: "bundle-7" } });
    expect(worker.config_bundle).toEqual({ id: "bundle-7" });
    const diagnostics = await runtime.diagnostics();
    const diagnostic = diagnostics.find((d) => d.code === "config_bundle_unresolved");
    expect(diagnostic).toBeDefined();
    expect(diagnostic!.level).toBe("warning");
    expect(diagnostic!.worker_ref).toEqual(worker.worker_ref);
    expect(diagnostic!.message).toContain("bundle-7");
    expect((await runtime.summary()).diagnostic_count).toBe(diagnostics.length);

    const { events } = await runtime.readEvents({ worker_id: "w1" });
    expect(events.map((e) => e.kind)).toEqual(["worker_created", "diagnostic"]);
    expect(events[1]!.kind === "diagnostic" && events[1]!.data.diagnostic).toEqual(diagnostic!);
    // No bundle, no diagnostic.
    await runtime.createWorker({ worker_id: "w2" });
    expect((await runtime.readEvents({ worker_id: "w2" })).events.map((e) => e.kind)).toEqual(["worker_created"]);
    expect((await runtime.diagnostics()).length).toBe(diagnostics.length);
    await runtime.close();
  });

  test("the worker keeps what was requested even if the caller later changes its request object", async () => {
    const runtime = await openRuntime();
    const template = {
      intent: { kind: "task" as const, objective: "first" },
      requested_capabilities: [{ name: "web" }],
      mount_refs: [{ name: "repo", reference: "one" }],
      profile: { kind: "named" as const, value: "web" },
    };
    const first = await runtime.createWorker(template);
    template.intent.objective = "second";
    template.requested_capabilities.push({ name: "files" });
    template.mount_refs[0]!.reference = "two";
    const again = await runtime.getWorker(first.worker_ref);
    expect(again.intent).toEqual({ kind: "task", objective: "first" });
    expect(again.requested_capabilities).toEqual([{ name: "web" }]);
    expect(again.mount_refs).toEqual([{ name: "repo", reference: "one" }]);
    await runtime.close();
  });

  test("worker_created is emitted with the worker_ref", async () => {
    const runtime = await openRuntime();
    const worker = await runtime.createWorker({ worker_id: "w1", display_name: "One" });
    const { events } = await runtime.readEvents({ worker_id: "w1" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "worker_created", worker_ref: worker.worker_ref, run_id: null });
    expect(events[0]!.data).toMatchObject({ display_name: "One", profile: worker.profile, intent_kind: "assistant" });
    expect(worker.last_event_id).toBe(events[0]!.id);
    await runtime.close();
  });

  test("a duplicate worker_id fails worker_exists and leaves the first worker as it was", async () => {
    const runtime = await openRuntime();
    const first = await runtime.createWorker({ worker_id: "dup", display_name: "first" });
    const err = await expectCode(runtime.createWorker({ worker_id: "dup", display_name: "second" }), "worker_exists");
    expect(err.details).toEqual({ worker_id: "dup" });
    expect(await runtime.getWorker("dup")).toEqual(first);
    await runtime.close();
  });

  test("of 50 concurrent creates of one worker_id exactly one wins", async () => {
    const runtime = await openRuntime();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => runtime.createWorker({ worker_id: "race", display_name: `n${i}` })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(RuntimeError);
      expect(r.reason.code).toBe("worker_exists");
    }
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof runtime.createWorker>>>).value;
    expect((await runtime.getWorker("race")).display_name).toBe(winner.display_name);
    expect((await runtime.readEvents({ worker_id: "race" })).events).toHaveLength(1);
    await runtime.close();
  });

  test("limits.max_workers is enforced, also under concurrency, and deleting frees a slot", async () => {
    const runtime = await openRuntime({ limits: { max_workers: 3 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => runtime.createWorker({})));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as RuntimeError).code).toBe("worker_limit_reached");
    }
    await expectCode(runtime.createWorker({ worker_id: "extra" }), "worker_limit_reached");
    const { workers } = await runtime.listWorkers();
    expect(workers).toHaveLength(3);
    await runtime.deleteWorker(workers[0]!.worker_ref);
    expect((await runtime.createWorker({ worker_id: "extra" })).worker_ref.worker_id).toBe("extra");
    await runtime.close();
  });

  test("max_workers = 0 refuses every create", async () => {
    const runtime = await openRuntime({ limits: { max_workers: 0 } });
    await expectCode(runtime.createWorker({}), "worker_limit_reached");
    await runtime.close();
  });

  test("invalid limits and profiles refuse to open", async () => {
    await expectCode(openRuntime({ limits: { max_workers: -1 } }), "invalid_request");
    await expectCode(openRuntime({ limits: { max_input_bytes: 1.5 } }), "invalid_request");
    await expectCode(openRuntime({ limits: { unknown_limit: 1 } as never }), "invalid_request");
    await expectCode(openRuntime({ profiles: { bad: { backend: "nope" } } }), "invalid_request");
    await expectCode(openRuntime({ profiles: { bad: { backend: "echo", delay_ms: -1 } } }), "invalid_request");
    await expectCode(openRuntime({ profiles: { bad: { backend: "echo", colour: "red" } } }), "invalid_request");
    await expectCode(openRuntime({ profiles: { bad: { backend: "echo", timeout_s: 0 } } }), "invalid_request");
    await expectCode(openRuntime({ profiles: { echo: { backend: "hold" } } }), "invalid_request");
  });
});
