/**
 * FsStore of this tree against the FsStore of another checkout, in one process, taking turns
 * (the order reversed every other round), so both meet the same machine load and page cache.
 * Not a test: prints a markdown table of medians and the median of the per-round ratios.
 *
 *   bun scripts/bench/store.ts --only b --keep        # leaves <scratch>/startup-10k (10,000 workers)
 *   bun scripts/bench/store.ts --only c --keep        # leaves <scratch>/pages-1m (1,000,000 entries)
 *   bun scripts/bench/store-compare.ts --compare DIR --data <scratch>/startup-10k [--pages <scratch>/pages-1m] [--rounds 5] [--seconds 3]
 *   bun scripts/bench/store-compare.ts --compare DIR [--rounds 9]    # without --data: (2), (3) and (4) only
 *   bun scripts/bench/store-compare.ts --compare DIR --data <scratch>/startup-10k --startup-only   # (1) and (5) only
 *
 * (1) Runtime.open of the store at `--data` (10,000 workers / 1,000,000 entries), then close.
 * (2) Durable inputs/s through the Runtime API (durability fsync, a fresh store per turn): 64
 *     echo workers, each sending its next input once the last run ended.
 * (3) Creates/s through the Runtime API, 8 in flight, a fresh store per turn, durability none and
 *     fsync; the close (which finishes whatever a store left for later) counts in the time. The
 *     memory store's creates/s in the same rounds is printed beside them (issue 16's target is
 *     fs none ≥ 0.5× memory).
 * (4) With `--pages`: 1,000 transcript pages of 100 at random offsets; p99, max and CPU per page.
 * (5) `serve` of each tree (`bun <tree>/cli.ts`) on the store at `--data`: spawn to the first 200
 *     of GET /healthz.
 * Cases 1–4 use this tree's Runtime; only the store differs. Each case is reported twice: wall
 * time, and this process's CPU time (user + system) per unit, which other load on a shared
 * machine disturbs far less.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { FsStore, MemoryStore, Runtime, builtinBackends, type RuntimeStore } from "../../src/index.ts";
import { fmt, median, percentile, pool, ratioOfRounds, spawnServer } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    compare: { type: "string" },
    data: { type: "string" },
    pages: { type: "string" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    "startup-only": { type: "boolean", default: false },
  },
  strict: true,
});
if (!values.compare) throw new Error("usage: --compare DIR [--data STORE_DIR] [--rounds N] [--seconds N]");
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
if (!Number.isInteger(rounds) || rounds < 1 || !(seconds > 0)) throw new Error("--rounds must be a positive integer, --seconds > 0");
const compareTree = resolve(values.compare);
const data = values.data === undefined ? null : resolve(values.data);
const RUNTIME_ID = "rt-bench";
const CLIENTS = 64;

type MakeStore = ((options: { root: string; durability?: "fsync" | "none" }) => RuntimeStore) & { tree?: string };
const other = (await import(join(compareTree, "src/index.ts"))) as { FsStore: new (options: { root: string; durability?: "fsync" | "none" }) => RuntimeStore };
const trees: Record<"this" | "compare", MakeStore> = {
  this: Object.assign((options: { root: string; durability?: "fsync" | "none" }) => new FsStore(options), { tree: resolve(import.meta.dir, "../..") }),
  compare: Object.assign((options: { root: string; durability?: "fsync" | "none" }) => new other.FsStore(options), { tree: compareTree }),
};

interface Measured {
  /** Wall figure: ms (open) or inputs/s (throughput). */
  wall: number;
  /** CPU ms of this process for the open, or CPU µs per acknowledged input. */
  cpu: number;
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

async function openClose(make: MakeStore): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const runtime = await Runtime.open({ store: make({ root: data! }), backends: builtinBackends, runtime_id: RUNTIME_ID });
  const measured = { wall: performance.now() - started, cpu: cpuMs(cpu) };
  await runtime.close();
  return measured;
}

