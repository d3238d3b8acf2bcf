/**
 * Execution throughput and streaming latency (issue 4). Everything runs on 127.0.0.1.
 *
 *   bun scripts/bench/execution.ts [--seconds 5] [--workers 64] [--deltas 2000] [--rounds 1] [--json FILE]
 *
 * 1. echo runs/s with `--workers` concurrent workers (memory store), each sending its next input
 *    as soon as its last run ended: in process (Runtime API), then over HTTP (createApp +
 *    Bun.serve on 127.0.0.1:0, `POST /v1/workers/:id/input?wait=30`) with the server in this
 *    process and in a child process (so client and server do not share one thread).
 * 2. command runs/s (/bin/cat per run: spawn, stream, exit, group check) in process, same workers,
 *    beside its floor: a bare loop of `Bun.spawn(["/bin/cat"])` at the same concurrency (input on
 *    stdin, stdout read to its end, exit awaited), turn about with it in each round.
 * 3. Added latency of streaming: a fake OpenAI-compatible provider in this process stamps each
 *    delta as it writes it; an in-process `runtime.subscribe()` consumer notes when the matching
 *    `run_output_delta` arrives. p50/p99 over `--deltas` deltas, with one streaming worker and
 *    with `--workers` streaming at once.
 * With `--rounds N` the throughput figures of 1 and 2 take turns N times (order reversed every
 * other round) and medians are reported, the HTTP ones beside the in-process figure.
 */
import { parseArgs } from "node:util";
import { MemoryStore, Runtime, builtinBackends, type ProfileConfig, type RuntimeEvent } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { median, ratioOfRounds, writeFigures, type Figure } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    seconds: { type: "string", default: "5" },
    workers: { type: "string", default: "64" },
    deltas: { type: "string", default: "2000" },
    serve: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    json: { type: "string" },
  },
  strict: true,
});
const seconds = Number(values.seconds);
const concurrency = Number(values.workers);
const deltaCount = Number(values.deltas);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
if (!(seconds > 0) || !Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(deltaCount) || deltaCount < 1) {
  throw new Error("--seconds must be > 0; --workers and --deltas positive integers");
}

// Child mode: serve an echo runtime over HTTP and print the port.
if (values.serve) {
  const runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends });
  const app = createApp(runtime);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.fetch(request) });
  console.log(String(server.port));
  await new Promise(() => {});
}

const open = (profiles: Record<string, ProfileConfig> = {}, default_profile?: string) =>
  Runtime.open({ store: new MemoryStore(), backends: builtinBackends, profiles, default_profile, limits: { max_workers: 100_000 } });

/** Runs `step` in `concurrency` loops for `seconds`; returns completed steps per second. */
async function closedLoop(step: (worker: number) => Promise<void>): Promise<{ runs: number; perSecond: number }> {
  const deadline = performance.now() + seconds * 1000;
  let runs = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        await step(worker);
        runs++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { runs, perSecond: runs / elapsed };
}

async function inProcess(profile: string, profiles: Record<string, ProfileConfig> = {}) {
  const runtime = await open(profiles, profile);
  const workers = await Promise.all(Array.from({ length: concurrency }, () => runtime.createWorker({})));
  const result = await closedLoop(async (i) => {
    const ref = workers[i]!.worker_ref;
    const ack = await runtime.sendInput(ref, { kind: "user", content: "hello" });
    const run = await runtime.waitRun(ref, ack.run_id!, 60_000);
    if (run.status !== "completed") throw new Error(`run ${run.status}: ${run.error?.message}`);
  });
  await runtime.close();
  return result;
}

/** The floor of a command run: `Bun.spawn` of /bin/cat with the input on stdin, stdout read whole, exit awaited. */
async function bareSpawnLoop() {
  const input = new TextEncoder().encode("hello");
  return closedLoop(async () => {
    const child = Bun.spawn(["/bin/cat"], { stdin: input, stdout: "pipe", stderr: "pipe" });
    const [output, , code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).arrayBuffer(), child.exited]);
    if (code !== 0 || output !== "hello") throw new Error(`cat exited ${code} with ${JSON.stringify(output)}`);
  });
}

async function overHttp(base: string) {
  const ids: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    const response = await fetch(`${base}/v1/workers`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    ids.push(((await response.json()) as { worker: { worker_ref: { worker_id: string } } }).worker.worker_ref.worker_id);
  }
  const body = JSON.stringify({ kind: "user", content: "hello" });
  return closedLoop(async (i) => {
    const response = await fetch(`${base}/v1/workers/${ids[i]}/input?wait=30`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const result = (await response.json()) as { run?: { status: string } };
    if (response.status !== 200 || result.run?.status !== "completed") throw new Error(`HTTP ${response.status}`);
  });
}

async function httpSameProcess() {
  const runtime = await open();
  const app = createApp(runtime);
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.fetch(request) });
  const result = await overHttp(`http://127.0.0.1:${server.port}`);
  await server.stop(true);
  await runtime.close();
  return result;
}

async function httpChildProcess() {
  const child = Bun.spawn([process.execPath, import.meta.path, "--serve"], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the server process ended before printing its port");
    text += new TextDecoder().decode(value);
  }
  try {
    return await overHttp(`http://127.0.0.1:${Number(text.trim())}`);
  } finally {
    child.kill();
    await child.exited;
  }
}

