import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { checksumHex } from "../../src/platform/checksum.ts";
import { readAllEvents } from "./contract.ts";
import { cleanScratch, converse, expectCode, fileSize, fsHarness, listFiles, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const openAt = (root: string) => Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-crc" }));

/** A closed store with workers `good` and `victim`, one conversation each (victim's says "b-2"). */
async function prepared(): Promise<string> {
  const root = scratchDir("crc");
  const runtime = await openAt(root);
  for (const id of ["good", "victim"]) {
    await runtime.createWorker({ worker_id: id });
    await converse(runtime, id, id === "victim" ? "b-2" : "fine");
  }
  await runtime.close();
  return root;
}

/** Replaces the first `from` in `path` by `to` (same length: the file still parses as JSON lines). */
function alter(path: string, from: string, to: string): number {
  const text = readFileSync(path, "utf8");
  const at = text.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  writeFileSync(path, text.slice(0, at) + to + text.slice(at + from.length));
  return Buffer.byteLength(text.slice(0, text.lastIndexOf("\n", at) + 1));
}

describe("checksums", () => {
  test("CRC-32 check value, and Bun and Deno compute the same seals", async () => {
    expect(checksumHex("123456789")).toBe("cbf43926");
    const sample = 'é€😀 {"sequence":1}';
    const deno = Bun.spawnSync(
      ["deno", "eval", `import { checksumHex } from "./src/platform/checksum.ts"; console.log(checksumHex(${JSON.stringify(sample)}))`],
      { cwd: join(import.meta.dir, "../.."), env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(deno.stdout.toString().trim()).toBe(checksumHex(sample));
  });
});

describe("FsStore: an altered record is never served", () => {
  test("transcript content changed in place (still valid JSON): store_corrupt, worker unavailable, the other worker unaffected", async () => {
    const root = await prepared();
    const offset = alter(join(root, "workers/victim/transcript.jsonl"), '"b-2"', '"b-X"');
    const runtime = await openAt(root);
    try {
      const error = await expectCode(runtime.transcript("victim", {}), "store_corrupt");
      expect(error.details).toMatchObject({ file: "workers/victim/transcript.jsonl", offset, worker_id: "victim" });
      expect((await runtime.getWorker("victim")).status).toBe("unavailable");
      await expectCode(runtime.sendInput("victim", { kind: "user", content: "again" }), "store_corrupt");
      expect((await runtime.transcript("good", {})).items.map((e) => e.content)).toEqual(["fine", "fine"]);
      expect((await converse(runtime, "good", "next")).transcript_sequence).toBe(2);
    } finally {
      await runtime.close();
    }
  });

  test("a run record changed in place: listRuns and getRun answer store_corrupt, never the altered run", async () => {
    const root = await prepared();
    const path = join(root, "workers/victim/runs.jsonl");
    const first = JSON.parse(readFileSync(path, "utf8").split("\n")[0]!) as { run_id: string };
    alter(path, '"status":"running"', '"status":"failed" ');
    const runtime = await openAt(root);
    try {
      await expectCode(runtime.listRuns("victim", {}), "store_corrupt");
      await expectCode(runtime.getRun("victim", first.run_id), "store_corrupt");
      expect((await runtime.getWorker("victim")).status).toBe("unavailable");
    } finally {
      await runtime.close();
    }
  });

  test("an event changed in place: reading past it answers store_corrupt naming the segment", async () => {
    const root = await prepared();
    alter(join(root, "events/1.jsonl"), '"worker_created"', '"worker_deleted"');
    const runtime = await openAt(root);
    try {
      const error = await expectCode(readAllEvents(runtime), "store_corrupt");
      expect(error.details).toMatchObject({ file: "events/1.jsonl" });
    } finally {
      await runtime.close();
    }
  });

  test("a journal payload changed in place (b-2 → b-X): not replayed, its worker unavailable naming file and offset, the other worker intact, its later writes too", async () => {
    const harness = fsHarness({ checkpoint_interval_ms: 60_000 });
    const first = await harness.open();
    await first.createWorker({ worker_id: "other" });
    await converse(first, "other", "untouched");
    await first.createWorker({ worker_id: "a" });
    await converse(first, "a", "a-1");
    await converse(first, "a", "b-2");
    await converse(first, "other", "later");
    const copy = scratchDir("crc-journal");
    rmSync(copy, { recursive: true });
    cpSync(harness.root(), copy, { recursive: true });
    await first.close();
    const journals = readdirSync(join(copy, "wal")).filter((name) => name.endsWith(".jsonl"));
    const name = journals.find((file) => readFileSync(join(copy, "wal", file), "utf8").includes('"b-2"'))!;
    const journal = readFileSync(join(copy, "wal", name));
    const offset = journal.lastIndexOf('{"batch":', journal.indexOf('"b-2"'));
    alter(join(copy, "wal", name), '"b-2"', '"b-X"');
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: copy })));
    try {
      const report = (await runtime.diagnostics()).find((d) => d.code === "store_corrupt_journal");
      expect(report?.message).toContain(`wal/${name}`);
      expect(report?.message).toContain(`byte ${offset}`);
      const a = await runtime.getWorker("a");
      expect(a.status).toBe("unavailable");
      expect(a.unavailable_reason).toContain(`wal/${name} is damaged at byte ${offset}`);
      await expectCode(runtime.transcript("a", {}), "store_corrupt");
      expect((await runtime.transcript("other", {})).items.map((e) => e.content)).toEqual(["untouched", "untouched", "later", "later"]);
      // Event ids the damaged record held are not handed out again (a copy of the file is kept).
      const kept = readdirSync(join(copy, "wal")).filter((file) => file.includes(".damaged-"));
      expect(kept.length).toBe(1);
      const heldIds = kept.flatMap((file) => [...readFileSync(join(copy, "wal", file), "utf8").matchAll(/\{"id":(\d+)/g)].map((m) => Number(m[1])));
      expect(heldIds.length).toBeGreaterThan(0);
      const seen = (await readAllEvents(runtime)).length;
      expect((await converse(runtime, "other", "more")).transcript_sequence).toBe(4);
      const fresh = (await readAllEvents(runtime)).slice(seen);
      expect(fresh.length).toBeGreaterThan(0);
      for (const event of fresh) expect(event.id!).toBeGreaterThan(Math.max(...heldIds));
      for (const file of listFiles(copy).filter((f) => f.startsWith("workers/") && f.endsWith(".jsonl"))) {
        expect(readFileSync(join(copy, file), "utf8")).not.toContain("b-X");
      }
    } finally {
      await runtime.close();
    }
  });
});

