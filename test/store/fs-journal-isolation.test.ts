import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { verifyStore } from "../../src/store/fs/verify.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, expectCode, fsHarness, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const open = (root: string) => Runtime.open(runtimeOptions(new FsStore({ root, checkpoint_interval_ms: 60_000 })));

/**
 * A crash image (journal ahead of the files, taken while the runtime was open) of three workers:
 * each converses twice, then A says "a-lost" (the record that will be damaged), then B and C
 * converse again — records after the damaged one.
 */
async function threeWorkerImage(): Promise<{ root: string; acked: Record<string, string[]> }> {
  const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
  const runtime = await harness.open();
  const acked: Record<string, string[]> = { a: [], b: [], c: [], d: [] };
  const say = async (id: string, content: string) => {
    await converse(runtime, id, content);
    acked[id]!.push(content, content);
  };
  for (const id of ["a", "b", "c"]) await runtime.createWorker({ worker_id: id });
  for (let i = 0; i < 2; i++) for (const id of ["a", "b", "c"]) await say(id, `${id}-${i}`);
  await say("a", "a-lost");
  for (const id of ["b", "c"]) await say(id, `${id}-after`);
  await runtime.createWorker({ worker_id: "d" });
  await say("d", "d-after");
  const root = scratchDir("isolation");
  rmSync(root, { recursive: true });
  cpSync(harness.root(), root, { recursive: true });
  await runtime.close();
  return { root, acked };
}

/** Flips one byte of the payload line holding `needle`; returns the journal file and its record's offset. */
function damagePayload(root: string, needle: string): { file: string; offset: number } {
  for (const name of readdirSync(join(root, "wal")).filter((n) => /^\d+\.jsonl$/.test(n))) {
    const path = join(root, "wal", name);
    const bytes = readFileSync(path);
    const at = bytes.indexOf(needle);
    if (at < 0) continue;
    const offset = bytes.lastIndexOf('{"batch":', at);
    // Inside the payload (the header line ends before it): the header's seal stays intact.
    expect(bytes.indexOf("\n", offset)).toBeLessThan(at);
    bytes[at + 2] = "X".charCodeAt(0);
    writeFileSync(path, bytes);
    return { file: `wal/${name}`, offset };
  }
  throw new Error(`no journal record holds ${needle}`);
}

async function contents(runtime: Runtime, id: string): Promise<string[]> {
  return (await runtime.transcript(id, { limit: 100 })).items.map((entry) => entry.content);
}