async function durableInputs(make: MakeStore): Promise<Measured> {
  const root = mkdtempSync(join(tmpdir(), "yoi-bench-store-compare-"));
  const runtime = await Runtime.open({ store: make({ root }), backends: builtinBackends });
  try {
    const workers = Array.from({ length: CLIENTS }, (_, i) => `w-${i}`);
    for (const worker_id of workers) await runtime.createWorker({ worker_id });
    let acks = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      workers.map(async (worker) => {
        while (performance.now() < deadline) {
          const ack = await runtime.sendInput(worker, { kind: "user", content: "hello from a benchmark client, a sentence of ordinary length" });
          await runtime.waitRun(worker, ack.run_id!, 30_000);
          acks++;
        }
      }),
    );
    return { wall: acks / ((performance.now() - started) / 1000), cpu: (cpuMs(cpu) * 1000) / acks };
  } finally {
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const CREATES = 2000;
const memoryCreates: number[] = [];

/** CREATES creates, 8 in flight, on a fresh store; creates/s up to the end of close, CPU µs per create. */
async function creates(open: () => { store: RuntimeStore; root: string }): Promise<Measured> {
  const { store, root } = open();
  const runtime = await Runtime.open({ store, backends: builtinBackends });
  try {
    const ids = Array.from({ length: CREATES }, (_, i) => `w-${i}`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await pool(ids, 8, async (worker_id) => {
      await runtime.createWorker({ worker_id });
    });
    await runtime.close();
    return { wall: CREATES / ((performance.now() - started) / 1000), cpu: (cpuMs(cpu) * 1000) / CREATES };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const createsOn = (durability: "none" | "fsync") => async (make: MakeStore) => {
  // The memory store's figure in the same rounds: what a create costs without any disk.
  if (durability === "none" && make === trees.this) {
    const memory = await creates(() => ({ store: new MemoryStore(), root: mkdtempSync(join(tmpdir(), "yoi-bench-creates-")) }));
    memoryCreates.push(memory.wall);
  }
  return creates(() => {
    const root = mkdtempSync(join(tmpdir(), "yoi-bench-creates-"));
    return { store: make({ root, durability }), root };
  });
};

const pageTails: Record<string, { p99: number[]; max: number[] }> = { this: { p99: [], max: [] }, compare: { p99: [], max: [] } };

/** 1,000 pages of 100 at random offsets of the worker `long`; wall: p99 ms; CPU µs per page. */
async function pages(make: MakeStore): Promise<Measured> {
  const runtime = await Runtime.open({ store: make({ root: resolve(values.pages!) }), backends: builtinBackends, runtime_id: RUNTIME_ID });
  try {
    let seed = 42;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const total = (await runtime.getWorker("long")).transcript_items;
    const times: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < 1000; i++) {
      const start = Math.floor(random() * (total - 100));
      const t = performance.now();
      const page = await runtime.transcript("long", { start, limit: 100 });
      times.push(performance.now() - t);
      if (page.items[0]?.sequence !== start) throw new Error(`wrong page at ${start}`);
    }
    const cpuPer = (cpuMs(cpu) * 1000) / times.length;
    times.sort((a, b) => a - b);
    const tails = pageTails[make === trees.this ? "this" : "compare"]!;
    tails.p99.push(percentile(times, 99));
    tails.max.push(times[times.length - 1]!);
    return { wall: percentile(times, 99), cpu: cpuPer };
  } finally {
    await runtime.close();
  }
}

/** `bun <tree>/cli.ts serve` on the store at --data: spawn to the first 200 of /healthz (CPU: not measured, 0). */
async function spawnToHealthy(make: MakeStore): Promise<Measured> {
  const cli = join(make.tree!, "cli.ts");
  const server = await spawnServer([process.execPath, cli, "serve", "--bind", "127.0.0.1:0", "--log-format", "json", "--store", "fs", "--data-dir", data!, "--runtime-id", RUNTIME_ID], { cwd: make.tree });
  await server.stop();
  return { wall: server.startedMs, cpu: 0 };
}

const cases = [
  { name: "Runtime.open, 10,000 workers / 1,000,000 entries", measure: openClose, wall: "ms", cpu: "CPU ms", wallLowerIsBetter: true },
  { name: `durable inputs, Runtime API, ${CLIENTS} echo workers`, measure: durableInputs, wall: "/s", cpu: "CPU µs/input", wallLowerIsBetter: false },
  { name: `${fmt(CREATES)} creates (8 in flight, close included), durability none`, measure: createsOn("none"), wall: "creates/s", cpu: "CPU µs/create", wallLowerIsBetter: false },
  { name: `${fmt(CREATES)} creates (8 in flight, close included), durability fsync`, measure: createsOn("fsync"), wall: "creates/s", cpu: "CPU µs/create", wallLowerIsBetter: false },
  ...(values.pages ? [{ name: "transcript page of 100 at a random offset (1,000 pages)", measure: pages, wall: "p99 ms", cpu: "CPU µs/page", wallLowerIsBetter: true }] : []),
  { name: "spawn to first 200 of /healthz, same store as (1)", measure: spawnToHealthy, wall: "ms", cpu: "", wallLowerIsBetter: true },
]
  .filter((entry) => data !== null || (entry.measure !== openClose && entry.measure !== spawnToHealthy))
  .filter((entry) => !values["startup-only"] || entry.measure === openClose || entry.measure === spawnToHealthy);
const rows: string[] = [];
const row = (name: string, unit: string, mine: number[], theirs: number[], lowerIsBetter: boolean) => {
  const ratio = ratioOfRounds(mine, theirs);
  const slower = lowerIsBetter ? ratio - 1 : 1 - ratio;
  const verdict = slower <= 0 ? "not slower" : `${fmt(slower * 100, 1)}% slower`;
  const all = `${mine.map((v) => fmt(v)).join(", ")} / ${theirs.map((v) => fmt(v)).join(", ")}`;
  rows.push(`| ${name}, ${unit} | ${fmt(median(mine), 1)} | ${fmt(median(theirs), 1)} | ${fmt(ratio, 3)} (${verdict}) | ${all} |`);
};
for (const { name, measure, wall, cpu, wallLowerIsBetter } of cases) {
  const results = { this: [] as Measured[], compare: [] as Measured[] };
  // Warm-up: one unmeasured turn each.
  for (const tree of ["this", "compare"] as const) await measure(trees[tree]);
  for (let round = 0; round < rounds; round++) {
    for (const tree of round % 2 === 0 ? (["this", "compare"] as const) : (["compare", "this"] as const)) {
      results[tree].push(await measure(trees[tree]));
    }
  }
  const pick = (tree: "this" | "compare", key: keyof Measured) => results[tree].map((m) => m[key]);
  row(name, wall, pick("this", "wall"), pick("compare", "wall"), wallLowerIsBetter);
  if (cpu) row(name, cpu, pick("this", "cpu"), pick("compare", "cpu"), true);
}
if (memoryCreates.length > 0) {
  rows.push(`| memory store, same ${fmt(CREATES)} creates in the same rounds (reference for durability none), creates/s | ${fmt(median(memoryCreates.slice(1)), 1)} | | | ${memoryCreates.slice(1).map((v) => fmt(v)).join(", ")} |`);
}
for (const tree of ["this", "compare"] as const) {
  const tails = pageTails[tree]!;
  if (tails.max.length > 1) rows.push(`| transcript pages, ${tree}: max ms (median of rounds) | ${fmt(median(tails.max.slice(1)), 2)} | | | ${tails.max.slice(1).map((v) => fmt(v, 1)).join(", ")} |`);
}
console.log(`\nFsStore, this tree vs ${compareTree} — ${new Date().toISOString()}, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds\n`);
console.log("| case | this tree (median) | compare (median) | ratio this/compare (median of rounds) | rounds this / compare |");
console.log("|---|---|---|---|---|");
for (const line of rows) console.log(line);