describe("FsStore: a format-1 store (records without seals) still opens", () => {
  test("its records read back, new records are sealed, and the store stays readable after", async () => {
    const root = await prepared();
    // Turn it into what the previous version wrote: no seals, format_version 1.
    for (const file of listFiles(root).filter((f) => f.endsWith(".jsonl"))) {
      const path = join(root, file);
      const lines = readFileSync(path, "utf8").split("\n").slice(0, -1);
      writeFileSync(path, lines.map((line) => `${line.replace(/,"crc":"[0-9a-f]{8}"\}$/, "}")}\n`).join(""));
    }
    // state.json's checkpoint counts the bytes of the logs as that version wrote them.
    for (const id of ["good", "victim"]) {
      const path = join(root, "workers", id, "state.json");
      const { crc: _, ...state } = JSON.parse(readFileSync(path, "utf8"));
      const { crc: __, ...record } = JSON.parse(readFileSync(join(root, "workers", id, "worker.json"), "utf8"));
      writeFileSync(join(root, "workers", id, "worker.json"), JSON.stringify(record, null, 2));
      state.checkpoint.transcript_bytes = fileSize(join(root, "workers", id, "transcript.jsonl"));
      state.checkpoint.runs_bytes = fileSize(join(root, "workers", id, "runs.jsonl"));
      writeFileSync(path, JSON.stringify(state));
    }
    const record = JSON.parse(readFileSync(join(root, "runtime.json"), "utf8"));
    writeFileSync(join(root, "runtime.json"), JSON.stringify({ ...record, format_version: 1 }));
    expect(readFileSync(join(root, "workers/victim/transcript.jsonl"), "utf8")).not.toContain('"crc"');
    for (let round = 0; round < 2; round++) {
      const runtime = await openAt(root);
      try {
        expect((await runtime.getWorker("victim")).status).toBe("idle");
        const contents = (await runtime.transcript("victim", {})).items.map((e) => e.content);
        expect(contents.slice(0, 2)).toEqual(["b-2", "b-2"]);
        expect((await runtime.listRuns("victim", {})).runs.length).toBe(round + 1);
        await converse(runtime, "victim", `upgraded ${round}`);
      } finally {
        await runtime.close();
      }
    }
    const lines = readFileSync(join(root, "workers/victim/transcript.jsonl"), "utf8").split("\n").slice(0, -1);
    expect(lines.slice(0, 2).every((line) => !line.includes('"crc"'))).toBe(true);
    expect(lines.slice(2).every((line) => /,"crc":"[0-9a-f]{8}"\}$/.test(line))).toBe(true);
  });

  test("in a format-2 store an unsealed record is damage, not an old record", async () => {
    const root = await prepared();
    const path = join(root, "workers/victim/transcript.jsonl");
    writeFileSync(path, readFileSync(path, "utf8").replace(/,"crc":"[0-9a-f]{8}"\}\n/, "}\n"));
    const runtime = await openAt(root);
    try {
      await expectCode(runtime.transcript("victim", {}), "store_corrupt");
    } finally {
      await runtime.close();
    }
  });
});
