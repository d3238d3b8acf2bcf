import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../../src/core/schema/diagnostic.ts";
import type { StoredEvent } from "../../src/core/schema/event.ts";
import { FsStore, Runtime } from "../../src/index.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, expectCode, listFiles, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const open = (root: string) => Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-cut" }));

/** Every record boundary of a file, and a point inside each record. */
function cutPoints(path: string): Array<{ at: number; kind: string }> {
  const bytes = readFileSync(path);
  const points: Array<{ at: number; kind: string }> = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
    points.push({ at: start, kind: "boundary" }, { at: start + Math.floor((i - start) / 2), kind: "mid-record" });
    start = i + 1;
  }
  return points;
}

describe("truncation of each worker file at every record boundary and mid-record", () => {
  test("the worker serves everything acknowledged or is unavailable; the other worker is untouched; nothing is reused", async () => {
    const source = scratchDir("cut-source");
    const first = await open(source);
    for (const id of ["victim", "good"]) {
      await first.createWorker({ worker_id: id });
      for (let i = 0; i < 3; i++) await converse(first, id, `${id} ${i}`);
    }
    await first.close();
    let cases = 0;
    for (const file of ["transcript.jsonl", "runs.jsonl", "state.json", "worker.json"]) {
      const path = join(source, "workers/victim", file);
      const points = file.endsWith(".jsonl") ? cutPoints(path) : [0, 10, Math.floor(readFileSync(path).length / 2)].map((at) => ({ at, kind: "cut" }));
      for (const { at, kind } of points) {
        cases++;
        const root = scratchDir("cut");
        rmSync(root, { recursive: true });
        cpSync(source, root, { recursive: true });
        truncateSync(join(root, "workers/victim", file), at);
        const runtime = await open(root);
        try {
          const victim = await runtime.getWorker("victim");
          // Everything here was acknowledged: a cut anywhere is missing data, never a torn tail.
          expect(`${file}@${at} (${kind}): ${victim.status}`).toBe(`${file}@${at} (${kind}): unavailable`);
          await expectCode(runtime.transcript("victim", {}), "store_corrupt");
          await expectCode(runtime.sendInput("victim", { kind: "user", content: "reuse?" }), "store_corrupt");
          expect((await runtime.transcript("good", {})).items.map((e) => e.sequence)).toEqual([0, 1, 2, 3, 4, 5]);
        } finally {
          await runtime.close();
        }
        rmSync(root, { recursive: true, force: true });
      }
    }
    expect(cases).toBeGreaterThan(20);
  }, 120_000);
});

/** A copy of `source` with `file` cut to `at` bytes. */
function cutCopy(source: string, file: string, at: number): string {
  const root = scratchDir("cut");
  rmSync(root, { recursive: true });
  cpSync(source, root, { recursive: true });
  truncateSync(join(root, file), at);
  return root;
}

/** A closed store: two workers with conversations, every record acknowledged and checkpointed. */
async function closedStore(): Promise<{ root: string; events: StoredEvent[]; diagnostics: Diagnostic[] }> {
  const root = scratchDir("cut-closed");
  const runtime = await open(root);
  for (const id of ["victim", "good"]) {
    await runtime.createWorker({ worker_id: id });
    for (let i = 0; i < 3; i++) await converse(runtime, id, `${id} ${i}`);
  }
  await runtime.close();
  // A stale LOCK: the next open records a takeover diagnostic, so the diagnostics file has lines.
  writeFileSync(join(root, "LOCK"), `${JSON.stringify({ pid: 2 ** 22 + 17, start: 1, boot_id: "gone" })}\n`);
  // What was acknowledged, as the next open serves it (its own start-up events follow).
  const reader = await open(root);
  const events = (await readAllEvents(reader)).filter((event) => event.id! <= lastId(root));
  const diagnostics = await reader.diagnostics();
  await reader.close();
  return { root, events, diagnostics };
}

