import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, expectCode, listFiles, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const HOSTILE = ["..", ".", "../escape", "a/b", "a\\b", "/abs", "..%2f", "", "x".repeat(129), " lead", "nul\u0000"];

describe("FsStore path safety", () => {
  test("hostile worker ids fail invalid_worker_id through the runtime and never reach the disk", async () => {
    const outer = scratchDir("paths");
    const root = join(outer, "store");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      for (const id of HOSTILE) {
        await expectCode(runtime.createWorker({ worker_id: id }), "invalid_worker_id");
        await expectCode(runtime.getWorker(id), "invalid_worker_id");
        await expectCode(runtime.sendInput(id, { kind: "user", content: "x" }), "invalid_worker_id");
        await expectCode(runtime.transcript(id, {}), "invalid_worker_id");
        await expectCode(runtime.readEvents({ worker_id: id }), "invalid_worker_id");
      }
    } finally {
      await runtime.close();
    }
    expect(readdirSync(outer)).toEqual(["store"]);
    expect(listFiles(join(root, "workers"))).toEqual([]);
  });

  test("the store itself refuses hostile ids before building a path", async () => {
    const outer = scratchDir("paths");
    const root = join(outer, "store");
    const store = new FsStore({ root });
    const runtime = await Runtime.open(runtimeOptions(store));
    try {
      for (const id of HOSTILE) {
        await expectCode(store.readTranscript(id, 0, 1), "invalid_worker_id");
        await expectCode(store.listRuns(id), "invalid_worker_id");
        await expectCode(store.getRun(id, "r-1"), "invalid_worker_id");
        await expectCode(() => store.workDir(id), "invalid_worker_id");
      }
      const record = (await runtime.createWorker({ worker_id: "fine" })) && JSON.parse(JSON.stringify((await runtime.getWorker("fine")).worker_ref));
      await expectCode(
        store.commit({
          createWorker: {
            worker_ref: { ...record, worker_id: "../escape" },
            display_name: null,
            intent: { kind: "assistant" },
            profile: { name: "echo", backend: "echo" },
            config_bundle: null,
            requested_capabilities: [],
            workspace_refs: [],
            mount_refs: [],
            created_at: new Date().toISOString(),
          },
          states: [],
        }),
        "invalid_worker_id",
      );
      // Refused on its own: the store still takes good commits.
      await runtime.sendInput("fine", { kind: "system", content: "still writing" });
    } finally {
      await runtime.close().catch(() => undefined);
    }
    expect(readdirSync(outer)).toEqual(["store"]);
  });

  test("a journal naming paths outside the layout is not followed", async () => {
    const outer = scratchDir("paths");
    const root = join(outer, "store");
    await (await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-paths" }))).close();
    const header = {
      batch: 1,
      ops: [
        { op: "append", path: "../evil.jsonl", offset: 0, bytes: 2 },
        { op: "append", path: "workers/../../evil/transcript.jsonl", offset: 0, bytes: 2 },
        { op: "append", path: "/tmp/evil.jsonl", offset: 0, bytes: 2 },
        { op: "remove", path: "../store/runtime.json" },
        { op: "delete", worker_id: "../store" },
      ],
      payload: 6,
    };
    writeFileSync(join(root, "wal", "1.jsonl"), `${JSON.stringify(header)}\nx\nx\nx\n\n`);
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      expect(runtime.runtime_id).toBe("rt-paths");
      expect((await runtime.diagnostics()).some((d) => d.code === "store_corrupt_journal")).toBe(true);
    } finally {
      await runtime.close();
    }
    expect(readdirSync(outer)).toEqual(["store"]);
    expect(listFiles(root)).toContain("runtime.json");
  });

  test("entries under workers/ that are not worker directories (a symlink, a bad name) are left alone", async () => {
    const outer = scratchDir("paths");
    const root = join(outer, "store");
    const elsewhere = join(outer, "elsewhere");
    mkdirSync(elsewhere);
    await (await Runtime.open(runtimeOptions(new FsStore({ root })))).close();
    symlinkSync(elsewhere, join(root, "workers", "linked"));
    mkdirSync(join(root, "workers", "bad name"));
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      const notes = (await runtime.diagnostics()).filter((d) => d.code === "store_unexpected_entry").map((d) => d.message);
      expect(notes.some((m) => m.includes("workers/bad name"))).toBe(true);
      // A non-directory under a worker id claims the id, as an unavailable worker.
      const linked = await runtime.getWorker("linked");
      expect(linked.status).toBe("unavailable");
      expect(linked.unavailable_reason).toContain("workers/linked is not a directory");
      await expectCode(runtime.createWorker({ worker_id: "linked" }), "worker_exists");
      await expectCode(runtime.transcript("linked", {}), "store_corrupt");
      await runtime.createWorker({ worker_id: "other" });
      await converse(runtime, "other", "unaffected");
      // Deleting it removes the link, not what it points to.
      writeFileSync(join(elsewhere, "precious"), "keep");
      await runtime.deleteWorker("linked");
      expect(readdirSync(join(root, "workers")).sort()).toEqual(["bad name", "other"]);
    } finally {
      await runtime.close().catch(() => undefined);
    }
    expect(readdirSync(elsewhere)).toEqual(["precious"]);
    expect(dirname(elsewhere)).toBe(outer);
  });
});
