import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, listFiles, parseAll, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

describe("FsStore layout (SPEC §8)", () => {
  test("runtime.json, LOCK, events segments and per-worker files are where the spec puts them", async () => {
    const root = scratchDir();
    const store = new FsStore({ root });
    const runtime = await Runtime.open(runtimeOptions(store, { runtime_id: "rt-layout", display_name: "Layout" }));
    await runtime.createWorker({ worker_id: "w1", display_name: "One" });
    await converse(runtime, "w1", "hello");
    expect(JSON.parse(readFileSync(join(root, "LOCK"), "utf8"))).toEqual({ pid: process.pid, start: expect.any(Number), boot_id: expect.any(String) });
    const work = store.workDir("w1");
    expect(work).toBe(join(root, "workers", "w1", "work"));
    expect(statSync(work!).isDirectory()).toBe(true);
    await runtime.close();

    expect(existsSync(join(root, "LOCK"))).toBe(false);
    const files = listFiles(root);
    for (const expected of [
      "runtime.json",
      "events/1.jsonl",
      "workers/w1/worker.json",
      "workers/w1/state.json",
      "workers/w1/runs.jsonl",
      "workers/w1/transcript.jsonl",
      "workers/w1/work/",
    ]) {
      expect(files).toContain(expected);
    }
    // A clean close leaves no journal and no temporary files behind.
    expect(files.filter((f) => f.startsWith("wal/") || f.startsWith("tmp/") || f.includes(".tmp"))).toEqual(["tmp/", "wal/"]);

    const parsed = parseAll(root);
    expect(parsed.get("runtime.json")![0]).toEqual({ id: "rt-layout", display_name: "Layout", created_at: expect.any(String), format_version: 2 });
    // Every JSONL record is sealed with the CRC-32 of its text without the seal.
    for (const [file, records] of parsed) {
      if (!file.endsWith(".jsonl")) continue;
      for (const record of records) expect((record as { crc?: unknown }).crc).toMatch(/^[0-9a-f]{8}$/);
    }
    expect(parsed.get("workers/w1/worker.json")![0]).toMatchObject({
      worker_ref: { runtime_id: "rt-layout", worker_id: "w1" },
      display_name: "One",
      profile: { name: "echo", backend: "echo" },
    });
    expect(parsed.get("workers/w1/state.json")![0]).toMatchObject({ status: "idle", transcript_items: 2, run_count: 1, active_run_id: null });
    const transcript = parsed.get("workers/w1/transcript.jsonl") as Array<{ sequence: number; role: string }>;
    expect(transcript.map((e) => [e.sequence, e.role])).toEqual([
      [0, "user"],
      [1, "assistant"],
    ]);
    // One record per run state: the running one, then the final one (the last per run_id wins).
    const runs = parsed.get("workers/w1/runs.jsonl") as Array<{ run_id: string; status: string }>;
    expect(runs.map((r) => r.status)).toEqual(["running", "completed"]);
    expect(new Set(runs.map((r) => r.run_id)).size).toBe(1);
    const events = parsed.get("events/1.jsonl") as Array<{ id: number; kind: string }>;
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.kind).toBe("runtime_started");
    expect(events[events.length - 1]!.kind).toBe("runtime_stopped");
    const diagnostics = files.filter((f) => f.startsWith("diagnostics/") && f.endsWith(".jsonl"));
    expect(diagnostics).toEqual([]);
  });

  test("a display name given later is recorded in runtime.json; the id stays", async () => {
    const root = scratchDir();
    await (await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-name" }))).close();
    await (await Runtime.open(runtimeOptions(new FsStore({ root }), { display_name: "Renamed" }))).close();
    const record = JSON.parse(readFileSync(join(root, "runtime.json"), "utf8"));
    expect(record).toMatchObject({ id: "rt-name", display_name: "Renamed" });
  });

  test("diagnostics are kept in diagnostics/<generation>.jsonl, bounded to the newest two generations", async () => {
    const root = scratchDir();
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root, durability: "none" })));
    for (let i = 0; i < 2100; i++) await runtime.createWorker({ worker_id: `d${i}`, config_bundle: { id: `b${i}` } });
    const diagnostics = await runtime.diagnostics();
    expect(diagnostics.length).toBe(1000);
    expect(diagnostics[diagnostics.length - 1]!.message).toContain("b2099");
    await runtime.close();
    const generations = listFiles(join(root, "diagnostics")).filter((f) => f.endsWith(".jsonl"));
    expect(generations).toEqual(["2.jsonl", "3.jsonl"]);
    const again = await Runtime.open(runtimeOptions(new FsStore({ root }), { limits: { max_workers: 10_000 } }));
    const reread = await again.diagnostics();
    expect(reread.length).toBe(1000);
    expect(reread[reread.length - 1]!.message).toContain("b2099");
    await again.close();
  });

  test("durability none keeps the same layout and data across a restart", async () => {
    const root = scratchDir();
    const first = await Runtime.open(runtimeOptions(new FsStore({ root, durability: "none" })));
    await first.createWorker({ worker_id: "quick" });
    await converse(first, "quick", "fast");
    await first.close();
    const second = await Runtime.open(runtimeOptions(new FsStore({ root, durability: "none" })));
    expect((await second.transcript("quick", {})).items.map((e) => e.content)).toEqual(["fast", "fast"]);
    await second.close();
  });

  test("the constructor refuses a missing root or an unknown durability", () => {
    expect(() => new FsStore({ root: "" })).toThrow("root");
    expect(() => new FsStore({ root: "/tmp/x", durability: "sometimes" as "none" })).toThrow("durability");
  });
});
