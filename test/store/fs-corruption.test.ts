import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime, type Diagnostic } from "../../src/index.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, expectCode, fileSize, fsHarness, listFiles, parseAll, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

/** A closed store with two workers, `good` and `victim`, two conversations each. */
async function prepared(): Promise<string> {
  const root = scratchDir("corrupt");
  const runtime = await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-damage" }));
  for (const id of ["good", "victim"]) {
    await runtime.createWorker({ worker_id: id });
    await converse(runtime, id, `${id} first`);
    await converse(runtime, id, `${id} second`);
  }
  await runtime.close();
  return root;
}

const openAt = (root: string) => Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-damage" }));
const victimFile = (root: string, file: string) => join(root, "workers", "victim", file);

function repairsOf(diagnostics: Diagnostic[], file: string): Diagnostic[] {
  return diagnostics.filter((d) => d.code === "store_repaired" && (d.details as { file?: string } | undefined)?.file === file);
}

/** The healthy worker is untouched by the damage next door. */
async function goodStillWorks(runtime: Runtime): Promise<void> {
  expect((await runtime.getWorker("good")).status).toBe("idle");
  expect((await runtime.transcript("good", {})).items.map((e) => e.content)).toEqual(["good first", "good first", "good second", "good second"]);
  expect((await converse(runtime, "good", "still here")).transcript_sequence).toBe(4);
}

/** `victim` is reported unavailable naming `file`, its calls fail store_corrupt, its files stay, delete works. */
async function expectUnavailable(root: string, file: string): Promise<void> {
  const before = listFiles(join(root, "workers", "victim")).map((f) => [f, f.endsWith("/") ? 0 : fileSize(join(root, "workers", "victim", f))]);
  const runtime = await openAt(root);
  try {
    const detail = await runtime.getWorker("victim");
    expect(detail.status).toBe("unavailable");
    expect(detail.unavailable_reason).toContain(`workers/victim/${file}`);
    await expectCode(runtime.sendInput("victim", { kind: "user", content: "hello?" }), "store_corrupt");
    await expectCode(runtime.transcript("victim", {}), "store_corrupt");
    await expectCode(runtime.listRuns("victim", {}), "store_corrupt");
    const summary = await runtime.summary();
    expect(summary.workers).toMatchObject({ total: 2, idle: 1, unavailable: 1 });
    const diagnostic = (await runtime.diagnostics()).find((d) => d.code === "worker_unavailable" && d.worker_ref?.worker_id === "victim");
    expect(diagnostic?.level).toBe("error");
    expect(diagnostic?.message).toContain(`workers/victim/${file}`);
    await goodStillWorks(runtime);
    // Nothing was deleted or rewritten behind anyone's back.
    const after = listFiles(join(root, "workers", "victim")).map((f) => [f, f.endsWith("/") ? 0 : fileSize(join(root, "workers", "victim", f))]);
    expect(after).toEqual(before);
    // Deleting it is explicit, and it works.
    await runtime.deleteWorker("victim");
    expect(existsSync(join(root, "workers", "victim"))).toBe(false);
  } finally {
    await runtime.close();
  }
}

const damages: Record<string, (path: string) => void> = {
  garbage: (path) => writeFileSync(path, "this is {not json"),
  missing: (path) => rmSync(path),
  truncated: (path) => truncateSync(path, Math.floor(fileSize(path) / 2)),
  "wrong types": (path) => {
    const value = JSON.parse(readFileSync(path, "utf8"));
    for (const key of Object.keys(value)) if (key !== "checkpoint") value[key] = key === "created_at" ? 42 : { nested: true };
    writeFileSync(path, JSON.stringify(value));
  },
};

