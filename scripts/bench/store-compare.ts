/**
 * FsStore of this tree against the FsStore of another checkout, in one process, taking turns
 * (the order reversed every other round), so both meet the same machine load and page cache.
 * Not a test: prints a markdown table of medians and the median of the per-round ratios.
 *
 *   bun scripts/bench/store.ts --only b --keep        # leaves <scratch>/startup-10k (10,000 workers)
 *   bun scripts/bench/store-compare.ts --compare DIR --data <scratch>/startup-10k [--rounds 5] [--seconds 3]
 *
 * (1) Runtime.open of the store at `--data` (10,000 workers / 1,000,000 entries), then close.
 * (2) Durable inputs/s through the Runtime API (durability fsync, a fresh store per turn): 64
 *     echo workers, each sending its next input once the last run ended.
 * Both use this tree's Runtime; only the store differs.
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
if (!values.compare || !values.data) throw new Error("usage: --compare DIR --data STORE_DIR [--rounds N] [--seconds N]");
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
if (!Number.isInteger(rounds) || rounds < 1 || !(seconds > 0)) throw new Error("--rounds must be a positive integer, --seconds > 0");
const compareTree = resolve(values.compare);
const data = resolve(values.data);
const RUNTIME_ID = "rt-bench";
const CLIENTS = 64;

type MakeStore = (options: { root: string; durability?: "fsync" | "none" }) => RuntimeStore;
const other = (await import(join(compareTree, "src/index.ts"))) as { FsStore: new (options: { root: string }) => RuntimeStore };
const trees: Record<"this" | "compare", MakeStore> = {
  this: (options) => new FsStore(options),
  compare: (options) => new other.FsStore(options),
};

async function openClose(make: MakeStore): Promise<number> {
  const started = performance.now();
  const runtime = await Runtime.open({ store: make({ root: data }), backends: builtinBackends, runtime_id: RUNTIME_ID });
  const ms = performance.now() - started;
  await runtime.close();
  return ms;
}

async function durableInputs(make: MakeStore): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), "yoi-bench-store-compare-"));
  const runtime = await Runtime.open({ store: make({ root }), backends: builtinBackends });
  try {
    const workers = Array.from({ length: CLIENTS }, (_, i) => `w-${i}`);
    for (const worker_id of workers) await runtime.createWorker({ worker_id });
    let acks = 0;
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
    return acks / ((performance.now() - started) / 1000);
  } finally {
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const cases = [
  { name: "Runtime.open + close, 10,000 workers / 1,000,000 entries", unit: "ms", measure: openClose, lowerIsBetter: true },
  { name: `durable inputs/s, Runtime API, ${CLIENTS} echo workers`, unit: "/s", measure: durableInputs, lowerIsBetter: false },
];
const rows: string[] = [];
for (const { name, unit, measure, lowerIsBetter } of cases) {
  const results = { this: [] as number[], compare: [] as number[] };
  // Warm-up: one unmeasured turn each.
  for (const tree of ["this", "compare"] as const) await measure(trees[tree]);
  for (let round = 0; round < rounds; round++) {
    for (const tree of round % 2 === 0 ? (["this", "compare"] as const) : (["compare", "this"] as const)) {
      results[tree].push(await measure(trees[tree]));
    }
  }
  const ratio = ratioOfRounds(results.this, results.compare);
  const verdict = lowerIsBetter ? (ratio <= 1 ? "not slower" : `${fmt((ratio - 1) * 100, 1)}% slower`) : ratio >= 1 ? "not slower" : `${fmt((1 - ratio) * 100, 1)}% slower`;
  rows.push(
    `| ${name} | ${fmt(median(results.this), 1)} ${unit} | ${fmt(median(results.compare), 1)} ${unit} | ${fmt(ratio, 3)} (${verdict}) | ${results.this.map((v) => fmt(v)).join(", ")} / ${results.compare.map((v) => fmt(v)).join(", ")} |`,
  );
}
console.log(`\nFsStore, this tree vs ${compareTree} — ${new Date().toISOString()}, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs, ${rounds} rounds\n`);
console.log("| case | this tree (median) | compare (median) | ratio this/compare (median of rounds) | rounds this / compare |");
console.log("|---|---|---|---|---|");
for (const row of rows) console.log(row);
