/**
 * RSS per idle worker: a `bun cli.ts serve` child process (memory store, then fs store with
 * `--durability`, default fsync), its RSS once warm and empty, then again after `--workers` workers were
 * created over HTTP (and the process settled); the difference divided by the count. The two
 * stores alternate over `--rounds`; medians are reported.
 *
 *   bun scripts/bench/memory.ts [--workers 10000] [--rounds 1] [--durability fsync|none] [--creates-only] [--json FILE]
 *
 * Also creates/s over HTTP, fs against memory in the same rounds (issue 16).
 *
 * Creates run 8 at a time: more in flight raise the heap high-water mark, which RSS keeps.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { fmt, median, pool, postJson, rssKiB, serveCommand, spawnServer, writeFigures, type Figure } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    workers: { type: "string", default: "10000" },
    rounds: { type: "string", default: "1" },
    durability: { type: "string", default: "fsync" },
    // Only the creates/s figure (a second run with another durability adds no RSS rows).
    "creates-only": { type: "boolean", default: false },
    json: { type: "string" },
  },
  strict: true,
});
const count = Number(values.workers);
const rounds = Number(values.rounds);
const durability = values.durability!;
if (durability !== "fsync" && durability !== "none") throw new Error("--durability takes fsync or none");
if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error("--workers must be 1…10000 (limits.max_workers)");
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");

type StoreKind = "memory" | "fs";
interface Sample {
  before: number;
  after: number;
  createMs: number;
}

/** The lowest RSS sampled every 100 ms over 2 s (lets a pending GC run before the reading). */
async function settledRss(pid: number): Promise<number> {
  let lowest = rssKiB(pid).rss;
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(100);
    lowest = Math.min(lowest, rssKiB(pid).rss);
  }
  return lowest;
}

async function measure(store: StoreKind): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "yoi-bench-memory-"));
  const server = await spawnServer(serveCommand("bun", ["--store", store, "--data-dir", join(dir, "data"), ...(store === "fs" ? ["--durability", durability] : [])]), { cwd: dir });
  try {
    // Warm every path a create touches (compiled validators, store directories) with a worker
    // that is gone again before the first reading.
    const warm = await postJson(`${server.url}/v1/workers`, { worker_id: "warm-up" });
    if (warm.status !== 201) throw new Error(`create answered ${warm.status}`);
    await (await fetch(`${server.url}/v1/workers/warm-up`)).arrayBuffer();
    await (await postJson(`${server.url}/v1/workers/warm-up/input?wait=10`, { kind: "user", content: "hello" })).arrayBuffer();
    await (await fetch(`${server.url}/v1/workers/warm-up/transcript?tail=20`)).arrayBuffer();
    const deleted = await fetch(`${server.url}/v1/workers/warm-up`, { method: "DELETE" });
    if (deleted.status !== 200) throw new Error(`delete answered ${deleted.status}`);
    await (await fetch(`${server.url}/v1/runtime`)).arrayBuffer();
    const before = await settledRss(server.pid);

    const ids = Array.from({ length: count }, (_, i) => `w-${String(i).padStart(5, "0")}`);
    const started = performance.now();
    await pool(ids, 8, async (worker_id) => {
      const response = await postJson(`${server.url}/v1/workers`, { worker_id });
      await response.arrayBuffer();
      if (response.status !== 201) throw new Error(`create ${worker_id} answered ${response.status}`);
    });
    const createMs = performance.now() - started;
    const summary = (await (await fetch(`${server.url}/v1/runtime`)).json()) as { runtime: { workers: { total: number } } };
    if (summary.runtime.workers.total !== count) throw new Error(`expected ${count} workers, the runtime has ${summary.runtime.workers.total}`);
    const after = await settledRss(server.pid);
    return { before, after, createMs };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const samples: Record<StoreKind, Sample[]> = { memory: [], fs: [] };
for (let round = 0; round < rounds; round++) {
  const order: StoreKind[] = round % 2 === 0 ? ["memory", "fs"] : ["fs", "memory"];
  for (const store of order) {
    const sample = await measure(store);
    samples[store].push(sample);
    console.error(
      `memory round ${round + 1}/${rounds} ${store}: ${fmt(sample.before / 1024, 1)} → ${fmt(sample.after / 1024, 1)} MiB, ${fmt(((sample.after - sample.before) * 1024) / count / 1024, 2)} KiB/worker`,
    );
  }
}

const figures: Figure[] = [];
const rows: string[] = [];
for (const store of values["creates-only"] ? [] : (["memory", "fs"] as const)) {
  const perWorker = samples[store].map((s) => (s.after - s.before) / count); // KiB
  const before = samples[store].map((s) => s.before / 1024);
  const after = samples[store].map((s) => s.after / 1024);
  const detail = `RSS ${fmt(median(before), 1)} → ${fmt(median(after), 1)} MiB; ${fmt(count)} creates in ${fmt(median(samples[store].map((s) => s.createMs)) / 1000, 1)} s`;
  figures.push({
    case: "memory",
    name: `RSS per idle worker at ${fmt(count)} workers, \`--store ${store}\`${store === "fs" ? ` (durability ${durability})` : ""}`,
    value: median(perWorker),
    unit: "KiB",
    rounds: perWorker,
    baseline: { name: "RSS of the same server, warm and empty", value: median(before), unit: "MiB", rounds: before },
    detail,
  });
  rows.push(`| RSS per idle worker, --store ${store} | ${fmt(median(perWorker), 2)} KiB | ${detail} |`);
}
// Creates/s over HTTP, the fs store against the memory store in the same rounds (issue 16: with
// durability none, at least half the memory store's rate).
const createRate = (store: StoreKind) => samples[store].map((s) => count / (s.createMs / 1000));
const createRatio = median(createRate("fs").map((fs, i) => fs / createRate("memory")[i]!));
figures.push({
  case: "memory",
  name: `creates/s over HTTP (8 in flight, ${fmt(count)} workers), \`--store fs\` (durability ${durability})`,
  value: median(createRate("fs")),
  unit: "/s",
  rounds: createRate("fs"),
  baseline: { name: "the same creates on `--store memory`", value: median(createRate("memory")), unit: "/s", rounds: createRate("memory") },
  ratio: createRatio,
  ...(durability === "none" ? { target: "≥ 0.5× the memory store", met: createRatio >= 0.5 } : {}),
});
rows.push(`| creates/s, --store fs (durability ${durability}) vs memory | ${fmt(median(createRate("fs")))} /s vs ${fmt(median(createRate("memory")))} /s | ${fmt(createRatio, 2)}× |`);
console.log(`RSS per idle worker, ${fmt(count)} workers, ${rounds} round(s), Bun ${Bun.version}\n`);
console.log("| measure | result | detail |\n|---|---|---|");
for (const row of rows) console.log(row);
writeFigures(values.json, "memory", figures);