/** Highest event id in the store's segments, read from the files. */
function lastId(root: string): number {
  const ids = readdirSync(join(root, "events"))
    .filter((name) => name.endsWith(".jsonl"))
    .flatMap((name) => [...readFileSync(join(root, "events", name), "utf8").matchAll(/^\{"id":(\d+)/gm)].map((m) => Number(m[1])));
  return Math.max(0, ...ids);
}

const strip = (events: StoredEvent[]) => JSON.stringify(events);

describe("truncation of each runtime-wide file kind at every record boundary and mid-record", () => {
  test("event segment: acknowledged events missing fail reads store_corrupt (file + offset), never served short; workers fine; ids never reused", async () => {
    const { root: source } = await closedStore();
    const acknowledgedLast = lastId(source);
    const segment = readdirSync(join(source, "events")).find((name) => name.endsWith(".jsonl"))!;
    let cases = 0;
    for (const { at, kind } of cutPoints(join(source, "events", segment))) {
      cases++;
      const root = cutCopy(source, `events/${segment}`, at);
      const runtime = await open(root);
      try {
        const label = `events/${segment}@${at} (${kind})`;
        const error = await expectCode(readAllEvents(runtime), "store_corrupt");
        expect(`${label}: ${JSON.stringify(error.details)}`).toContain(`"file":"events/${segment}"`);
        expect(typeof error.details?.offset).toBe("number");
        expect((await runtime.diagnostics()).some((d) => d.code === "store_corrupt_events" && d.details?.file === `events/${segment}`)).toBe(true);
        for (const id of ["victim", "good"]) expect((await runtime.transcript(id, {})).items.length).toBe(6);
        // New events get new ids, readable from after the last acknowledged one.
        await converse(runtime, "good", "after the cut");
        const fresh = (await runtime.readEvents({ after: acknowledgedLast }, 256)).events;
        expect(fresh.length).toBeGreaterThan(0);
        for (const event of fresh) expect(event.id!).toBeGreaterThan(acknowledgedLast);
      } finally {
        await runtime.close();
      }
      rmSync(root, { recursive: true, force: true });
    }
    expect(cases).toBeGreaterThan(10);
  }, 180_000);

  test("events/checkpoint.json: a cut record is reported; the store opens and serves every event", async () => {
    const { root: source, events } = await closedStore();
    const size = readFileSync(join(source, "events/checkpoint.json")).length;
    for (const at of [0, 10, Math.floor(size / 2)]) {
      const root = cutCopy(source, "events/checkpoint.json", at);
      const runtime = await open(root);
      try {
        expect((await runtime.diagnostics()).some((d) => d.code === "store_corrupt_events")).toBe(true);
        expect(strip((await readAllEvents(runtime)).slice(0, events.length))).toBe(strip(events));
      } finally {
        await runtime.close();
      }
    }
  }, 60_000);

  test("diagnostics: a cut file serves only diagnostics that were recorded, unaltered; the store opens", async () => {
    const { root: source, diagnostics } = await closedStore();
    const file = readdirSync(join(source, "diagnostics")).find((name) => name.endsWith(".jsonl"))!;
    const recorded = new Set(diagnostics.map((d) => JSON.stringify(d)));
    for (const { at } of cutPoints(join(source, "diagnostics", file))) {
      const root = cutCopy(source, `diagnostics/${file}`, at);
      const opened = new Date().toISOString();
      const runtime = await open(root);
      try {
        // Whatever is served from before this open was recorded, unaltered.
        for (const d of await runtime.diagnostics()) if (d.created_at < opened) expect(recorded.has(JSON.stringify(d))).toBe(true);
        for (const id of ["victim", "good"]) expect((await runtime.getWorker(id)).status).toBe("idle");
      } finally {
        await runtime.close();
      }
      rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);

  test("runtime.json: a cut record stops the open store_corrupt and changes no file", async () => {
    const { root: source } = await closedStore();
    const size = readFileSync(join(source, "runtime.json")).length;
    for (const at of [0, 1, 10, Math.floor(size / 2), size - 2]) {
      const root = cutCopy(source, "runtime.json", at);
      const files = listFiles(root);
      await expectCode(open(root), "store_corrupt");
      expect(listFiles(root)).toEqual(files);
    }
  }, 60_000);

  test("LOCK: a cut lock file is a stale lock: taken over with a warning, nothing lost", async () => {
    const { root: source } = await closedStore();
    writeFileSync(join(source, "LOCK"), `${JSON.stringify({ pid: 2 ** 22 + 17, start: 1, boot_id: "gone" })}\n`);
    const size = readFileSync(join(source, "LOCK")).length;
    for (const at of [0, 1, Math.floor(size / 2), size - 1]) {
      const root = cutCopy(source, "LOCK", at);
      const runtime = await open(root);
      try {
        expect((await runtime.diagnostics()).some((d) => d.code === "store_lock_taken_over")).toBe(true);
        for (const id of ["victim", "good"]) expect((await runtime.transcript(id, {})).items.length).toBe(6);
      } finally {
        await runtime.close();
      }
    }
  }, 60_000);
});

/**
 * A crash image: the runtime still open (journal ahead of the layout's files), three workers,
 * each conversation its own journal record. Returns the copy and what was acknowledged.
 */
async function crashImage(): Promise<{ root: string; acked: Map<string, string[]> }> {
  const live = scratchDir("cut-live");
  const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: live, checkpoint_interval_ms: 60_000 }), { runtime_id: "rt-cut" }));
  const acked = new Map<string, string[]>();
  for (const id of ["w1", "w2", "w3"]) {
    await runtime.createWorker({ worker_id: id });
    acked.set(id, []);
  }
  for (let i = 0; i < 2; i++) {
    for (const id of ["w1", "w2", "w3"]) {
      await converse(runtime, id, `${id} ${i}`);
      acked.get(id)!.push(`${id} ${i}`, `${id} ${i}`);
    }
  }
  const root = scratchDir("cut-crash");
  rmSync(root, { recursive: true });
  cpSync(live, root, { recursive: true });
  await runtime.close();
  rmSync(join(root, "LOCK"), { force: true });
  return { root, acked };
}

