import { describe, expect, test } from "bun:test";
import {
  BackendError,
  MemoryStore,
  Runtime,
  builtinBackends,
  type RunContext,
  type RunOutput,
} from "../../src/index.ts";
import { Probe, aborted, expectCode, openRuntime, scriptedBackend } from "./helpers.ts";

/** A runtime whose default profile runs `script`; extra profile settings (e.g. timeout_s) can be given. */
async function runtimeWith(
  script: (context: RunContext) => AsyncIterable<RunOutput>,
  profile: Record<string, unknown> = {},
): Promise<Runtime> {
  return Runtime.open({
    store: new MemoryStore(),
    backends: [...builtinBackends, scriptedBackend("scripted", script)],
    profiles: { scripted: { backend: "scripted", ...profile } },
    default_profile: "scripted",
  });
}

async function runOnce(runtime: Runtime, content = "go") {
  const { worker_ref } = await runtime.createWorker({});
  const ack = await runtime.sendInput(worker_ref, { kind: "user", content });
  const run = await runtime.waitRun(worker_ref, ack.run_id!, 20_000);
  return { worker_ref, ack, run };
}

describe("failing runs (§5)", () => {
  test("a backend error fails the run with its cause, keeps partial output, emits a diagnostic, leaves the worker idle", async () => {
    const runtime = await openRuntime();
    const { worker_ref } = await runtime.createWorker({ profile: { kind: "named", value: "fail" } });
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "go" });
    const run = await runtime.waitRun(worker_ref, ack.run_id!, 20_000);
    expect(run).toMatchObject({
      status: "failed",
      error: { code: "backend_error", message: "backend exploded" },
      partial: true,
      output_sequence: 1,
    });
    expect(run.finished_at).not.toBeNull();
    expect((await runtime.getWorker(worker_ref)).status).toBe("idle");
    const transcript = await runtime.transcript(worker_ref);
    expect(transcript.items.at(-1)).toMatchObject({ role: "assistant", content: "half", partial: true, run_id: ack.run_id });

    const diagnostic = (await runtime.diagnostics()).find((d) => d.code === "run_failed");
    expect(diagnostic).toMatchObject({ level: "warning", worker_ref, run_id: ack.run_id });
    expect(diagnostic!.message).toContain("backend exploded");
    const events = (await runtime.readEvents({ worker_id: worker_ref.worker_id })).events;
    expect(events.map((e) => e.kind).slice(-2)).toEqual(["run_failed", "diagnostic"]);
    const [ended, reported] = events.slice(-2);
    expect(reported!.kind === "diagnostic" && reported!.data.diagnostic).toEqual(diagnostic!);
    expect(ended!.kind === "run_failed" && ended!.data.run.status).toBe("failed");
    expect((await runtime.summary()).diagnostic_count).toBeGreaterThanOrEqual(1);

    // The worker takes input again after a failure.
    const next = await runtime.sendInput(worker_ref, { kind: "user", content: "again" });
    expect((await runtime.waitRun(worker_ref, next.run_id!, 20_000)).status).toBe("failed");
    await runtime.close();
  });

  test("a BackendError's code is the run's error code", async () => {
    const runtime = await runtimeWith(async function* () {
      throw new BackendError("exit_code", "exited with status 3: boom", { exit_code: 3 });
    });
    const { run } = await runOnce(runtime);
    expect(run).toMatchObject({ status: "failed", error: { code: "exit_code", message: "exited with status 3: boom" }, partial: false, output_sequence: null });
    await runtime.close();
  });

  test("throwing a non-Error value or failing before the first yield still ends the run failed", async () => {
    const stringThrower = await runtimeWith(async function* () {
      throw "plain string";
    });
    expect((await runOnce(stringThrower)).run).toMatchObject({ status: "failed", error: { code: "backend_error", message: "plain string" } });
    await stringThrower.close();

    const syncThrower = await runtimeWith(() => {
      throw new Error("could not start");
    });
    expect((await runOnce(syncThrower)).run).toMatchObject({ status: "failed", error: { message: "could not start" } });
    await syncThrower.close();

    const notIterable = await runtimeWith(() => 42 as never);
    const { worker_ref, run } = await runOnce(notIterable);
    expect(run.status).toBe("failed");
    expect((await notIterable.getWorker(worker_ref)).status).toBe("idle");
    await notIterable.close();
  });

  test("a backend that throws BackendError(timed_out) ends the run timed_out", async () => {
    const runtime = await runtimeWith(async function* () {
      yield { type: "delta", text: "so far" };
      throw new BackendError("timed_out", "the provider did not answer in time");
    });
    const { worker_ref, run } = await runOnce(runtime);
    expect(run).toMatchObject({ status: "timed_out", error: { code: "timed_out" }, partial: true });
    expect((await runtime.getWorker(worker_ref)).status).toBe("idle");
    const kinds = (await runtime.readEvents({ worker_id: worker_ref.worker_id })).events.map((e) => e.kind);
    expect(kinds).toContain("run_timed_out");
    await runtime.close();
  });

  test("profile timeout_s aborts the backend and ends the run timed_out", async () => {
    const probe = new Probe();
    const runtime = await runtimeWith(
      async function* ({ run_id, signal }) {
        probe.started.add(run_id);
        yield { type: "delta", text: "thinking" };
        await aborted(signal);
        probe.ended.add(run_id);
      },
      { timeout_s: 0.05 },
    );
    const { worker_ref, ack, run } = await runOnce(runtime);
    expect(probe.ended.has(ack.run_id!)).toBe(true);
    expect(run).toMatchObject({ status: "timed_out", partial: true, error: { code: "timed_out" } });
    expect(run.error!.message).toContain("0.05");
    expect((await runtime.getWorker(worker_ref)).status).toBe("idle");
    await runtime.close();
  });

  test("a timeout_s beyond the timer range is refused rather than firing at once", async () => {
    await expectCode(openRuntime({ profiles: { long: { backend: "echo", timeout_s: 3_000_000 } } }), "invalid_request");
    const runtime = await openRuntime({ profiles: { long: { backend: "echo", delay_ms: 50, timeout_s: 2_000_000 } } });
    const { worker_ref } = await runtime.createWorker({ profile: { kind: "named", value: "long" } });
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "x" });
    expect((await runtime.waitRun(worker_ref, ack.run_id!, 20_000)).status).toBe("completed");
    await runtime.close();
  });

  test("an abort error thrown by the backend on cancel ends the run cancelled, not failed", async () => {
    const runtime = await runtimeWith(async function* ({ signal }) {
      yield { type: "delta", text: "x" };
      await aborted(signal);
      throw signal.reason ?? new Error("aborted");
    });
    const { worker_ref } = await runtime.createWorker({});
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "go" });
    await runtime.cancelRun(worker_ref);
    expect((await runtime.getRun(worker_ref, ack.run_id!)).status).toBe("cancelled");
    expect((await runtime.diagnostics()).some((d) => d.code === "run_failed")).toBe(false);
    await runtime.close();
  });

  test("usage reported by the backend is recorded on the run", async () => {
    const runtime = await runtimeWith(async function* ({ input }) {
      yield { type: "delta", text: input.toUpperCase() };
      yield { type: "usage", usage: { input_tokens: 3, output_tokens: 5 } };
    });
    const { run, worker_ref } = await runOnce(runtime, "abc");
    expect(run).toMatchObject({ status: "completed", usage: { input_tokens: 3, output_tokens: 5 }, error: null });
    expect((await runtime.transcript(worker_ref)).items.at(-1)?.content).toBe("ABC");
    await runtime.close();
  });

  test("many deltas are concatenated into one assistant entry; empty deltas are ignored", async () => {
    const runtime = await runtimeWith(async function* () {
      for (const text of ["Hel", "", "lo, ", "wor", "ld"]) yield { type: "delta", text };
    });
    const events = runtime.subscribe();
    const { worker_ref } = await runOnce(runtime);
    const deltas: unknown[] = [];
    for await (const event of events) {
      if (event.kind === "run_output_delta") deltas.push(event.data.delta);
      if (event.kind === "run_completed") break;
    }
    expect(deltas).toEqual(["Hel", "lo, ", "wor", "ld"]);
    expect((await runtime.transcript(worker_ref)).items.at(-1)?.content).toBe("Hello, world");
    await runtime.close();
  });

  test("a worker whose profile disappeared on reopen fails unknown_profile on input but stays readable", async () => {
    const store = new MemoryStore();
    const first = await openRuntime({ store });
    await first.createWorker({ worker_id: "w1", profile: { kind: "named", value: "slow" } });
    await first.close();
    const second = await Runtime.open({ store, backends: builtinBackends });
    expect((await second.getWorker("w1")).profile.name).toBe("slow");
    await expectCode(second.sendInput("w1", { kind: "user", content: "x" }), "unknown_profile");
    expect((await second.getWorker("w1")).status).toBe("idle");
    // System input needs no profile.
    expect((await second.sendInput("w1", { kind: "system", content: "x" })).transcript_sequence).toBe(0);
    await second.close();
  });
});
