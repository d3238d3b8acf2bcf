import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, expectCode, fsHarness, parseAll, runtimeOptions, scratchDir, until } from "./helpers.ts";

afterAll(cleanScratch);

/** Copies a live store's files, as a crash would leave them. */
function snapshot(root: string): string {
  const copy = scratchDir("copy");
  rmSync(copy, { recursive: true });
  cpSync(root, copy, { recursive: true });
  return copy;
}

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean);

describe("FsStore restart and recovery", () => {
  test("state.json behind the logs (no journal left): the snapshot follows the logs", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    await runtime.createWorker({ worker_id: "lag" });
    await runtime.createWorker({ worker_id: "held", profile: { kind: "named", value: "hold" } });
    for (let i = 0; i < 4; i++) await converse(runtime, "lag", `m${i}`);
    await runtime.sendInput("lag", { kind: "system", content: "note" });
    const ack = await runtime.sendInput("held", { kind: "user", content: "stays open" });
    // Reading a log writes out what waits for it (appends are written behind the journal).
    for (const id of ["lag", "held"]) {
      await runtime.transcript(id, {});
      await runtime.listRuns(id, {});
    }
    const copy = snapshot(harness.root());
    await runtime.close();
    // state.json still says what it said at create; only the logs know better.
    expect(JSON.parse(readFileSync(join(copy, "workers/lag/state.json"), "utf8"))).toMatchObject({ transcript_items: 0, run_count: 0 });
    rmSync(join(copy, "wal"), { recursive: true });

    const reopened = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      expect(await reopened.getWorker("lag")).toMatchObject({ status: "idle", transcript_items: 9, run_count: 4 });
      const held = await reopened.getWorker("held");
      expect(held).toMatchObject({ status: "idle", transcript_items: 1, run_count: 1 });
      expect((await reopened.getRun("held", ack.run_id!)).status).toBe("interrupted");
      const next = await reopened.sendInput("lag", { kind: "system", content: "next" });
      expect(next.transcript_sequence).toBe(9);
      // Ids the logs recorded are not handed out again.
      expect(next.event_id!).toBeGreaterThan(ack.event_id!);
    } finally {
      await reopened.close();
    }
    const state = JSON.parse(readFileSync(join(copy, "workers/lag/state.json"), "utf8"));
    expect(state).toMatchObject({ transcript_items: 10, run_count: 4, status: "idle" });
  });

  test("replaying the journal over files that already hold its writes duplicates nothing", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    await runtime.createWorker({ worker_id: "twice" });
    for (let i = 0; i < 3; i++) await converse(runtime, "twice", `m${i}`);
    const copy = snapshot(harness.root());
    await runtime.close();
    expect(readdirSync(join(copy, "wal")).length).toBeGreaterThan(0);
    for (let round = 0; round < 2; round++) {
      const reopened = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
      expect((await reopened.getWorker("twice")).transcript_items).toBe(6);
      await reopened.close();
    }
    expect(lines(join(copy, "workers/twice/transcript.jsonl")).length).toBe(6);
    expect(lines(join(copy, "workers/twice/runs.jsonl")).length).toBe(6);
    const ids = (parseAll(copy).get("events/1.jsonl") as Array<{ id: number }>).map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
  });

  test("writes lost from the layout files are redone from the journal", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const runtime = await harness.open();
    await runtime.createWorker({ worker_id: "lost" });
    await converse(runtime, "lost", "keep me");
    const copy = snapshot(harness.root());
    await runtime.close();
    // As after a power cut: the journal was synced, the worker's logs were not.
    rmSync(join(copy, "workers/lost/transcript.jsonl"));
    rmSync(join(copy, "workers/lost/runs.jsonl"));
    const reopened = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      expect((await reopened.transcript("lost", {})).items.map((e) => e.content)).toEqual(["keep me", "keep me"]);
      expect((await reopened.listRuns("lost", {})).runs.map((r) => r.status)).toEqual(["completed"]);
      expect((await reopened.diagnostics()).some((d) => d.code === "store_recovered")).toBe(true);
    } finally {
      await reopened.close();
    }
  });

  test("a shutdown with many workers to checkpoint keeps the journal; the next start replays, then retires it", async () => {
    const root = scratchDir("many");
    const options = { root, durability: "none" as const, checkpoint_interval_ms: 60_000 };
    const first = await Runtime.open(runtimeOptions(new FsStore(options)));
    const ids = Array.from({ length: 1100 }, (_, i) => `m${i}`);
    await Promise.all(ids.map((worker_id) => first.createWorker({ worker_id })));
    await Promise.all(ids.map((id) => first.sendInput(id, { kind: "system", content: `hello ${id}` })));
    await first.stopWorker("m7", "resting");
    await first.close();
    expect(readdirSync(join(root, "wal")).length).toBeGreaterThan(0);
    // state.json still describes the worker as created; the journal knows better.
    expect(JSON.parse(readFileSync(join(root, "workers/m7/state.json"), "utf8"))).toMatchObject({ status: "idle", transcript_items: 0 });

    const second = await Runtime.open(runtimeOptions(new FsStore({ ...options, checkpoint_interval_ms: 1 })));
    try {
      expect(await second.getWorker("m7")).toMatchObject({ status: "stopped", stopped_reason: "resting", transcript_items: 1 });
      expect((await second.transcript("m1099", {})).items.map((e) => e.content)).toEqual(["hello m1099"]);
      expect((await second.summary()).workers).toMatchObject({ total: 1100, stopped: 1, unavailable: 0 });
      // The first checkpoint after the start rewrites state.json and retires the replayed journal.
      await until(() => JSON.parse(readFileSync(join(root, "workers/m7/state.json"), "utf8")).status === "stopped", "state.json rewritten");
      await until(() => readdirSync(join(root, "wal")).length === 1, "replayed journal retired");
    } finally {
      await second.close();
    }
    expect(readdirSync(join(root, "wal"))).toEqual([]);
  });

  test("pages anywhere in a long transcript of uneven entries are exact, with no index kept", async () => {
    const root = scratchDir("pages");
    const first = await Runtime.open(runtimeOptions(new FsStore({ root, durability: "none" }), { limits: { max_input_bytes: 400_000 } }));
    await first.createWorker({ worker_id: "long" });
    const expected: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // Mostly short entries, some over the 64 KiB read window.
      const content = i % 997 === 5 ? `big-${i}-${"y".repeat(150_000)}` : `entry-${i}-${"x".repeat((i * 7919) % 300)}`;
      expected.push(content);
      await first.sendInput("long", { kind: "system", content });
    }
    await first.close();
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      let seed = 7;
      const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
      for (let k = 0; k < 150; k++) {
        const start = Math.floor(random() * 3000);
        const limit = 1 + Math.floor(random() * 100);
        const page = await runtime.transcript("long", { start, limit });
        const count = Math.min(limit, 3000 - start);
        expect(page.items.map((e) => e.sequence)).toEqual(Array.from({ length: count }, (_, i) => start + i));
        expect(page.items.map((e) => e.content)).toEqual(expected.slice(start, start + count));
      }
      expect((await runtime.transcript("long", { tail: 3 })).items.map((e) => e.sequence)).toEqual([2997, 2998, 2999]);
      // Paging from the start to the end visits every entry once.
      let next: number | null = 0;
      let seen = 0;
      while (next !== null) {
        const page = await runtime.transcript("long", { start: next, limit: 256 });
        seen += page.items.length;
        next = page.next_start;
      }
      expect(seen).toBe(3000);
    } finally {
      await runtime.close();
    }
  });

  test("event segments: a new file every N events, the oldest removed whole, the first retained id exact", async () => {
    const root = scratchDir("segments");
    const options = { limits: { max_retained_events: 50 } };
    const first = await Runtime.open(runtimeOptions(new FsStore({ root, events_per_segment: 10 }), options));
    await first.createWorker({ worker_id: "e" });
    await first.createWorker({ worker_id: "other" });
    for (let i = 0; i < 60; i++) await converse(first, i % 3 === 0 ? "other" : "e", `m${i}`);
    const last = (await first.summary()).last_event_id;
    await first.close();

    const segments = readdirSync(join(root, "events")).filter((name) => name.endsWith(".jsonl")).map((name) => Number(name.replace(".jsonl", ""))).sort((a, b) => a - b);
    expect(segments.length).toBeLessThanOrEqual(7);
    expect(segments.length).toBeGreaterThanOrEqual(5);
    for (const first of segments) {
      const ids = (parseAll(root).get(`events/${first}.jsonl`) as Array<{ id: number }>).map((e) => e.id);
      expect(ids[0]).toBe(first);
      expect(ids.length).toBeLessThanOrEqual(10);
    }
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root, events_per_segment: 10 }), options));
    try {
      const oldest = segments[0]!;
      const error = await expectCode(runtime.readEvents({ after: oldest - 2 }), "cursor_expired");
      expect(error.details!.oldest_event_id).toBe(oldest);
      const all = (await runtime.readEvents({ after: oldest - 1 }, 256)).events;
      expect(all[0]!.id).toBe(oldest);
      expect(all.map((e) => e.id)).toEqual(all.map((_, i) => oldest + i));
      expect(all.length).toBeGreaterThanOrEqual(50);
      expect(all.some((e) => e.id === last + 1 && e.kind === "runtime_stopped")).toBe(true);
      // A worker filter reads across segments written before the restart.
      const filtered = (await runtime.readEvents({ after: oldest - 1, worker_id: "other" }, 256)).events;
      expect(filtered.length).toBeGreaterThan(0);
      expect(filtered).toEqual(all.filter((e) => e.worker_ref?.worker_id === "other"));
      // Small pages walk the same events.
      const walked: number[] = [];
      let after = oldest - 1;
      for (;;) {
        const batch = await runtime.readEvents({ after }, 7);
        walked.push(...batch.events.map((e) => e.id));
        if (!batch.has_more) break;
        after = batch.next_after;
      }
      expect(walked.slice(0, all.length)).toEqual(all.map((e) => e.id));
    } finally {
      await runtime.close();
    }
  });
});
