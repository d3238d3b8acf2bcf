import { describe, expect, test } from "bun:test";
import { ID_PATTERN, MemoryStore, Runtime, builtinBackends, isValidId } from "../../src/index.ts";
import { expectCode, openRuntime } from "./helpers.ts";

const INVALID_IDS: Array<[string, unknown]> = [
  ["dot", "."],
  ["dot-dot", ".."],
  ["slash", "a/b"],
  ["traversal", "../x"],
  ["backslash", "a\\b"],
  ["empty", ""],
  ["129 chars", "a".repeat(129)],
  ["leading dash", "-a"],
  ["leading dot", ".hidden"],
  ["leading underscore", "_a"],
  ["unicode", "wörker"],
  ["emoji", "w🙂"],
  ["NUL", "a\u0000b"],
  ["newline", "a\nb"],
  ["trailing newline", "abc\n"],
  ["space", "a b"],
  ["colon", "a:b"],
  ["percent-encoded slash", "a%2Fb"],
  ["number", 42],
  ["null", null],
];

const VALID_IDS = ["a", "A", "0", "a.b", "a..b", "a-b_c.d", "w1.", "x".repeat(128), "Ab-9_Z.z"];

describe("runtime_id (§2)", () => {
  test("a generated runtime_id is rt- followed by 16 lowercase hex characters", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends });
      expect(runtime.runtime_id).toMatch(/^rt-[0-9a-f]{16}$/);
      expect((await runtime.summary()).runtime_id).toBe(runtime.runtime_id);
      ids.add(runtime.runtime_id);
      await runtime.close();
    }
    expect(ids.size).toBe(20);
  });

  test("a configured runtime_id is used as given", async () => {
    for (const id of ["host-1", "H.2_x", "z".repeat(128)]) {
      const runtime = await openRuntime({ runtime_id: id });
      expect(runtime.runtime_id).toBe(id);
      const worker = await runtime.createWorker({});
      expect(worker.worker_ref.runtime_id).toBe(id);
      await runtime.close();
    }
  });

  for (const [name, id] of INVALID_IDS) {
    test(`runtime_id ${name} is rejected`, async () => {
      await expectCode(Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: id as string }), "invalid_request");
    });
  }

  test("a store opened as one runtime refuses to open as another", async () => {
    const store = new MemoryStore();
    const first = await Runtime.open({ store, backends: builtinBackends, runtime_id: "alpha" });
    await first.close();
    await expectCode(Runtime.open({ store, backends: builtinBackends, runtime_id: "beta" }), "store_runtime_mismatch");
    const again = await Runtime.open({ store, backends: builtinBackends });
    expect(again.runtime_id).toBe("alpha");
    await again.close();
  });

  test("a runtime display_name is free text without control characters, at most 200 chars", async () => {
    const ok = await openRuntime({ display_name: "Build host (eu) – ✓" });
    expect((await ok.summary()).display_name).toBe("Build host (eu) – ✓");
    await ok.close();
    await expectCode(openRuntime({ display_name: "bad\nname" }), "invalid_request");
    await expectCode(openRuntime({ display_name: "x".repeat(201) }), "invalid_request");
  });
});