describe("truncation of the journal at every record boundary and mid-record", () => {
  test("the last journal file: a crash before those batches (mid-record: store_repaired); start-up never crashes; each worker serves a prefix of what was acknowledged or is unavailable", async () => {
    const { root: source, acked } = await crashImage();
    const name = readdirSync(join(source, "wal")).find((n) => /^\d+\.jsonl$/.test(n))!;
    const points = journalCutPoints(join(source, "wal", name));
    expect(points.length).toBeGreaterThan(10);
    for (const { at, kind } of points) {
      const root = cutCopy(source, `wal/${name}`, at);
      const runtime = await open(root);
      try {
        if (kind === "mid-record") expect((await runtime.diagnostics()).some((d) => d.code === "store_repaired" && d.details?.file === `wal/${name}`)).toBe(true);
        for (const [id, contents] of acked) {
          let served: string[];
          try {
            served = (await runtime.transcript(id, { limit: 100 })).items.map((e) => e.content);
          } catch (error) {
            const code = (error as { code?: string }).code;
            // A worker whose create the cut took is not there: an empty prefix.
            if (code !== "worker_not_found") expect(code).toBe("store_corrupt");
            continue;
          }
          expect(`wal/${name}@${at} ${id}: ${JSON.stringify(served)}`).toBe(`wal/${name}@${at} ${id}: ${JSON.stringify(contents.slice(0, served.length))}`);
        }
        // Segments the cut took whole are gone: events are read from the oldest retained one.
        const events = await readEventsFromOldest(runtime);
        for (let i = 1; i < events.length; i++) expect(events[i]!.id!).toBeGreaterThan(events[i - 1]!.id!);
      } finally {
        await runtime.close();
      }
      rmSync(root, { recursive: true, force: true });
    }
  }, 240_000);

  test("a journal file the journal moved on from, cut mid-record: damage (store_corrupt_journal), kept aside, its workers unavailable", async () => {
    const { root: source } = await crashImage();
    const name = readdirSync(join(source, "wal")).find((n) => /^\d+\.jsonl$/.test(n))!;
    const points = journalCutPoints(join(source, "wal", name)).filter((p) => p.kind === "mid-record");
    for (const { at } of points.slice(-4)) {
      const root = cutCopy(source, `wal/${name}`, at);
      writeFileSync(join(root, "wal", `${Number(name.replace(".jsonl", "")) + 1}.jsonl`), "");
      const runtime = await open(root);
      try {
        const report = (await runtime.diagnostics()).find((d) => d.code === "store_corrupt_journal");
        expect(report?.message).toContain(`wal/${name}`);
        expect(readdirSync(join(root, "wal")).some((n) => n.includes(".unreplayed-"))).toBe(true);
        const statuses = await Promise.all(["w1", "w2", "w3"].map(async (id) => (await runtime.getWorker(id)).status));
        expect(statuses).toContain("unavailable");
      } finally {
        await runtime.close();
      }
    }
  }, 120_000);
});

/** Record boundaries of a journal file (a header line, its payload, a newline), and a point inside each header and payload. */
function journalCutPoints(path: string): Array<{ at: number; kind: string }> {
  const bytes = readFileSync(path);
  const points: Array<{ at: number; kind: string }> = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf(0x0a, at);
    const header = JSON.parse(bytes.toString("utf8", at, end)) as { payload: number };
    points.push({ at, kind: "boundary" }, { at: at + Math.floor((end - at) / 2), kind: "mid-record" });
    if (header.payload > 1) points.push({ at: end + 1 + Math.floor(header.payload / 2), kind: "mid-record" });
    at = end + 1 + header.payload + 1;
  }
  return points;
}

/** Every stored event from the oldest retained one on. */
async function readEventsFromOldest(runtime: Runtime): Promise<StoredEvent[]> {
  try {
    return await readAllEvents(runtime);
  } catch (error) {
    const oldest = (error as { code?: string; details?: { oldest_event_id?: number } }).details?.oldest_event_id;
    if ((error as { code?: string }).code !== "cursor_expired" || oldest === undefined) throw error;
    const out: StoredEvent[] = [];
    let after = oldest - 1;
    for (;;) {
      const batch = await runtime.readEvents({ after }, 256);
      out.push(...batch.events);
      if (!batch.has_more) return out;
      after = batch.next_after;
    }
  }
}
