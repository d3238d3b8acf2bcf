/**
 * Event stream fan-out and delta latency (issue 5). Everything runs on 127.0.0.1; the runtime
 * runs in a child process (`--serve`: createApp over a memory store, served by src/platform's
 * listen like `serve`), the SSE clients in this one, so they do not share a thread.
 *
 *   bun scripts/bench/stream.ts [--runs 5000] [--seconds 10] [--clients 1,10,100] [--workers 16]
 *                               [--deltas 2000] [--latency-clients 1,100] [--json FILE]
 *
 * 1. Events/s delivered to N concurrent SSE clients (`GET /v1/events/stream`). The child
 *    produces a burst in process, as fast as it can: `--runs` echo runs (3 stored events + 1
 *    delta each) on `--workers` workers in a closed loop, cut short after `--seconds`, while N
 *    clients follow the stream; each client counts its frames and notes the last id it read.
 *    Delivered/s = frames received by all clients / time from the start of the burst until the
 *    last client read its last event. A client that falls too far behind gets `event: overflow`
 *    and resumes after its last id (as `events()` does), so the figure is the stream's capacity,
 *    replay included. Each client must get every stored event exactly once ("complete"); the
 *    burst with no client is the baseline of the producer without fan-out.
 * 2. Delta latency, backend → SSE client: a `ticker` backend in the child yields `--deltas`
 *    deltas one timer turn apart, each carrying its wall-clock stamp (performance.timeOrigin +
 *    now(), comparable across processes on one host); clients of `yoi-runtime/client`'s
 *    `events()` note when each arrives. p50/p99 with 1 and with 100 clients watching.
 */
import { Type } from "@sinclair/typebox";
import { parseArgs } from "node:util";
import { createClient, unwrap, type RuntimeEvent } from "../../src/client/index.ts";
import { MemoryStore, Runtime, builtinBackends, type BackendDefinition, type WorkerRef } from "../../src/index.ts";
import { listen } from "../../src/platform/index.ts";
import { createApp, isLongLived } from "../../src/server/index.ts";
import { fmt, median, percentile, spawnServer, writeFigures, type Figure } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "5000" },
    seconds: { type: "string", default: "10" },
    clients: { type: "string", default: "1,10,100" },
    workers: { type: "string", default: "16" },
    deltas: { type: "string", default: "2000" },
    "latency-clients": { type: "string", default: "1,100" },
    serve: { type: "boolean", default: false },
    json: { type: "string" },
  },
  strict: true,
});
const seconds = Number(values.seconds);
const runBudget = Number(values.runs);
const producers = Number(values.workers);
const deltaCount = Number(values.deltas);
const counts = (text: string) => text.split(",").map(Number);
const clientCounts = counts(values.clients);
const latencyClientCounts = counts(values["latency-clients"]);
if (!(seconds > 0) || ![runBudget, producers, deltaCount, ...clientCounts, ...latencyClientCounts].every((n) => Number.isInteger(n) && n >= 1)) {
  throw new Error("--seconds must be > 0; --runs, --workers, --deltas, --clients and --latency-clients positive integers");
}

const progress = (text: string) => console.error(`stream: ${text}`);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- child: the runtime

