import { afterAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { cleanScratch, parseAll, scratchDir, sleep } from "./helpers.ts";

afterAll(cleanScratch);

const CLI = resolve(import.meta.dir, "../../cli.ts");
// Creates, inputs (with and without ?wait), deletes. CI runs a few rounds; the long crash loop (issue 12: >= 50 rounds, 32 clients) is
// `YOI_CRASH_ROUNDS=50 YOI_CRASH_CLIENTS=32 bun test --timeout 3600000 test/store/fs-crash.test.ts`, which prints its counts.
const ROUNDS = Number(process.env.YOI_CRASH_ROUNDS ?? 5);
const CLIENTS = Number(process.env.YOI_CRASH_CLIENTS ?? 8);
const LONG = process.env.YOI_CRASH_ROUNDS !== undefined;

interface Server {
  url: string;
  proc: Subprocess<"ignore", "ignore", "pipe">;
  output(): string;
}

/** `yoi-runtime serve` on the fs store at `dir`, on a free loopback port read from its log. */
async function serve(dir: string): Promise<Server> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith("YOI_")) env[key] = value;
  const proc = Bun.spawn(
    [process.execPath, CLI, "serve", "--store", "fs", "--data-dir", dir, "--bind", "127.0.0.1:0", "--runtime-id", "rt-crash", "--log-format", "json"],
    { cwd: scratchDir("crash-cwd"), env, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  let log = "";
  const decoder = new TextDecoder();
  void (async () => {
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      log += decoder.decode(value, { stream: true });
    }
  })();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
    if (match) return { url: match[1]!, proc, output: () => log };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start (exit ${proc.exitCode}):\n${log}`);
    await sleep(10);
  }
}

/** What the server acknowledged with a 2xx: it must all be there after the crash. */
interface Acked {
  workers: Set<string>;
  /** worker → sequence → content */
  entries: Map<string, Map<number, string>>;
  /** runs whose completion was acknowledged (input with ?wait answered 200 with the ended run) */
  completed: Array<{ worker: string; run_id: string; output_sequence: number }>;
  /** workers whose deletion was acknowledged (200): they must stay gone */
  deleted: Set<string>;
  /** acknowledged transcript entries of deleted workers, checked after every restart before their delete */
  checked_inputs: number;
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

interface Stop {
  dead: boolean;
  /** Called after each acknowledgement is recorded: the kill can land right behind one. */
  afterAck: () => void;
}

/** One client: creates workers and talks to them until the server dies under it. */
async function client(url: string, name: string, acked: Acked, stop: Stop): Promise<void> {
  let n = 0;
  try {
    while (!stop.dead) {
      const worker = `${name}-${n++}`;
      const created = await post(`${url}/v1/workers`, { worker_id: worker });
      if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      acked.workers.add(worker);
      stop.afterAck();
      const entries = new Map<number, string>();
      acked.entries.set(worker, entries);
      for (let i = 0; i < 6 && !stop.dead; i++) {
        const content = `${worker} says ${i}`;
        const system = i % 3 === 2;
        const { status, json } = await post(`${url}/v1/workers/${worker}/input${system ? "" : "?wait=10"}`, { kind: system ? "system" : "user", content });
        if (status !== 200 && status !== 202) throw new Error(`input answered ${status}: ${JSON.stringify(json)}`);
        entries.set(json.ack.transcript_sequence, content);
        if (json.run?.status === "completed") {
          acked.completed.push({ worker, run_id: json.run.run_id, output_sequence: json.run.output_sequence });
          entries.set(json.run.output_sequence, content);
        }
        stop.afterAck();
      }
      // Every other worker (the first of each client included) is deleted once its conversation is done.
      if (n % 2 === 1 && !stop.dead) {
        // From the request on, the worker may be gone or not (until the 200): it is no longer checked.
        acked.workers.delete(worker);
        acked.checked_inputs += acked.entries.get(worker)?.size ?? 0;
        acked.entries.delete(worker);
        acked.completed = acked.completed.filter((run) => run.worker !== worker);
        const response = await fetch(`${url}/v1/workers/${worker}`, { method: "DELETE" });
        if (response.status !== 200) throw new Error(`delete answered ${response.status}`);
        acked.deleted.add(worker);
        stop.afterAck();
      }
    }
  } catch (error) {
    // A request cut off by the kill is not acknowledged; anything else is a real failure.
    if (!stop.dead) throw error;
  }
}

async function getJson(url: string): Promise<any> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return response.json();
}

describe("FsStore crash safety (real process, SIGKILL mid-load)", () => {
  test(
    `every acknowledged write survives ${ROUNDS} kills, and every file parses`,
    async () => {
      const dir = scratchDir("crash-data");
      const acked: Acked = { workers: new Set(), entries: new Map(), completed: [], deleted: new Set(), checked_inputs: 0 };
      // Rounds whose restart had to finish writes from the journal: the replay path was taken.
      let recovered = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const server = await serve(dir);
        // Once the load has built up, kill right behind an acknowledgement (its batch is the
        // newest), at a point that differs from round to round.
        let acks = 0;
        const killAt = 150 + Math.floor(Math.random() * 150);
        const stop: Stop = {
          dead: false,
          afterAck() {
            if (++acks === killAt) {
              stop.dead = true;
              server.proc.kill("SIGKILL");
            }
          },
        };
        const clients = Array.from({ length: CLIENTS }, (_, c) => client(server.url, `r${round}c${c}`, acked, stop));
        await server.proc.exited;
        expect(server.proc.signalCode).toBe("SIGKILL");
        await Promise.all(clients);

        const after = await serve(dir);
        try {
          const diagnostics = (await getJson(`${after.url}/v1/diagnostics`)).diagnostics as Array<{ code: string }>;
          expect(diagnostics.some((d) => d.code === "store_lock_taken_over")).toBe(true);
          if (diagnostics.some((d) => d.code === "store_recovered")) recovered++;
          for (const worker of acked.workers) {
            const detail = (await getJson(`${after.url}/v1/workers/${worker}`)).worker;
            expect(detail.status).not.toBe("unavailable");
            const transcript = (await getJson(`${after.url}/v1/workers/${worker}/transcript?limit=100`)).transcript;
            // Dense sequences from 0: nothing lost in the middle, nothing reused.
            expect(transcript.items.map((e: { sequence: number }) => e.sequence)).toEqual(
              Array.from({ length: transcript.total_items }, (_, i) => i),
            );
            for (const [sequence, content] of acked.entries.get(worker)!) {
              expect(transcript.items[sequence]?.content).toBe(content);
            }
          }
          for (const worker of acked.deleted) {
            expect((await fetch(`${after.url}/v1/workers/${worker}`)).status).toBe(404);
          }
          for (const { worker, run_id, output_sequence } of acked.completed) {
            const run = (await getJson(`${after.url}/v1/workers/${worker}/runs/${run_id}`)).run;
            expect(run).toMatchObject({ status: "completed", output_sequence });
          }
          // Event ids strictly increase with no duplicates across every crash so far.
          let cursor = 0;
          let previous = 0;
          for (;;) {
            const batch = (await getJson(`${after.url}/v1/events?after=${cursor}&limit=256`)).events;
            for (const event of batch.events) {
              expect(event.id).toBeGreaterThan(previous);
              previous = event.id;
            }
            if (!batch.has_more) break;
            cursor = batch.next_after;
          }
        } finally {
          after.proc.kill("SIGTERM");
          expect(await after.proc.exited).toBe(0);
        }
        // After recovery and a clean stop, every JSON and JSONL file of the store parses.
        parseAll(dir);
      }
      expect(acked.completed.length).toBeGreaterThan(ROUNDS * 8);
      expect(acked.deleted.size).toBeGreaterThan(0);
      expect(recovered).toBeGreaterThan(0);
      if (LONG) {
        const entries = acked.checked_inputs + [...acked.entries.values()].reduce((sum, map) => sum + map.size, 0);
        console.log(
          `crash loop: ${ROUNDS} SIGKILL rounds, ${CLIENTS} clients; acknowledged and checked after every restart: ${acked.workers.size + acked.deleted.size} creates, ` +
            `${entries} transcript entries, ${acked.completed.length} completed runs, ${acked.deleted.size} deletes; lost 0, duplicated 0 (any would have failed); ${recovered} rounds replayed the journal`,
        );
      }
    },
    Math.max(180_000, ROUNDS * 40_000),
  );
});
