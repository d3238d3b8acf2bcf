import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, converse, fileSize, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const CLI = join(import.meta.dir, "../../cli.ts");

function verify(root: string, ...extra: string[]): { code: number; stdout: string; stderr: string } {
  const run = Bun.spawnSync(["bun", CLI, "store", "verify", "--data-dir", root, ...extra], { env: { ...process.env, NO_COLOR: "1" } });
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

async function prepared(): Promise<string> {
  const root = scratchDir("verify");
  const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
  for (const id of ["a", "b"]) {
    await runtime.createWorker({ worker_id: id });
    await converse(runtime, id, `${id}-1`);
    await converse(runtime, id, `${id}-2`);
  }
  await runtime.close();
  return root;
}

function flip(path: string, from: string, to: string): number {
  const text = readFileSync(path, "utf8");
  const at = text.indexOf(from);
  writeFileSync(path, text.slice(0, at) + to + text.slice(at + from.length));
  return text.lastIndexOf("\n", at) + 1;
}

describe("yoi-runtime store verify", () => {
  test("a sound store: exit 0, every record counted", async () => {
    const root = await prepared();
    const result = verify(root, "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.damaged).toEqual([]);
    expect(report.records).toBeGreaterThan(10);
  });

  test("each damaged file is named with the byte offset of its record; exit 1", async () => {
    const root = await prepared();
    const transcriptAt = flip(join(root, "workers/a/transcript.jsonl"), '"a-2"', '"a-X"');
    const eventAt = flip(join(root, "events/1.jsonl"), '"worker_created"', '"worker_createX"');
    const runs = join(root, "workers/b/runs.jsonl");
    const short = fileSize(runs) - 5;
    truncateSync(runs, short);
    const result = verify(root);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`damaged: workers/a/transcript.jsonl at byte ${transcriptAt}:`);
    expect(result.stdout).toContain(`damaged: events/1.jsonl at byte ${eventAt}:`);
    expect(result.stdout).toContain(`damaged: workers/b/runs.jsonl at byte ${short}:`);
    expect(result.stdout).toContain("3 damaged");
  });

  test("a store that does not exist is reported, not crashed on", () => {
    const result = verify(join(scratchDir("verify-none"), "nothing-here"));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("damaged: runtime.json at byte 0");
  });
});
