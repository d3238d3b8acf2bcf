/**
 * ACP workers (issue 10). Everything runs on 127.0.0.1 against the scriptable fake agent
 * (test/execution/fake-acp-agent.ts), which answers at once.
 *
 *   bun scripts/bench/acp.ts [--turns 300] [--chunks 300] [--workers 20] [--json FILE]
 *
 * 1. Added latency per turn: `POST /v1/workers/:id/input?wait=30` to a `bun cli.ts serve` child
 *    (HTTP input → session/prompt → final answer stored) against driving a second copy of the
 *    same fake agent directly with the SDK (`session/prompt` → response). Turns alternate between
 *    the two so both see the same machine load; p50/p99 of each, and the difference.
 * 2. Chunk → SSE client latency: the agent stamps each `agent_message_chunk` with the wall clock
 *    as it sends it (2 ms apart); 1, then 10 `GET /v1/events/stream` clients (yoi-runtime/client) note when the
 *    matching `run_output_delta` arrives. p50/p99 over every chunk seen by every observer.
 * 3. RSS of a runtime (in this process, memory store, after a full GC) per idle agent worker:
 *    with one warm agent worker, then with `--workers` more (each ran one turn, so its agent
 *    process and session are up and idle), divided by `--workers`. The agents' own processes
 *    are not counted.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { client, methods, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";
import { createClient } from "../../src/client/index.ts";
import { MemoryStore, Runtime, builtinBackends } from "../../src/index.ts";
import { fmt, percentile, postJson, REPO, serveCommand, spawnServer, writeFigures, type Figure } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    turns: { type: "string", default: "300" },
    chunks: { type: "string", default: "300" },
    workers: { type: "string", default: "20" },
    json: { type: "string" },
  },
  strict: true,
});
const turns = Number(values.turns);
const chunks = Number(values.chunks);
const idleWorkers = Number(values.workers);
for (const [name, n] of [["turns", turns], ["chunks", chunks], ["workers", idleWorkers]] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}

const AGENT = [process.execPath, join(REPO, "test/execution/fake-acp-agent.ts")];
/** Chunks are paced so the figure is the latency of one chunk, not the time a burst waits in queues. */
const CHUNK_GAP_MS = 2;
const now = () => performance.timeOrigin + performance.now();
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length };
};

const dir = mkdtempSync(join(tmpdir(), "yoi-bench-acp-"));
writeFileSync(
  join(dir, "runtime.toml"),
  `default_profile = "agent"\n[limits]\nmax_workers = 100000\n[profiles.agent]\nbackend = "acp"\ncommand = ${JSON.stringify(AGENT)}\n`,
);
const server = await spawnServer(serveCommand("bun", ["--store", "memory", "--config", join(dir, "runtime.toml")]), { cwd: dir });
const figures: Figure[] = [];

async function createWorker(worker_id: string): Promise<void> {
  const response = await postJson(`${server.url}/v1/workers`, { worker_id });
  if (response.status !== 201) throw new Error(`create ${worker_id}: ${response.status} ${await response.text()}`);
}

async function runtimeTurn(worker_id: string, content: string): Promise<void> {
  const response = await postJson(`${server.url}/v1/workers/${worker_id}/input?wait=30`, { kind: "user", content });
  const body = (await response.json()) as { run?: { status: string } };
  if (response.status !== 200 || body.run?.status !== "completed") throw new Error(`turn: ${response.status} ${JSON.stringify(body)}`);
}