describe("FsStore: a damaged worker.json or state.json makes only that worker unavailable", () => {
  for (const file of ["worker.json", "state.json"]) {
    for (const [kind, damage] of Object.entries(damages)) {
      test(`${file}: ${kind}`, async () => {
        const root = await prepared();
        damage(victimFile(root, file));
        await expectUnavailable(root, file);
      });
    }
  }

  test("state.json with a status that is never stored", async () => {
    const root = await prepared();
    const path = victimFile(root, "state.json");
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), status: "unavailable" }));
    await expectUnavailable(root, "state.json");
  });

  test("worker.json of another worker or another runtime", async () => {
    const root = await prepared();
    const path = victimFile(root, "worker.json");
    const record = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(path, JSON.stringify({ ...record, worker_ref: { runtime_id: "rt-other", worker_id: "victim" } }));
    await expectUnavailable(root, "worker.json");
    const again = await prepared();
    writeFileSync(victimFile(again, "worker.json"), JSON.stringify({ ...record, worker_ref: { runtime_id: "rt-damage", worker_id: "good" } }));
    await expectUnavailable(again, "worker.json");
  });

  test("a missing log the state says holds records", async () => {
    for (const file of ["transcript.jsonl", "runs.jsonl"]) {
      const root = await prepared();
      rmSync(victimFile(root, file));
      await expectUnavailable(root, file);
    }
  });
});

