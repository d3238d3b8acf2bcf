/**
 * What an Idempotency-Key costs a POST, as same-run ratios of CPU time per request (the machine
 * is shared, so absolute figures are noise). In process, through `app.handle`, memory store:
 *
 *   A  POST …/input (system input) without a key — the baseline
 *   B  the same with a fresh key each time (fingerprint, ledger entry, key kept in the commit)
 *   C  a replay: the same key and body again (answered from the ledger, nothing applied)
 *
 *   bun scripts/bench/idempotency.ts [--rounds 7] [--requests 2000]
 */
import { MemoryStore, Runtime, builtinBackends } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { fmt, median, ratioOfRounds } from "./lib.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const ROUNDS = flag("--rounds", 7);
const REQUESTS = flag("--requests", 2000);

const runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: "rt-bench", limits: { max_retained_events: 10_000 } });
const app = createApp(runtime);
await runtime.createWorker({ worker_id: "w" });
const body = JSON.stringify({ kind: "system", content: "context line for the benchmark" });

const post = (headers: Record<string, string>) =>
  app.handle(new Request("http://localhost/v1/workers/w/input", { method: "POST", body, headers: { "content-type": "application/json", ...headers } }));

let serial = 0;
async function measure(kind: "A" | "B" | "C"): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    const headers: Record<string, string> = kind === "A" ? {} : kind === "B" ? { "idempotency-key": `bench-${serial++}` } : { "idempotency-key": "bench-replay" };
    const response = await post(headers);
    if (response.status !== 202) throw new Error(`${kind}: HTTP ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / REQUESTS;
}

await post({ "idempotency-key": "bench-replay" });
for (const kind of ["A", "B", "C"] as const) await measure(kind); // warm-up
const rounds: Record<"A" | "B" | "C", number[]> = { A: [], B: [], C: [] };
for (let round = 0; round < ROUNDS; round++) {
  // The order rotates each round so drift in the machine's load does not favour one case.
  const order = (["A", "B", "C"] as const).map((_, i, all) => all[(i + round) % 3]!);
  for (const kind of order) rounds[kind].push(await measure(kind));
}
await runtime.close();
const line = (kind: "A" | "B" | "C", label: string) =>
  `${kind} ${label.padEnd(34)} ${fmt(median(rounds[kind]), 1)} µs CPU/request` + (kind === "A" ? "" : `  ×${fmt(ratioOfRounds(rounds[kind], rounds.A), 3)} of A`);
console.log(`${ROUNDS} rounds × ${REQUESTS} requests, CPU time of this process per request (median)`);
console.log(line("A", "no key"));
console.log(line("B", "fresh key each request"));
console.log(line("C", "replay of a kept key"));