/** The same fake agent driven directly: the SDK client over its stdio, one session. */
async function directAgent() {
  const child = spawn(AGENT[0]!, AGENT.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const stream = ndJsonStream(
    Writable.toWeb(child.stdin!) as unknown as WritableStream<Uint8Array>,
    Readable.toWeb(child.stdout!) as unknown as ReadableStream<Uint8Array>,
  );
  let reply = "";
  const connection = client({ name: "bench" })
    .onNotification(methods.client.session.update, ({ params }) => {
      if (params.update.sessionUpdate === "agent_message_chunk" && params.update.content.type === "text") reply += params.update.content.text;
    })
    .connect(stream);
  await connection.agent.request(methods.agent.initialize, { protocolVersion: PROTOCOL_VERSION, clientCapabilities: {} });
  const { sessionId } = await connection.agent.request(methods.agent.session.new, { cwd: dir, mcpServers: [] });
  return {
    async turn(text: string): Promise<string> {
      reply = "";
      await connection.agent.request(methods.agent.session.prompt, { sessionId, prompt: [{ type: "text", text }] });
      return reply;
    },
    close() {
      connection.close();
      child.kill("SIGKILL");
    },
  };
}

try {
  // ------------------------------------------------------------ 1. added latency per turn
  const direct = await directAgent();
  await createWorker("turns");
  for (let i = 0; i < 10; i++) {
    await direct.turn("warm");
    await runtimeTurn("turns", "warm");
  }
  const viaRuntime: number[] = [];
  const viaSdk: number[] = [];
  for (let i = 0; i < turns; i++) {
    let t = performance.now();
    await direct.turn("hi");
    viaSdk.push(performance.now() - t);
    t = performance.now();
    await runtimeTurn("turns", "hi");
    viaRuntime.push(performance.now() - t);
  }
  direct.close();
  const sdk = stats(viaSdk);
  const rt = stats(viaRuntime);
  console.log(`1. turn latency over ${turns} turns (alternating):`);
  console.log(`   SDK direct      p50 ${fmt(sdk.p50, 2)} ms  p99 ${fmt(sdk.p99, 2)} ms`);
  console.log(`   through runtime p50 ${fmt(rt.p50, 2)} ms  p99 ${fmt(rt.p99, 2)} ms  (HTTP input?wait → prompt → answer stored)`);
  console.log(`   added           p50 ${fmt(rt.p50 - sdk.p50, 2)} ms  p99 ${fmt(rt.p99 - sdk.p99, 2)} ms`);
  for (const p of ["p50", "p99"] as const) {
    figures.push({
      case: "acp",
      name: `turn latency through the runtime (${p})`,
      value: rt[p],
      unit: "ms",
      baseline: { name: `SDK driving the agent directly (${p})`, value: sdk[p], unit: "ms" },
      ratio: rt[p] / sdk[p],
      detail: `added ${fmt(rt[p] - sdk[p], 2)} ms over ${turns} turns`,
    });
  }

  // ------------------------------------------------------------ 2. chunk → SSE latency
  // The first pass warms up the stream path (its figures are dropped).
  const passes = [[10, false], [1, true], [10, true]] as const;
  for (const [pass, [observers, reported]] of passes.entries()) {
    const worker = `sse-${pass}`;
    await createWorker(worker);
    await runtimeTurn(worker, "warm");
    const latencies: number[] = [];
    const controller = new AbortController();
    let seen = 0;
    const ready: Promise<void>[] = [];
    for (let o = 0; o < observers; o++) {
      let opened!: () => void;
      ready.push(new Promise((resolve) => (opened = resolve)));
      const events = createClient({ url: server.url }).events({ worker_id: worker, signal: controller.signal, onOpen: () => opened() });
      void (async () => {
        for await (const event of events) {
          if (event.kind !== "run_output_delta") continue;
          const arrived = now();
          for (const match of String(event.data.delta).matchAll(/T([0-9.]+);/g)) {
            latencies.push(arrived - Number(match[1]));
            seen++;
          }
        }
      })();
    }
    await Promise.all(ready);
    await runtimeTurn(worker, JSON.stringify([{ stamped: chunks, every_ms: CHUNK_GAP_MS }]));
    const deadline = Date.now() + 30_000;
    while (seen < chunks * observers && Date.now() < deadline) await Bun.sleep(5);
    controller.abort();
    const s = stats(latencies);
    if (!reported) continue;
    console.log(`2. chunk → SSE latency, ${observers} observer(s), ${s.n} deliveries: p50 ${fmt(s.p50, 2)} ms  p99 ${fmt(s.p99, 2)} ms`);
    for (const p of ["p50", "p99"] as const) {
      figures.push({ case: "acp", name: `chunk → SSE latency, ${observers} observer(s) (${p})`, value: s[p], unit: "ms", detail: `${s.n} deliveries` });
    }
  }

  // ------------------------------------------------------------ 3. RSS per idle agent worker
  const runtime = await Runtime.open({
    store: new MemoryStore(),
    backends: builtinBackends,
    profiles: { agent: { backend: "acp", command: AGENT } },
    default_profile: "agent",
  });
  try {
    const idleTurn = async () => {
      const worker = (await runtime.createWorker({})).worker_ref;
      const ack = await runtime.sendInput(worker, { kind: "user", content: "hello" });
      const run = await runtime.waitRun(worker, ack.run_id!, 30_000);
      if (run.status !== "completed") throw new Error(`idle worker turn: ${run.status}`);
    };
    await idleTurn();
    Bun.gc(true);
    const before = process.memoryUsage().rss / 1024;
    for (let i = 0; i < idleWorkers; i++) await idleTurn();
    Bun.gc(true);
    const after = process.memoryUsage().rss / 1024;
    const perWorker = (after - before) / idleWorkers;
    console.log(`3. runtime RSS ${fmt(before / 1024, 1)} MiB → ${fmt(after / 1024, 1)} MiB with ${idleWorkers} more idle agent workers: ${fmt(perWorker, 0)} KiB each`);
    figures.push({ case: "acp", name: "runtime RSS per idle agent worker", value: perWorker, unit: "KiB", detail: `${idleWorkers} workers, ${fmt(before / 1024, 1)} → ${fmt(after / 1024, 1)} MiB` });
  } finally {
    await runtime.close();
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
writeFigures(values.json, "acp.ts", figures, { turns, chunks, workers: idleWorkers });