/** Delta latency from the provider's write to the in-process subscriber, with `streams` workers streaming at once. */
async function deltaLatency(streams: number): Promise<number[]> {
  const perStream = Math.max(1, Math.round(deltaCount / streams));
  const written = new Map<string, number>();
  const encoder = new TextEncoder();
  const provider = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const { messages } = (await request.json()) as { messages: Array<{ content: string }> };
      const stream = messages.at(-1)!.content;
      let n = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (n < perStream) {
              const tag = `${stream}:${n++};`;
              const frame = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: tag }, finish_reason: null }] })}\n\n`;
              written.set(tag, performance.now());
              controller.enqueue(encoder.encode(frame));
              // One delta per write, spaced by a timer turn: the latency of one delta, not of a burst.
              await new Promise((resolve) => setTimeout(resolve, 1));
              return;
            }
            controller.enqueue(encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`));
            controller.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    },
  });
  const runtime = await open({ llm: { backend: "openai", base_url: `http://127.0.0.1:${provider.port}/v1`, model: "bench" } }, "llm");
  const latencies: number[] = [];
  const subscription = runtime.subscribe({ queue_limit: 1_000_000 });
  const consumer = (async () => {
    for await (const event of subscription as AsyncIterable<RuntimeEvent>) {
      if (event.kind !== "run_output_delta") continue;
      const at = performance.now();
      const tag = String(event.data.delta);
      const sent = written.get(tag);
      if (sent === undefined) throw new Error(`delta ${tag} was not written as one piece`);
      latencies.push(at - sent);
    }
  })();
  const workers = await Promise.all(Array.from({ length: streams }, () => runtime.createWorker({})));
  await Promise.all(
    workers.map(async (worker, i) => {
      const ack = await runtime.sendInput(worker.worker_ref, { kind: "user", content: `s${i}` });
      const run = await runtime.waitRun(worker.worker_ref, ack.run_id!, 120_000);
      if (run.status !== "completed") throw new Error(`run ${run.status}: ${run.error?.message}`);
    }),
  );
  await runtime.close();
  await consumer;
  await provider.stop(true);
  return latencies;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const rows: string[] = [];
const figures: Figure[] = [];
const measures: { name: string; measure: () => Promise<{ runs: number; perSecond: number }> }[] = [
  { name: "echo, in process (Runtime API)", measure: () => inProcess("echo") },
  { name: "echo, HTTP, server in this process", measure: httpSameProcess },
  { name: "echo, HTTP, server in a child process", measure: httpChildProcess },
  { name: "command `/bin/cat`, in process", measure: () => inProcess("cat", { cat: { backend: "command", command: ["/bin/cat"] } }) },
  { name: "bare `Bun.spawn` loop of /bin/cat", measure: bareSpawnLoop },
];
const COMMAND = 3;
const SPAWN_FLOOR = 4;
const results = measures.map(() => [] as number[]);
for (let round = 0; round < rounds; round++) {
  const order = measures.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  for (const i of order) results[i]!.push((await measures[i]!.measure()).perSecond);
}
const inProcessEcho = { name: measures[0]!.name, value: median(results[0]!), unit: "runs/s", rounds: results[0] };
const spawnFloor = { name: `${measures[SPAWN_FLOOR]!.name}, ${concurrency} at once`, value: median(results[SPAWN_FLOOR]!), unit: "runs/s", rounds: results[SPAWN_FLOOR] };
measures.forEach(({ name }, i) => {
  const perSecond = median(results[i]!);
  const http = name.startsWith("echo, HTTP");
  const command = i === COMMAND;
  const ratio = http ? ratioOfRounds(results[i]!, results[0]!) : command ? ratioOfRounds(results[i]!, results[SPAWN_FLOOR]!) : undefined;
  rows.push(
    `| ${name} | ${fmt(perSecond)} runs/s | median of ${rounds} × ${seconds} s, ${concurrency} workers${ratio !== undefined ? `; ${fmt(ratio, 2)}× ${command ? "the bare spawn loop" : "in process"}` : ""} |`,
  );
  figures.push({
    case: "execution",
    name: `${name}, ${concurrency} workers`,
    value: perSecond,
    unit: "runs/s",
    rounds: results[i],
    ...(http ? { baseline: inProcessEcho, ratio } : {}),
    // Issue 16: a command run costs at most a quarter more than spawning the program bare.
    ...(command ? { baseline: spawnFloor, ratio, target: "≥ 0.8× the bare Bun.spawn loop", met: ratio! >= 0.8 } : {}),
  });
});
const latency = async (streams: number) => {
  const sorted = (await deltaLatency(streams)).sort((a, b) => a - b);
  rows.push(
    `| delta latency, provider write → subscriber, ${streams} stream${streams > 1 ? "s" : ""} | p50 ${fmt(percentile(sorted, 50) * 1000)} µs, p99 ${fmt(percentile(sorted, 99) * 1000)} µs | ${fmt(sorted.length)} deltas, max ${fmt(sorted.at(-1)! * 1000)} µs |`,
  );
  figures.push({
    case: "execution",
    name: `delta latency, provider write → subscriber, ${streams} stream${streams > 1 ? "s" : ""}, p99`,
    value: percentile(sorted, 99) * 1000,
    unit: "µs",
    detail: `p50 ${fmt(percentile(sorted, 50) * 1000)} µs, max ${fmt(sorted.at(-1)! * 1000)} µs, ${fmt(sorted.length)} deltas`,
  });
};

await latency(1);
await latency(concurrency);

console.log(`Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs, memory store\n`);
console.log("| measure | result | detail |\n|---|---|---|");
for (const row of rows) console.log(row);
writeFigures(values.json, "execution", figures, { rounds, seconds, workers: concurrency });