describe("FsStore: a torn last line of a JSONL file is cut with a store_repaired diagnostic", () => {
  const tears: Record<string, (path: string) => void> = {
    "a partial line": (path) => appendFileSync(path, '{"sequence":99,"worker_ref":{"runtime_i'),
    "a garbage line": (path) => appendFileSync(path, "garbage garbage\n"),
    "a line of the wrong shape": (path) => appendFileSync(path, '{"sequence":"four","content":7}\n'),
  };
  for (const file of ["transcript.jsonl", "runs.jsonl"]) {
    for (const [kind, tear] of Object.entries(tears)) {
      test(`${file}: ${kind}`, async () => {
        const root = await prepared();
        const path = victimFile(root, file);
        const size = fileSize(path);
        tear(path);
        const runtime = await openAt(root);
        try {
          const repairs = repairsOf(await runtime.diagnostics(), `workers/victim/${file}`);
          expect(repairs.length).toBe(1);
          expect(repairs[0]!.level).toBe("warning");
          expect(repairs[0]!.worker_ref?.worker_id).toBe("victim");
          expect(fileSize(path)).toBe(size);
          const victim = await runtime.getWorker("victim");
          expect(victim).toMatchObject({ status: "idle", transcript_items: 4, run_count: 2 });
          expect((await runtime.transcript("victim", {})).items.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
          expect((await runtime.listRuns("victim", {})).runs.map((r) => r.status)).toEqual(["completed", "completed"]);
          expect((await converse(runtime, "victim", "after repair")).transcript_sequence).toBe(4);
          await goodStillWorks(runtime);
        } finally {
          await runtime.close();
        }
        parseAll(root);
      });
    }
  }

  // Acknowledged records are missing: cutting the file further and counting on from there would
  // hand out sequence numbers and run ids again, so the worker is unavailable instead.
  for (const file of ["transcript.jsonl", "runs.jsonl"]) {
    for (const cut of [10, 1, Number.POSITIVE_INFINITY]) {
      test(`${file} cut short of its acknowledged records (${cut === Number.POSITIVE_INFINITY ? "to 10 bytes" : `by ${cut} bytes`}): the worker is unavailable`, async () => {
        const root = await prepared();
        const path = victimFile(root, file);
        truncateSync(path, cut === Number.POSITIVE_INFINITY ? 10 : fileSize(path) - cut);
        await expectUnavailable(root, file);
      });
    }
  }

  test("a transcript damaged in the middle: the first read meeting it fails store_corrupt and makes the worker unavailable", async () => {
    const root = await prepared();
    const path = victimFile(root, "transcript.jsonl");
    const text = readFileSync(path, "utf8");
    const middle = text.indexOf("\n") + 1;
    writeFileSync(path, text.slice(0, middle) + "x".repeat(text.indexOf("\n", middle) - middle) + text.slice(text.indexOf("\n", middle)));
    expect(fileSize(path)).toBe(text.length);
    const runtime = await openAt(root);
    try {
      // Verification is lazy: the worker looks well until a read meets the damaged record...
      expect((await runtime.getWorker("victim")).status).toBe("idle");
      const error = await runtime.transcript("victim", { start: 1, limit: 1 }).then(
        () => null,
        (e: unknown) => e as { code: string; details?: Record<string, unknown> },
      );
      expect(error?.code).toBe("store_corrupt");
      expect(error?.details).toMatchObject({ worker_id: "victim", file: "workers/victim/transcript.jsonl", offset: middle });
      // ...and from then on it is unavailable: nothing more is served from it or written to it.
      expect((await runtime.getWorker("victim")).status).toBe("unavailable");
      await expectCode(runtime.transcript("victim", { start: 2, limit: 2 }), "store_corrupt");
      await expectCode(runtime.sendInput("victim", { kind: "user", content: "more" }), "store_corrupt");
      const note = (await runtime.diagnostics()).find((d) => d.code === "worker_unavailable" && d.worker_ref?.worker_id === "victim");
      expect(note?.details).toMatchObject({ file: "workers/victim/transcript.jsonl", offset: middle });
      await goodStillWorks(runtime);
    } finally {
      await runtime.close();
    }
  });

  test("event segment: a torn last line is cut and ids continue without reuse", async () => {
    const root = await prepared();
    const segment = join(root, "events", "1.jsonl");
    const size = fileSize(segment);
    appendFileSync(segment, '{"id":5000,"kind":"wor');
    const runtime = await openAt(root);
    try {
      expect(repairsOf(await runtime.diagnostics(), "events/1.jsonl").length).toBe(1);
      const events = await readAllEvents(runtime);
      const ids = events.map((e) => e.id!);
      expect(ids).toEqual(ids.map((_, i) => i + 1));
      expect(fileSize(segment)).toBeGreaterThan(size);
      await goodStillWorks(runtime);
    } finally {
      await runtime.close();
    }
  });

  test("event segment: a garbage last line is cut", async () => {
    const root = await prepared();
    appendFileSync(join(root, "events", "1.jsonl"), "not an event\n");
    const runtime = await openAt(root);
    try {
      expect(repairsOf(await runtime.diagnostics(), "events/1.jsonl").length).toBe(1);
      expect((await readAllEvents(runtime)).every((e) => typeof e.id === "number")).toBe(true);
    } finally {
      await runtime.close();
    }
    parseAll(root);
  });

  test("a lost event segment: the runtime starts and never reuses an id a worker recorded", async () => {
    const root = await prepared();
    const recorded = JSON.parse(readFileSync(victimFile(root, "state.json"), "utf8")).last_event_id as number;
    rmSync(join(root, "events", "1.jsonl"));
    const runtime = await openAt(root);
    try {
      const ack = await runtime.sendInput("victim", { kind: "system", content: "next" });
      expect(ack.event_id!).toBeGreaterThan(recorded);
      await goodStillWorks(runtime);
    } finally {
      await runtime.close();
    }
  });

  test("diagnostics file: a torn last line is cut", async () => {
    const root = scratchDir("corrupt");
    const first = await openAt(root);
    await first.createWorker({ worker_id: "d", config_bundle: { id: "b" } });
    await first.close();
    appendFileSync(join(root, "diagnostics", "1.jsonl"), '{"level":"warn');
    const runtime = await openAt(root);
    try {
      const diagnostics = await runtime.diagnostics();
      expect(diagnostics.some((d) => d.code === "config_bundle_unresolved")).toBe(true);
      expect(repairsOf(diagnostics, "diagnostics/1.jsonl").length).toBe(1);
    } finally {
      await runtime.close();
    }
    parseAll(root);
  });

  test("journal: a batch torn by a crash is cut; everything before it is replayed", async () => {
    const copy = await crashImage("j", "journaled");
    const journals = readdirSync(join(copy, "wal"));
    expect(journals.length).toBeGreaterThan(0);
    appendFileSync(join(copy, "wal", journals[journals.length - 1]!), '{"batch":99999,"ops":[{"op":"app');
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      const repairs = (await runtime.diagnostics()).filter((d) => d.code === "store_repaired" && String(d.message).startsWith("wal/"));
      expect(repairs.length).toBe(1);
      expect((await runtime.transcript("j", {})).items.map((e) => e.content)).toEqual(["journaled", "journaled"]);
      expect((await runtime.getWorker("j")).run_count).toBe(1);
    } finally {
      await runtime.close();
    }
    expect(readdirSync(join(copy, "wal"))).toEqual([]);
  });
});

