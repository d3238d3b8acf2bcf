/**
 * The bit-flip corpus (issue 12): one bit of one stored file flipped per case, seeded, over every
 * file kind of a store. For each case the store is opened and everything is read back; what is
 * served must equal what was acknowledged, or the read must fail store_corrupt (or the worker be
 * unavailable). Used by test/store/fs-bitflip.test.ts (small) and scripts/bench/bitflip.ts (long).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { readAllEvents } from "./contract.ts";
import { converse, listFiles, runtimeOptions, scratchDir } from "./helpers.ts";

export const WORKERS = ["w1", "w2", "w3"];

/** A seeded PRNG (mulberry32): the same seed flips the same bits. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a worker serves: its counters, transcript and runs (or the error code it answers). */
async function observe(runtime: Runtime, id: string): Promise<string> {
  try {
    const worker = await runtime.getWorker(id);
    const transcript = await runtime.transcript(id, { limit: 100 });
    const runs = await runtime.listRuns(id, { limit: 100 });
    return JSON.stringify({ worker, transcript: transcript.items, list: runs.runs });
  } catch (error) {
    return `error:${(error as { code?: string }).code ?? String(error)}`;
  }
}

async function observeEvents(runtime: Runtime): Promise<string> {
  try {
    // Only what was acknowledged before the flip: events of the reopen itself differ by nature.
    const events = await readAllEvents(runtime);
    return JSON.stringify(events.filter((e) => e.kind !== "runtime_started" && e.kind !== "diagnostic" && e.kind !== "runtime_stopped"));
  } catch (error) {
    return `error:${(error as { code?: string }).code ?? String(error)}`;
  }
}

/** A closed store holding three workers with conversations; and a crash image (journal ahead of the files). */
export async function corpusStores(): Promise<{ clean: string; crashed: string }> {
  const clean = scratchDir("flip-clean");
  const runtime = await Runtime.open(runtimeOptions(new FsStore({ root: clean }), { runtime_id: "rt-flip" }));
  for (const id of WORKERS) {
    await runtime.createWorker({ worker_id: id });
    for (let i = 0; i < 3; i++) await converse(runtime, id, `${id} says ${i} é😀`);
  }
  await runtime.close();
  const open = scratchDir("flip-live");
  const live = await Runtime.open(runtimeOptions(new FsStore({ root: open, checkpoint_interval_ms: 60_000 } as never), { runtime_id: "rt-flip" }));
  for (const id of WORKERS) {
    await live.createWorker({ worker_id: id });
    for (let i = 0; i < 2; i++) await converse(live, id, `${id} journaled ${i}`);
  }
  const crashed = scratchDir("flip-crash");
  rmSync(crashed, { recursive: true });
  cpSync(open, crashed, { recursive: true });
  await live.close();
  rmSync(join(crashed, "LOCK"), { force: true });
  return { clean, crashed };
}

export interface CorpusCounts {
  tried: number;
  /** A read failed store_corrupt, a worker went unavailable, or a repair was reported. */
  detected: number;
  /** The flip changed nothing anyone reads (e.g. a byte no record depends on). */
  harmless: number;
  /** Cases where a damaged journal record took events with it (reported, never served altered). */
  eventsLost: number;
  harmlessFlips: string[];
  /** Something served differs from what was acknowledged, or the open crashed. */
  servedWrong: string[];
}

/** Runs `count` flips from `seed` over the files of `source`; runtime.json is left out (it stops the open, by design). */
export async function runCorpus(source: string, seed: number, count: number): Promise<CorpusCounts> {
  const counts: CorpusCounts = { tried: 0, detected: 0, harmless: 0, eventsLost: 0, harmlessFlips: [], servedWrong: [] };
  const random = prng(seed);
  const baseline = await snapshot(copyOf(source));
  const files = listFiles(source).filter((f) => !f.endsWith("/") && f !== "runtime.json" && f !== "LOCK" && readFileSync(join(source, f)).length > 0);
  for (let i = 0; i < count; i++) {
    const file = files[Math.floor(random() * files.length)]!;
    const root = copyOf(source);
    const bytes = readFileSync(join(root, file));
    const at = Math.floor(random() * bytes.length);
    const bit = 1 << Math.floor(random() * 8);
    bytes[at]! ^= bit;
    writeFileSync(join(root, file), bytes);
    counts.tried++;
    let seen: Snapshot;
    try {
      seen = await snapshot(root);
    } catch (error) {
      counts.servedWrong.push(`${file}@${at}^${bit}: the open failed: ${String(error)}`);
      continue;
    }
    let detected = seen.repaired;
    for (const [key, value] of Object.entries(seen.views)) {
      if (value === baseline.views[key]) continue;
      if (value.startsWith("error:store_corrupt") || value.includes('"status":"unavailable"')) {
        detected = true;
        continue;
      }
      // Events the journal lost with a damaged record are reported (store_corrupt_journal), not
      // served: what is served must still be acknowledged events, unaltered.
      if (key === "events" && seen.journalDamage && !value.startsWith("error:")) {
        const acknowledged = new Set((JSON.parse(baseline.views.events!) as unknown[]).map((e) => JSON.stringify(e)));
        if ((JSON.parse(value) as unknown[]).every((e) => acknowledged.has(JSON.stringify(e)))) {
          counts.eventsLost++;
          continue;
        }
      }
      // The journal lost the oldest events with a damaged header: a read from 0 answers
      // cursor_expired (the oldest retained event is later) and serves nothing.
      if (key === "events" && seen.journalDamage && value === "error:cursor_expired") {
        counts.eventsLost++;
        continue;
      }
      counts.servedWrong.push(`${file}@${at}^${bit}: ${key} served ${value.slice(0, 200)} instead of ${baseline.views[key]!.slice(0, 200)}`);
    }
    if (detected) counts.detected++;
    else {
      counts.harmless++;
      counts.harmlessFlips.push(`${file}@${at}`);
    }
    rmSync(root, { recursive: true, force: true });
  }
  return counts;
}

interface Snapshot {
  views: Record<string, string>;
  repaired: boolean;
  journalDamage: boolean;
}

async function snapshot(root: string): Promise<Snapshot> {
  const runtime = await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-flip" }));
  try {
    const views: Record<string, string> = {};
    for (const id of WORKERS) views[id] = await observe(runtime, id);
    views.events = await observeEvents(runtime);
    const diagnostics = await runtime.diagnostics();
    const repaired = diagnostics.some((d) => d.code.startsWith("store_") || d.code === "worker_unavailable");
    return { views, repaired, journalDamage: diagnostics.some((d) => d.code === "store_corrupt_journal") };
  } finally {
    await runtime.close();
  }
}

function copyOf(source: string): string {
  const root = scratchDir("flip");
  rmSync(root, { recursive: true });
  cpSync(source, root, { recursive: true });
  return root;
}
