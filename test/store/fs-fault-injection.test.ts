import { afterEach, describe, expect, test } from "bun:test";
import { FsStore, Runtime } from "../../src/index.ts";
import { FaultyFs } from "../support/faulty-fs.ts";
import { cleanScratch, expectCode, runtimeOptions, scratchDir } from "./helpers.ts";

afterEach(() => cleanScratch());

/** The fault-injection wrapper itself: every fs call of the store goes through it. */
describe("FsStore over a wrapped file system (FsStoreOptions.fs)", () => {
  test("the store works through the wrapper, and the wrapper sees its journal writes and syncs", async () => {
    const faulty = new FaultyFs();
    const root = scratchDir("faulty");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root, fs: faulty.fs })));
    const worker = await runtime.createWorker({ worker_id: "w1" });
    await runtime.sendInput(worker.worker_ref.worker_id, { kind: "user", content: "hello" });
    await runtime.close();
    const seen = (op: string, part: string) => faulty.calls.some((call) => call.op === op && call.path.includes(part));
    expect(seen("open", "LOCK")).toBe(true);
    expect(seen("write", "/wal/")).toBe(true);
    expect(seen("fsync", "/wal/")).toBe(true);
    expect(seen("rename", "state.json")).toBe(true);
    expect(faulty.failures()).toBe(0);

    const reopened = await Runtime.open(runtimeOptions(new FsStore({ root })));
    expect((await reopened.transcript("w1")).items.map((e) => e.content)).toContain("hello");
    await reopened.close();
  });

  test("a fault fails the chosen call with its errno, once with nth", async () => {
    const faulty = new FaultyFs();
    const fault = faulty.fail({ op: "open", path: "runtime.json", code: "EACCES", nth: 1 });
    const root = scratchDir("faulty");
    const store = new FsStore({ root, fs: faulty.fs });
    await expectCode(Runtime.open(runtimeOptions(store)), "store_io");
    expect(fault.hits).toBe(1);
    expect(faulty.failures("open")).toBe(1);
    // nth: 1 fired once; the next open works.
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root, fs: faulty.fs })));
    await runtime.close();
  });
});
