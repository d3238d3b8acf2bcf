import { describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, builtinBackends, type WorkerRef } from "../../src/index.ts";
import { Probe, expectCode, openRuntime, scriptedBackend } from "./helpers.ts";

/** A worker with `n` system entries "e0".."e<n-1>" (sequences 0..n-1). */
async function workerWithEntries(runtime: Runtime, n: number): Promise<WorkerRef> {
  const { worker_ref } = await runtime.createWorker({});
  for (let i = 0; i < n; i++) await runtime.sendInput(worker_ref, { kind: "system", content: `e${i}` });
  return worker_ref;
}

describe("transcript (§6.1)", () => {
  test("entries are numbered from 0 without gaps across user, system and assistant entries", async () => {
    const runtime = await openRuntime();
    const { worker_ref } = await runtime.createWorker({});
    await runtime.sendInput(worker_ref, { kind: "system", content: "be brief" });
    for (let i = 0; i < 3; i++) {
      const ack = await runtime.sendInput(worker_ref, { kind: "user", content: `q${i}` });
      const run = await runtime.waitRun(worker_ref, ack.run_id!, 20_000);
      expect(run.input_sequence).toBe(ack.transcript_sequence!);
      expect(run.output_sequence).toBe(ack.transcript_sequence! + 1);
    }
    const page = await runtime.transcript(worker_ref);
    expect(page.total_items).toBe(7);
    expect(page.items.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(page.items.map((e) => [e.role, e.content])).toEqual([
      ["system", "be brief"],
      ["user", "q0"],
      ["assistant", "q0"],
      ["user", "q1"],
      ["assistant", "q1"],
      ["user", "q2"],
      ["assistant", "q2"],
    ]);
    for (const entry of page.items) {
      expect(entry.worker_ref).toEqual(worker_ref);
      expect(entry.partial).toBe(false);
      expect(Number.isNaN(Date.parse(entry.created_at))).toBe(false);
    }
    // Each user entry and its assistant reply carry the run id; the entry's event is the one that recorded it.
    const runs = (await runtime.listRuns(worker_ref)).runs;
    expect(page.items[1]!.run_id).toBe(runs[0]!.run_id);
    expect(page.items[2]!.run_id).toBe(runs[0]!.run_id);
    const events = (await runtime.readEvents({ worker_id: worker_ref.worker_id })).events;
    const byId = new Map(events.map((e) => [e.id, e]));
    expect(byId.get(page.items[1]!.event_id)?.kind).toBe("worker_input_accepted");
    expect(byId.get(page.items[2]!.event_id)?.kind).toBe("run_completed");
    expect(page).toMatchObject({ worker_ref, start: 0, limit: 100, next_start: null });
    await runtime.close();
  });

  test("start and limit page through the transcript with next_start", async () => {
    const runtime = await openRuntime();
    const ref = await workerWithEntries(runtime, 25);
    const contents: string[] = [];
    let start: number | null = 0;
    let pages = 0;
    while (start !== null) {
      const page = await runtime.transcript(ref, { start, limit: 10 });
      expect(page.start).toBe(start);
      expect(page.limit).toBe(10);
      expect(page.total_items).toBe(25);
      contents.push(...page.items.map((e) => e.content));
      start = page.next_start;
      pages++;
    }
    expect(pages).toBe(3);
    expect(contents).toEqual(Array.from({ length: 25 }, (_, i) => `e${i}`));
    const middle = await runtime.transcript(ref, { start: 7, limit: 3 });
    expect(middle.items.map((e) => e.sequence)).toEqual([7, 8, 9]);
    expect(middle.next_start).toBe(10);
    // Past the end: empty, no next page.
    const beyond = await runtime.transcript(ref, { start: 40 });
    expect(beyond).toMatchObject({ start: 40, items: [], next_start: null, total_items: 25 });
    await runtime.close();
  });

  test("tail returns the last N entries; a tail bigger than the transcript returns all of it", async () => {
    const runtime = await openRuntime();
    const ref = await workerWithEntries(runtime, 12);
    const tail = await runtime.transcript(ref, { tail: 5 });
    expect(tail.items.map((e) => e.sequence)).toEqual([7, 8, 9, 10, 11]);
    expect(tail).toMatchObject({ start: 7, total_items: 12, next_start: null });
    const all = await runtime.transcript(ref, { tail: 50 });
    expect(all.items.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(all.start).toBe(0);
    expect((await runtime.transcript(ref, { tail: 0 })).items).toEqual([]);
    const empty = (await runtime.createWorker({})).worker_ref;
    expect(await runtime.transcript(empty, { tail: 10 })).toMatchObject({ start: 0, items: [], total_items: 0, next_start: null });
    await runtime.close();
  });

  test("limit above max_transcript_projection_items fails limit_too_large; the max itself is fine", async () => {
    const runtime = await openRuntime({ limits: { max_transcript_projection_items: 8 } });
    const ref = await workerWithEntries(runtime, 20);
    const err = await expectCode(runtime.transcript(ref, { limit: 9 }), "limit_too_large");
    expect(err.details).toEqual({ max: 8 });
    await expectCode(runtime.transcript(ref, { tail: 9 }), "limit_too_large");
    const page = await runtime.transcript(ref, { limit: 8 });
    expect(page.items).toHaveLength(8);
    expect(page.next_start).toBe(8);
    // The default page size never exceeds the configured maximum.
    const fallback = await runtime.transcript(ref);
    expect(fallback.limit).toBe(8);
    expect(fallback.items).toHaveLength(8);
    await runtime.close();
  });

  test("negative, fractional, non-numeric or zero-sized page parameters fail invalid_request", async () => {
    const runtime = await openRuntime();
    const ref = await workerWithEntries(runtime, 3);
    const bad = [
      { start: -1 },
      { start: 1.5 },
      { start: Number.NaN },
      { limit: -5 },
      { limit: 2.5 },
      { limit: 0 },
      { limit: Number.POSITIVE_INFINITY },
      { tail: -1 },
      { tail: 0.5 },
      { start: "1" as never },
      { start: 1, tail: 2 },
    ];
    for (const query of bad) await expectCode(runtime.transcript(ref, query), "invalid_request");
    await runtime.close();
  });

  test("a cancelled run keeps its partial output, marked partial", async () => {
    const probe = new Probe();
    const runtime = await openRuntime({ probe });
    const { worker_ref } = await runtime.createWorker({ profile: { kind: "named", value: "hold" } });
    const events = runtime.subscribe({ worker_id: worker_ref.worker_id });
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "tell me" });
    // Wait for the delta to reach the runtime before cancelling.
    for await (const event of events) if (event.kind === "run_output_delta") break;
    await runtime.cancelRun(worker_ref);
    const run = await runtime.getRun(worker_ref, ack.run_id!);
    expect(run).toMatchObject({ status: "cancelled", partial: true, output_sequence: 1 });
    const page = await runtime.transcript(worker_ref);
    expect(page.items.map((e) => [e.role, e.content, e.partial])).toEqual([
      ["user", "tell me", false],
      ["assistant", "partial answer", true],
    ]);
    expect(page.items[1]!.run_id).toBe(ack.run_id);
    await runtime.close();
  });

  test("a run cancelled before any output adds no assistant entry", async () => {
    const runtime = await openRuntime();
    const { worker_ref } = await runtime.createWorker({ profile: { kind: "named", value: "slow" } });
    const ack = await runtime.sendInput(worker_ref, { kind: "user", content: "x" });
    await runtime.cancelRun(worker_ref);
    expect(await runtime.getRun(worker_ref, ack.run_id!)).toMatchObject({ status: "cancelled", output_sequence: null, partial: false });
    expect((await runtime.transcript(worker_ref)).total_items).toBe(1);
    // The next input continues the numbering.
    const next = await runtime.sendInput(worker_ref, { kind: "system", content: "y" });
    expect(next.transcript_sequence).toBe(1);
    await runtime.close();
  });

  test("sequences stay dense when inputs to many workers interleave", async () => {
    const runtime = await openRuntime();
    const refs = await Promise.all(Array.from({ length: 8 }, () => runtime.createWorker({}).then((w) => w.worker_ref)));
    await Promise.all(
      refs.map(async (ref) => {
        for (let i = 0; i < 10; i++) {
          const ack = await runtime.sendInput(ref, { kind: i % 3 === 0 ? "system" : "user", content: `m${i}` });
          if (ack.run_id) await runtime.waitRun(ref, ack.run_id, 20_000);
        }
      }),
    );
    for (const ref of refs) {
      const page = await runtime.transcript(ref, { limit: 256 });
      expect(page.items.map((e) => e.sequence)).toEqual(Array.from({ length: page.total_items }, (_, i) => i));
      expect(page.total_items).toBe(4 + 6 * 2);
    }
    await runtime.close();
  });

  test("history given to a backend is the transcript before the run's input", async () => {
    const seen: string[][] = [];
    const historian = scriptedBackend("historian", async function* ({ history, input }) {
      seen.push((await history(3)).map((e) => `${e.role}:${e.content}`));
      yield { type: "delta", text: `re:${input}` };
    });
    const runtime = await Runtime.open({
      store: new MemoryStore(),
      backends: [...builtinBackends, historian],
      profiles: { h: { backend: "historian" } },
      default_profile: "h",
    });
    const { worker_ref } = await runtime.createWorker({});
    await runtime.sendInput(worker_ref, { kind: "system", content: "ctx" });
    for (const q of ["a", "b"]) {
      const ack = await runtime.sendInput(worker_ref, { kind: "user", content: q });
      await runtime.waitRun(worker_ref, ack.run_id!, 20_000);
    }
    expect(seen).toEqual([["system:ctx"], ["system:ctx", "user:a", "assistant:re:a"]]);
    await runtime.close();
  });
});