describe("FsStore: a journal record whose payload is damaged (header intact) isolates its workers", () => {
  test("A is unavailable naming file and offset; B, C (and D, created after) keep every acknowledged write, later ones included; across restarts", async () => {
    const { root, acked } = await threeWorkerImage();
    const { file, offset } = damagePayload(root, '"a-lost"');
    const stored = readFileSync(join(root, file));
    const heldIds = [...stored.toString("utf8").matchAll(/\{"id":(\d+)/g)].map((m) => Number(m[1]));
    // store verify names the damaged record offline.
    expect(verifyStore(root).damaged).toContainEqual(expect.objectContaining({ file, offset }));

    const runtime = await open(root);
    try {
      const a = await runtime.getWorker("a");
      expect(a.status).toBe("unavailable");
      expect(a.unavailable_reason).toContain(`${file} is damaged at byte ${offset}`);
      await expectCode(runtime.transcript("a", {}), "store_corrupt");
      await expectCode(runtime.sendInput("a", { kind: "user", content: "reuse?" }), "store_corrupt");
      for (const id of ["b", "c", "d"]) {
        expect((await runtime.getWorker(id)).status).toBe("idle");
        expect(await contents(runtime, id)).toEqual(acked[id]!);
      }
      const report = (await runtime.diagnostics()).find((d) => d.code === "store_corrupt_journal");
      expect(report?.message).toContain(file);
      expect(report?.details).toMatchObject({ file, workers: ["a"] });
      // Nothing altered is served, and no event id is handed out twice.
      const events = await readAllEvents(runtime);
      expect(JSON.stringify(events)).not.toContain("a-lXst");
      const ack = await converse(runtime, "b", "b-new");
      expect(ack.transcript_sequence).toBe(acked.b!.length);
      const fresh = (await readAllEvents(runtime)).slice(events.length);
      expect(fresh.length).toBeGreaterThan(0);
      for (const event of fresh) expect(event.id!).toBeGreaterThan(Math.max(...heldIds));
      acked.b!.push("b-new", "b-new");
    } finally {
      await runtime.close();
    }
    // The close checkpointed and retired the damaged journal file; a copy is kept, and A stays unavailable.
    expect(existsSync(join(root, file))).toBe(false);
    expect(readdirSync(join(root, "wal")).some((name) => name.includes(".damaged-"))).toBe(true);
    expect(existsSync(join(root, "workers/a/unavailable.json"))).toBe(true);
    expect(verifyStore(root).damaged.map((d) => d.file)).toEqual(["workers/a/unavailable.json"]);
    const again = await open(root);
    try {
      const a = await again.getWorker("a");
      expect(a.status).toBe("unavailable");
      expect(a.unavailable_reason).toContain(`${file} is damaged at byte ${offset}`);
      for (const id of ["b", "c", "d"]) expect(await contents(again, id)).toEqual(acked[id]!);
      // Deleting the unavailable worker is how it is cleared: its id can be used again.
      await again.deleteWorker("a");
      await again.createWorker({ worker_id: "a" });
      expect((await converse(again, "a", "fresh")).transcript_sequence).toBe(0);
    } finally {
      await again.close();
    }
  }, 60_000);

  test("unavailable.json cut at any point still keeps the worker unavailable; the others are untouched", async () => {
    const { root, acked } = await threeWorkerImage();
    damagePayload(root, '"a-lost"');
    await (await open(root)).close();
    const marker = join(root, "workers/a/unavailable.json");
    const size = readFileSync(marker).length;
    for (const at of [0, 1, 10, Math.floor(size / 2), size - 2]) {
      const copy = scratchDir("marker-cut");
      rmSync(copy, { recursive: true });
      cpSync(root, copy, { recursive: true });
      truncateSync(join(copy, "workers/a/unavailable.json"), at);
      const runtime = await open(copy);
      try {
        expect(`${at}: ${(await runtime.getWorker("a")).status}`).toBe(`${at}: unavailable`);
        for (const id of ["b", "c", "d"]) expect(await contents(runtime, id)).toEqual(acked[id]!);
      } finally {
        await runtime.close();
      }
    }
  }, 60_000);

  test("a damaged header (workers unknown) still keeps everything from there on aside and makes every worker unavailable", async () => {
    const { root } = await threeWorkerImage();
    const name = readdirSync(join(root, "wal")).find((n) => readFileSync(join(root, "wal", n), "utf8").includes('"a-lost"'))!;
    const path = join(root, "wal", name);
    const bytes = readFileSync(path);
    const offset = bytes.lastIndexOf('{"batch":', bytes.indexOf('"a-lost"'));
    bytes[offset + 3] = "X".charCodeAt(0);
    writeFileSync(path, bytes);
    const runtime = await open(root);
    try {
      for (const id of ["a", "b", "c"]) {
        const worker = await runtime.getWorker(id);
        expect(worker.status).toBe("unavailable");
        expect(worker.unavailable_reason).toContain(`wal/${name} is damaged at byte ${offset}`);
      }
      expect(readdirSync(join(root, "wal")).some((n) => n.includes(".unreplayed-"))).toBe(true);
    } finally {
      await runtime.close();
    }
    const again = await open(root);
    try {
      for (const id of ["a", "b", "c"]) expect((await again.getWorker(id)).status).toBe("unavailable");
    } finally {
      await again.close();
    }
  }, 60_000);
});
