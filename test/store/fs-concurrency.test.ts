import { afterAll, describe, expect, test } from "bun:test";
import { FsStore, Runtime } from "../../src/index.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

describe("FsStore reads while writing", () => {
  test("transcript pages read during a stream of inputs always hold exactly the entries written", async () => {
    const root = scratchDir("concurrent");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    await runtime.createWorker({ worker_id: "busy" });
    const content = (i: number) => `line ${i} ${"z".repeat(i % 50)}`;
    let written = 0;
    let done = false;
    const writer = (async () => {
      for (let i = 0; i < 600; i++) {
        await runtime.sendInput("busy", { kind: "system", content: content(i) });
        written = i + 1;
      }
      done = true;
    })();
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const total = written;
        if (total === 0) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        const start = Math.floor(Math.random() * total);
        const page = await runtime.transcript("busy", { start, limit: 50 });
        expect(page.items.length).toBeGreaterThan(0);
        page.items.forEach((entry, k) => {
          expect(entry.sequence).toBe(start + k);
          expect(entry.content).toBe(content(start + k));
        });
        reads++;
      }
    })();
    await Promise.all([writer, reader]);
    expect(reads).toBeGreaterThan(0);
    expect((await runtime.transcript("busy", { tail: 1 })).items[0]!.sequence).toBe(599);
    await runtime.close();
  });

  test("events older than the in-memory tail are read from the segments, complete and in order", async () => {
    const root = scratchDir("concurrent");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root, durability: "none", events_per_segment: 1000 })));
    await runtime.createWorker({ worker_id: "loud" });
    await runtime.createWorker({ worker_id: "quiet" });
    for (let i = 0; i < 5000; i++) await runtime.sendInput(i % 10 === 0 ? "quiet" : "loud", { kind: "system", content: `e${i}` });
    await converse(runtime, "quiet", "done");
    const events = await readAllEvents(runtime);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const quiet = (await runtime.readEvents({ after: 0, worker_id: "quiet" }, 256)).events;
    expect(quiet.length).toBe(256);
    expect(quiet).toEqual(events.filter((e) => e.worker_ref?.worker_id === "quiet").slice(0, 256));
    await runtime.close();
  });
});
