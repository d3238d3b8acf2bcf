import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, expectCode, runtimeOptions, scratchDir } from "./helpers.ts";

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