describe("worker_id (§2)", () => {
  test("isValidId and ID_PATTERN agree with the SPEC charset", () => {
    expect(ID_PATTERN).toBe("^[A-Za-z0-9][A-Za-z0-9._-]*$");
    for (const id of VALID_IDS) expect(isValidId(id)).toBe(true);
    for (const [, id] of INVALID_IDS) expect(isValidId(id)).toBe(false);
  });

  test("caller-provided valid worker ids are kept exactly, case-sensitively", async () => {
    const runtime = await openRuntime();
    for (const id of VALID_IDS) {
      const worker = await runtime.createWorker({ worker_id: id });
      expect(worker.worker_ref).toEqual({ runtime_id: runtime.runtime_id, worker_id: id });
      expect((await runtime.getWorker(id)).worker_ref.worker_id).toBe(id);
    }
    // Case-sensitive: `a` and `A` are both in VALID_IDS, so both exist as separate workers.
    expect((await runtime.listWorkers()).workers.length).toBe(VALID_IDS.length);
    await runtime.close();
  });

  for (const [name, id] of INVALID_IDS) {
    test(`worker_id ${name} is refused with invalid_worker_id by create and every worker call`, async () => {
      const runtime = await openRuntime();
      await expectCode(runtime.createWorker({ worker_id: id as string }), "invalid_worker_id");
      expect((await runtime.listWorkers()).workers).toEqual([]);
      const ref = { runtime_id: runtime.runtime_id, worker_id: id as string };
      await expectCode(runtime.getWorker(ref), "invalid_worker_id");
      await expectCode(runtime.getWorker(id as string), "invalid_worker_id");
      await expectCode(runtime.sendInput(ref, { kind: "user", content: "hi" }), "invalid_worker_id");
      await expectCode(runtime.stopWorker(ref), "invalid_worker_id");
      await expectCode(runtime.cancelRun(ref), "invalid_worker_id");
      await expectCode(runtime.restoreWorker(ref), "invalid_worker_id");
      await expectCode(runtime.deleteWorker(ref), "invalid_worker_id");
      await expectCode(runtime.transcript(ref), "invalid_worker_id");
      await expectCode(runtime.listRuns(ref), "invalid_worker_id");
      await expectCode(runtime.getRun(ref, "r-1"), "invalid_worker_id");
      await expectCode(runtime.waitRun(ref, "r-1", 10), "invalid_worker_id");
      await expectCode(runtime.readEvents({ worker_id: id as string }), "invalid_worker_id");
      await expectCode(() => runtime.subscribe({ worker_id: id as string }), "invalid_worker_id");
      await runtime.close();
    });
  }

  test("generated worker ids are w- + a time-sortable id, unique over 10,000 creates", async () => {
    const runtime = await openRuntime();
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push((await runtime.createWorker({})).worker_ref.worker_id);
    expect(new Set(ids).size).toBe(10_000);
    for (const id of ids) {
      expect(id).toMatch(/^w-[0-9a-hjkmnp-tv-z]{26}$/);
      expect(isValidId(id)).toBe(true);
    }
    // Creation order is sort order, so `after` cursors over ids follow creation.
    expect([...ids].sort()).toEqual(ids);
    await runtime.close();
  });

  test("generated ids stay sortable across concurrent creates", async () => {
    const runtime = await openRuntime();
    const workers = await Promise.all(Array.from({ length: 500 }, () => runtime.createWorker({})));
    const ids = workers.map((w) => w.worker_ref.worker_id);
    expect(new Set(ids).size).toBe(500);
    expect([...ids].sort()).toEqual(ids);
    await runtime.close();
  });

  test("a worker_ref of another runtime fails wrong_runtime on every worker call", async () => {
    const runtime = await openRuntime({ runtime_id: "here" });
    await runtime.createWorker({ worker_id: "w1" });
    const foreign = { runtime_id: "elsewhere", worker_id: "w1" };
    await expectCode(runtime.getWorker(foreign), "wrong_runtime");
    await expectCode(runtime.sendInput(foreign, { kind: "user", content: "x" }), "wrong_runtime");
    await expectCode(runtime.stopWorker(foreign), "wrong_runtime");
    await expectCode(runtime.cancelRun(foreign), "wrong_runtime");
    await expectCode(runtime.restoreWorker(foreign), "wrong_runtime");
    await expectCode(runtime.deleteWorker(foreign), "wrong_runtime");
    await expectCode(runtime.transcript(foreign), "wrong_runtime");
    await expectCode(runtime.listRuns(foreign), "wrong_runtime");
    await expectCode(runtime.getRun(foreign, "r-x"), "wrong_runtime");
    await expectCode(runtime.waitRun(foreign, "r-x", 0), "wrong_runtime");
    // The worker is untouched.
    expect((await runtime.getWorker({ runtime_id: "here", worker_id: "w1" })).status).toBe("idle");
    // Case matters for runtime ids too.
    await expectCode(runtime.getWorker({ runtime_id: "HERE", worker_id: "w1" }), "wrong_runtime");
    await runtime.close();
  });

  test("a worker id that does not exist fails worker_not_found", async () => {
    const runtime = await openRuntime();
    await runtime.createWorker({ worker_id: "w1" });
    const err = await expectCode(runtime.getWorker("W1"), "worker_not_found");
    expect(err.details).toEqual({ worker_id: "W1" });
    await runtime.close();
  });
});

describe("display_ref (§2)", () => {
  test("is <worker display_name or id>@<runtime display_name or id>", async () => {
    const plain = await openRuntime({ runtime_id: "rt1" });
    expect((await plain.createWorker({ worker_id: "w1" })).display_ref).toBe("w1@rt1");
    expect((await plain.createWorker({ worker_id: "w2", display_name: "Helper" })).display_ref).toBe("Helper@rt1");
    await plain.close();

    const named = await openRuntime({ runtime_id: "rt2", display_name: "Laptop" });
    expect((await named.createWorker({ worker_id: "w1" })).display_ref).toBe("w1@Laptop");
    const worker = await named.createWorker({ worker_id: "w2", display_name: "Reviewer 2" });
    expect(worker.display_ref).toBe("Reviewer 2@Laptop");
    expect(worker.display_name).toBe("Reviewer 2");
    const listed = (await named.listWorkers()).workers.find((w) => w.worker_ref.worker_id === "w2");
    expect(listed?.display_ref).toBe("Reviewer 2@Laptop");
    await named.close();
  });

  test("a worker display_name with control characters or over 200 chars is refused", async () => {
    const runtime = await openRuntime();
    await expectCode(runtime.createWorker({ display_name: "a\u0007b" }), "invalid_request");
    await expectCode(runtime.createWorker({ display_name: "tab\there" }), "invalid_request");
    await expectCode(runtime.createWorker({ display_name: "x".repeat(201) }), "invalid_request");
    expect((await runtime.createWorker({ display_name: "x".repeat(200) })).display_name).toHaveLength(200);
    await runtime.close();
  });
});
