/**
 * FsStore of this tree against the FsStore of another checkout, in one process, taking turns
 * (the order reversed every other round), so both meet the same machine load and page cache.
 * Not a test: prints a markdown table of medians and the median of the per-round ratios.
 *
 *   bun scripts/bench/store.ts --only b --keep        # leaves <scratch>/startup-10k (10,000 workers)
 *   bun scripts/bench/store-compare.ts --compare DIR --data <scratch>/startup-10k [--rounds 5] [--seconds 3]
 *   bun scripts/bench/store-compare.ts --compare DIR [--rounds 9]    # without --data: (2) only
 *
 * (1) Runtime.open of the store at `--data` (10,000 workers / 1,000,000 entries), then close.
 * (2) Durable inputs/s through the Runtime API (durability fsync, a fresh store per turn): 64
 *     echo workers, each sending its next input once the last run ended.
 * Both use this tree's Runtime; only the store differs. Each case is reported twice: wall time,
 * and this process's CPU time (user + system) per unit, which other load on a shared machine
 * disturbs far less.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { FsStore, Runtime, builtinBackends, type RuntimeStore } from "../../src/index.ts";
import { fmt, median, ratioOfRounds } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    compare: { type: "string" },
    data: { type: "string" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
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

type MakeStore = (options: { root: string; durability?: "fsync" | "none" }) => RuntimeStore;
const other = (await import(join(compareTree, "src/index.ts"))) as { FsStore: new (options: { root: string }) => RuntimeStore };
const trees: Record<"this" | "compare", MakeStore> = {
  this: (options) => new FsStore(options),
  compare: (options) => new other.FsStore(options),
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

const cases = [
  { name: "Runtime.open, 10,000 workers / 1,000,000 entries", measure: openClose, wall: "ms", cpu: "CPU ms", wallLowerIsBetter: true },
  { name: `durable inputs, Runtime API, ${CLIENTS} echo workers`, measure: durableInputs, wall: "/s", cpu: "CPU µs/input", wallLowerIsBetter: false },
].filter((entry) => data !== null || entry.measure !== openClose);
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
  row(name, cpu, pick("this", "cpu"), pick("compare", "cpu"), true);
}
console.log(`\nFsStore, this tree vs ${compareTree} — ${new Date().toISOString()}, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds\n`);
console.log("| case | this tree (median) | compare (median) | ratio this/compare (median of rounds) | rounds this / compare |");
console.log("|---|---|---|---|---|");
for (const line of rows) console.log(line);