/**
 * A copy of a store's files taken while its runtime was open, after one conversation on `worker`
 * and before any checkpoint: what a crash leaves (the journal ahead of state.json).
 */
async function crashImage(worker: string, content: string): Promise<string> {
  const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
  const first = await harness.open();
  await first.createWorker({ worker_id: worker });
  await converse(first, worker, content);
  const copy = scratchDir("journal");
  rmSync(copy, { recursive: true });
  cpSync(harness.root(), copy, { recursive: true });
  await first.close();
  return copy;
}

describe("FsStore: a journal that is newer than a damaged state.json", () => {
  test("repairs it: the worker stays available and state.json is written back", async () => {
    const copy = await crashImage("s", "journaled");
    writeFileSync(join(copy, "workers/s/state.json"), "garbage");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      expect(await runtime.getWorker("s")).toMatchObject({ status: "idle", transcript_items: 2, run_count: 1 });
      expect(repairsOf(await runtime.diagnostics(), "workers/s/state.json").length).toBe(1);
    } finally {
      await runtime.close();
    }
    expect(JSON.parse(readFileSync(join(copy, "workers/s/state.json"), "utf8"))).toMatchObject({ transcript_items: 2 });
  });
});

describe("FsStore: a journal damaged in the middle", () => {
  test("is kept under another name with the files after it, reported, and the runtime starts", async () => {
    const copy = await crashImage("j", "before the damage");
    const journals = readdirSync(join(copy, "wal"));
    const name = journals[journals.length - 1]!;
    const text = readFileSync(join(copy, "wal", name), "utf8");
    writeFileSync(join(copy, "wal", name), `not a journal record\n${text}`);
    writeFileSync(join(copy, "wal", `${Number(name.replace(".jsonl", "")) + 1}.jsonl`), text);
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      const report = (await runtime.diagnostics()).find((d) => d.code === "store_corrupt_journal");
      expect(report?.level).toBe("error");
      expect(report?.message).toContain(`wal/${name}`);
      const kept = readdirSync(join(copy, "wal")).filter((f) => f.includes(".unreplayed-"));
      expect(kept.length).toBe(2);
      await runtime.createWorker({ worker_id: "after" });
      await converse(runtime, "after", "still works");
    } finally {
      await runtime.close();
    }
    expect(readdirSync(join(copy, "wal")).filter((f) => f.includes(".unreplayed-")).length).toBe(2);
  });
});

describe("FsStore: a damaged runtime.json stops the open (it is runtime-wide)", () => {
  const cases: Record<string, (path: string) => void> = {
    garbage: (path) => writeFileSync(path, "{{{"),
    truncated: (path) => truncateSync(path, 12),
    "wrong types": (path) => writeFileSync(path, JSON.stringify({ id: 7, display_name: [], created_at: "x", format_version: "1" })),
    "unknown format version": (path) =>
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), format_version: 99 })),
    missing: (path) => rmSync(path),
  };
  for (const [kind, damage] of Object.entries(cases)) {
    test(kind, async () => {
      const root = await prepared();
      const path = join(root, "runtime.json");
      const original = readFileSync(path);
      damage(path);
      const error = await expectCode(openAt(root), "store_corrupt");
      expect(error.message).toContain("runtime.json");
      // The failed open let go of LOCK: once repaired, the store opens.
      expect(existsSync(join(root, "LOCK"))).toBe(false);
      writeFileSync(path, original);
      const runtime = await openAt(root);
      await goodStillWorks(runtime);
      await runtime.close();
    });
  }
});