if (values.serve) {
  const ticker: BackendDefinition<{ count: number }> = {
    kind: "ticker",
    settings: Type.Object({ count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    create: (_name, settings) => ({
      async *run({ signal }) {
        for (let i = 0; i < settings.count && !signal.aborted; i++) {
          yield { type: "delta", text: `${now()};` };
          await sleep(1);
        }
      },
    }),
  };
  const runtime = await Runtime.open({
    store: new MemoryStore(),
    backends: [...builtinBackends, ticker],
    profiles: { ticker: { backend: "ticker", count: deltaCount } },
    limits: { max_workers: 100_000, max_retained_events: 1_000_000 },
  });
  const app = createApp(runtime);
  let workers: WorkerRef[] = [];

  /** `runs` echo runs in a closed loop on `workers` workers (at most `seconds`); answers the event ids it produced. */
  const produce = async (url: URL): Promise<Response> => {
    const count = Number(url.searchParams.get("workers"));
    const budget = Number(url.searchParams.get("runs"));
    const duration = Number(url.searchParams.get("seconds")) * 1000;
    while (workers.length < count) workers.push((await runtime.createWorker({})).worker_ref);
    const first = (await runtime.summary()).last_event_id + 1;
    const started = performance.now();
    let runs = 0;
    await Promise.all(
      workers.slice(0, count).map(async (ref) => {
        while (runs < budget && performance.now() - started < duration) {
          runs++;
          const ack = await runtime.sendInput(ref, { kind: "user", content: "hello" });
          await runtime.waitRun(ref, ack.run_id!, 60_000);
        }
      }),
    );
    const elapsed_ms = performance.now() - started;
    return Response.json({ first_event_id: first, last_event_id: (await runtime.summary()).last_event_id, runs, elapsed_ms });
  };

  const listener = await listen(
    (request) => {
      const url = new URL(request.url);
      return url.pathname === "/bench/produce" ? produce(url) : app.fetch(request);
    },
    { hostname: "127.0.0.1", port: 0, isLongLived },
  );
  console.error(`listening on ${listener.url}`);
  await new Promise(() => {});
}

// ---------------------------------------------------------------- part 1: fan-out

interface Counter {
  /** Event frames read (stored and deltas). */
  frames: number;
  stored: number;
  lastId: number;
  overflows: number;
  /** Resolves once the client read the event with this id. */
  reached(id: number): Promise<void>;
  close(): void;
}

/**
 * A bare SSE reader that counts frames without parsing their JSON, so that 100 of them in one
 * process measure the server's fan-out rather than this process's JSON parsing. Like the
 * client, it resumes after the last id it read when the runtime ends its stream with
 * `event: overflow` (it fell too far behind). Resolves once the first stream is open.
 */
async function openCounter(url: string, after: number): Promise<Counter> {
  const abort = new AbortController();
  let target = Number.POSITIVE_INFINITY;
  let onTarget: () => void = () => {};
  const counter: Counter = {
    frames: 0,
    stored: 0,
    lastId: after,
    overflows: 0,
    reached(id) {
      if (counter.lastId >= id) return Promise.resolve();
      target = id;
      return new Promise((resolve) => (onTarget = resolve));
    },
    close: () => abort.abort(),
  };
  const connect = async () => {
    const response = await fetch(`${url}/v1/events/stream`, { headers: { "last-event-id": String(counter.lastId) }, signal: abort.signal });
    if (response.status !== 200 || !response.body) throw new Error(`stream answered ${response.status}`);
    return response.body.getReader();
  };
  const follow = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
    const decoder = new TextDecoder();
    let carry = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const text = carry + decoder.decode(value, { stream: true });
      const end = text.lastIndexOf("\n\n");
      if (end < 0) {
        carry = text;
        continue;
      }
      const whole = text.slice(0, end + 2);
      carry = text.slice(end + 2);
      for (let at = whole.indexOf("data: "); at >= 0; at = whole.indexOf("data: ", at + 6)) counter.frames++;
      for (let at = whole.indexOf("id: "); at >= 0; at = whole.indexOf("id: ", at + 4)) {
        if (at > 0 && whole.charCodeAt(at - 1) !== 10) continue;
        counter.stored++;
        counter.lastId = Number(whole.slice(at + 4, whole.indexOf("\n", at)));
      }
      if (whole.includes("event: overflow")) {
        // Its data line is not an event.
        counter.frames--;
        counter.overflows++;
      }
      if (counter.lastId >= target) onTarget();
    }
  };
  const first = await connect();
  void (async () => {
    try {
      for (let reader = first; ; reader = await connect()) await follow(reader);
    } catch {
      // Closed by close().
    }
  })();
  return counter;
}

interface FanOut {
  clients: number;
  produced: number;
  producedPerSecond: number;
  deliveredPerSecond: number;
  perClientPerSecond: number;
  drainMs: number;
  overflows: number;
  complete: boolean;
}

async function fanOut(url: string, clients: number): Promise<FanOut> {
  const client = createClient({ url });
  const before = (await unwrap(client.v1.runtime.get())).runtime.last_event_id;
  const counters = await Promise.all(Array.from({ length: clients }, () => openCounter(url, before)));
  const started = performance.now();
  const response = await fetch(`${url}/bench/produce?runs=${runBudget}&seconds=${seconds}&workers=${producers}`, { method: "POST" });
  const produced = (await response.json()) as { first_event_id: number; last_event_id: number; runs: number; elapsed_ms: number };
  await Promise.all(counters.map((counter) => counter.reached(produced.last_event_id)));
  const finished = performance.now();
  for (const counter of counters) counter.close();
  const events = produced.last_event_id - produced.first_event_id + 1 + produced.runs; // + one delta per run
  const frames = counters.reduce((sum, counter) => sum + counter.frames, 0);
  const stored = produced.last_event_id - before;
  const elapsed = (finished - started) / 1000;
  return {
    clients,
    produced: events,
    producedPerSecond: events / (produced.elapsed_ms / 1000),
    deliveredPerSecond: frames / elapsed,
    perClientPerSecond: frames / clients / elapsed,
    drainMs: Math.max(0, finished - started - produced.elapsed_ms),
    overflows: counters.reduce((sum, counter) => sum + counter.overflows, 0),
    // Deltas published while a client was reconnecting are not replayed (never stored): only
    // stored events must all arrive, exactly once.
    complete: counters.every((counter) => counter.stored === stored),
  };
}

/** The producer alone: the same runs with no client following. */
async function noClients(url: string): Promise<number> {
  const response = await fetch(`${url}/bench/produce?runs=${runBudget}&seconds=${seconds}&workers=${producers}`, { method: "POST" });
  const produced = (await response.json()) as { first_event_id: number; last_event_id: number; runs: number; elapsed_ms: number };
  return (produced.last_event_id - produced.first_event_id + 1 + produced.runs) / (produced.elapsed_ms / 1000);
}

// ---------------------------------------------------------------- part 2: delta latency

async function deltaLatency(url: string, clients: number): Promise<number[]> {
  const client = createClient({ url });
  const worker_id = `ticker-${clients}-${Date.now()}`;
  await unwrap(client.v1.workers.post({ worker_id, profile: { kind: "named", value: "ticker" } }));
  const latencies: number[] = [];
  const stop = new AbortController();
  const opened: Promise<void>[] = [];
  const followers = Array.from({ length: clients }, () => {
    let open!: () => void;
    opened.push(new Promise<void>((resolve) => (open = resolve)));
    return (async () => {
      const events: AsyncGenerator<RuntimeEvent> = client.events({ worker_id, signal: stop.signal, onOpen: () => open() });
      for await (const event of events) {
        if (event.kind === "run_output_delta") latencies.push(now() - Number(String(event.data.delta).slice(0, -1)));
        else if (event.kind === "run_completed") return;
      }
    })();
  });
  await Promise.all(opened);
  const answer = await unwrap(client.v1.workers({ worker_id }).input.post({ kind: "user", content: "tick" }, { query: { wait: 300 } }));
  if (!("run" in answer) || answer.run?.status !== "completed") throw new Error("the ticker run did not complete");
  await Promise.all(followers);
  stop.abort();
  if (latencies.length !== clients * deltaCount) throw new Error(`expected ${clients * deltaCount} deltas, got ${latencies.length}`);
  return latencies;
}

// ---------------------------------------------------------------- run and report

const child = await spawnServer([process.execPath, import.meta.path, "--serve", "--deltas", String(deltaCount)]);
const figures: Figure[] = [];
const rows: string[] = [];
try {
  // A short warm-up, so the first measured case does not pay for JIT compilation.
  progress("warm-up");
  await fanOut(child.url, 1);
  const baseline = await noClients(child.url);
  progress(`no client: ${fmt(baseline)} events/s`);
  rows.push(`| events produced, no SSE client (baseline) | ${fmt(baseline)} events/s | ${fmt(runBudget)} echo runs on ${producers} workers |`);
  for (const clients of clientCounts) {
    const result = await fanOut(child.url, clients);
    progress(`${clients} clients: ${fmt(result.deliveredPerSecond)} events/s delivered${result.complete ? "" : " (INCOMPLETE)"}`);
    rows.push(
      `| events delivered to ${clients} SSE client${clients > 1 ? "s" : ""} | ${fmt(result.deliveredPerSecond)} events/s ` +
        `(${fmt(result.perClientPerSecond)} per client) | produced ${fmt(result.producedPerSecond)} events/s meanwhile, ` +
        `drained ${fmt(result.drainMs)} ms after production, ${fmt(result.overflows)} overflow reconnects, ` +
        `${result.complete ? "every client got every stored event once" : "INCOMPLETE"} |`,
    );
    figures.push({
      case: "stream",
      name: `events delivered to ${clients} SSE client${clients > 1 ? "s" : ""} (total)`,
      value: result.deliveredPerSecond,
      unit: "events/s",
      baseline: { name: "events produced with no client", value: baseline, unit: "events/s" },
      ratio: result.producedPerSecond / baseline,
      detail: `${fmt(result.perClientPerSecond)} events/s per client; producer at ${fmt(result.producedPerSecond)} events/s meanwhile (ratio = producer with / without clients); drain ${fmt(result.drainMs)} ms; ${fmt(result.overflows)} overflow reconnects; ${result.complete ? "complete" : "INCOMPLETE"}`,
    });
    if (!result.complete) process.exitCode = 1;
  }
  for (const clients of latencyClientCounts) {
    const sorted = (await deltaLatency(child.url, clients)).sort((a, b) => a - b);
    progress(`latency, ${clients} clients: p50 ${fmt(percentile(sorted, 50), 3)} ms`);
    const [p50, p99] = [percentile(sorted, 50), percentile(sorted, 99)];
    rows.push(
      `| delta latency, backend yield → SSE client (\`events()\`), ${clients} client${clients > 1 ? "s" : ""} | ` +
        `p50 ${fmt(p50 * 1000)} µs, p99 ${fmt(p99 * 1000)} µs | ${fmt(sorted.length)} deltas, median ${fmt(median(sorted) * 1000)} µs, max ${fmt(sorted.at(-1)! * 1000)} µs |`,
    );
    figures.push(
      { case: "stream", name: `delta latency p50, ${clients} SSE client${clients > 1 ? "s" : ""}`, value: p50, unit: "ms", detail: `${fmt(sorted.length)} deltas` },
      { case: "stream", name: `delta latency p99, ${clients} SSE client${clients > 1 ? "s" : ""}`, value: p99, unit: "ms", detail: `max ${fmt(sorted.at(-1)!, 2)} ms` },
    );
  }
} finally {
  await child.stop();
}

console.log(`Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs, memory store, runtime in a child process\n`);
console.log("| measure | result | detail |\n|---|---|---|");
for (const row of rows) console.log(row);
writeFigures(values.json, "stream.ts", figures, { runs: runBudget, seconds, workers: producers, deltas: deltaCount, clients: clientCounts, latency_clients: latencyClientCounts });
