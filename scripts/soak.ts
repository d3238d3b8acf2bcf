#!/usr/bin/env bun
/**
 * Soak test (not in CI, not a test): runs `bun cli.ts serve` and drives mixed traffic at it for a
 * while, sampling the server process from outside, then reports trends and checks as markdown.
 *
 *   bun scripts/soak.ts                         # 10 minutes, fs store (fsync), 200 workers
 *   bun scripts/soak.ts --minutes 2 --store memory
 *   bun scripts/soak.ts --minutes 30 --rate 300 --concurrency 32 --sse 24 --sample 10
 *
 * Traffic (a separate client process, so that its exit closes every client connection): creates,
 * user input with and without `?wait=`, system input, transcript pages and tails, event polls,
 * SSE clients that connect and disconnect, run reads (some with `?wait=`), cancels, stop/restore,
 * delete/recreate, on 200 workers of which some use a slow echo profile and some a command
 * profile (`/bin/sh -c "sleep 0.05; cat"`).
 *
 * Samples every `--sample` seconds: server RSS (/proc/<pid>/status VmRSS), open fds
 * (/proc/<pid>/fd), threads, descendant processes (by ppid) and command-profile processes
 * anywhere (by an environment marker, so orphans count too), and the round trip of GET /healthz
 * from outside as the event-loop lag proxy. The report gives least-squares slopes per minute and
 * checks: no 5xx or transport errors, no leaked child processes, fds back near the baseline once
 * the clients disconnected, a small RSS slope (fs store), and a clean SIGTERM exit.
 * Exit status 0 when every check passes, 1 otherwise.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";

// ---------------------------------------------------------------- options

interface Options {
  minutes: number;
  store: "fs" | "memory";
  workers: number;
  rate: number;
  concurrency: number;
  sse: number;
  sample: number;
  seed: number;
  maxRssSlope: number;
  fdSlack: number;
  keep: boolean;
}

const NUMERIC = ["minutes", "workers", "rate", "concurrency", "sse", "sample", "seed", "max-rss-slope", "fd-slack"] as const;

function parseOptions(argv: string[]): Options & { drive: null | { url: string; phase: "setup" | "traffic"; seconds: number } } {
  const options = {
    minutes: 10,
    store: "fs" as "fs" | "memory",
    workers: 200,
    rate: 150,
    concurrency: 24,
    sse: 12,
    sample: 5,
    seed: 1,
    maxRssSlope: 4,
    fdSlack: 8,
    keep: false,
  };
  let drive: { url: string; phase: "setup" | "traffic"; seconds: number } | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    const name = arg.replace(/^--/, "");
    if ((NUMERIC as readonly string[]).includes(name)) {
      const number = Number(value());
      if (!Number.isFinite(number) || number < 0) usage(`${arg} needs a non-negative number`);
      const key = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof typeof options;
      (options as Record<string, unknown>)[key] = number;
    } else if (arg === "--store") {
      const kind = value();
      if (kind !== "fs" && kind !== "memory") usage("--store is fs or memory");
      options.store = kind;
    } else if (arg === "--keep") {
      options.keep = true;
    } else if (arg === "--drive") {
      // Internal: the client process.
      const [url, phase, seconds] = [value(), value(), Number(value())];
      drive = { url, phase: phase as "setup" | "traffic", seconds };
    } else {
      usage(`unknown option ${arg}`);
    }
  }
  if (options.workers < 1 || options.concurrency < 1 || options.rate <= 0 || options.sample <= 0) usage("workers, concurrency, rate and sample must be positive");
  return { ...options, drive };
}

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: bun scripts/soak.ts [--minutes 10] [--store fs|memory] [--workers 200] [--rate 150] ` +
      "[--concurrency 24] [--sse 12] [--sample 5] [--seed 1] [--max-rss-slope 4] [--fd-slack 8] [--keep]",
  );
  process.exit(2);
}

/** AppendFiles' default capacity (src/store/fs/append-files.ts): hot worker logs stay open, least recently used closed first. */
const APPEND_FILE_CACHE = 256;

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

// ---------------------------------------------------------------- the client process

/** mulberry32: a seeded PRNG, so a soak's traffic mix can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tally {
  requests: number;
  ok: number;
  expected: number;
  errors: number;
}

interface DriveResult {
  tallies: Record<string, Tally>;
  errors: string[];
  sse: { connections: number; frames: number };
  created: number;
}

const WORKER_KINDS = (count: number) => {
  const workers: { id: string; profile: "echo" | "slow" | "sh" }[] = [];
  for (let i = 0; i < count; i++) {
    const profile = i % 20 === 0 ? "sh" : i % 10 === 5 ? "slow" : "echo";
    workers.push({ id: `soak-${profile}-${String(i).padStart(4, "0")}`, profile });
  }
  return workers;
};

async function drive(options: Options, url: string, phase: "setup" | "traffic", seconds: number): Promise<void> {
  const random = prng(options.seed + (phase === "traffic" ? 1 : 0));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const workers = WORKER_KINDS(options.workers);
  const result: DriveResult = { tallies: {}, errors: [], sse: { connections: 0, frames: 0 }, created: 0 };
  const tally = (action: string) => (result.tallies[action] ??= { requests: 0, ok: 0, expected: 0, errors: 0 });
  const noteError = (what: string) => {
    if (result.errors.length < 20) result.errors.push(what.slice(0, 300));
  };

  /** One request; `expected` are the non-2xx statuses this action may meet under concurrency. */
  async function request(action: string, method: string, path: string, body?: unknown, expected: number[] = []): Promise<{ status: number; json: any }> {
    const t = tally(action);
    t.requests++;
    try {
      const response = await fetch(url + path, {
        method,
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await response.text();
      const json = text.length > 0 ? JSON.parse(text) : null;
      if (response.status < 300) t.ok++;
      else if (expected.includes(response.status)) t.expected++;
      else {
        t.errors++;
        noteError(`${method} ${path} -> ${response.status} ${text}`);
      }
      return { status: response.status, json };
    } catch (error) {
      t.errors++;
      noteError(`${method} ${path} -> ${String(error)}`);
      return { status: 0, json: null };
    }
  }

  const create = (worker: { id: string; profile: string }, expected: number[] = []) =>
    request("create", "POST", "/v1/workers", worker.profile === "echo" ? { worker_id: worker.id } : { worker_id: worker.id, profile: { kind: "named", value: worker.profile } }, expected);

  if (phase === "setup") {
    for (let i = 0; i < workers.length; i += 20) {
      await Promise.all(workers.slice(i, i + 20).map((worker) => create(worker)));
    }
    result.created = workers.length;
    console.log(`RESULT ${JSON.stringify(result)}`);
    return;
  }

  const deadline = Date.now() + seconds * 1000;
  let eventCursor = 0;
  let lastEventId = 0;
  let slot = Date.now();
  const interval = 1000 / options.rate;
  /** A global pace: at most `rate` requests a second across all loops. */
  const paced = async () => {
    slot = Math.max(slot + interval, Date.now() - 1000);
    const wait = slot - Date.now();
    if (wait > 0) await sleep(wait);
  };
  const runs = new Map<string, string>();
  const busy = [409];
  const gone = [404];

  const actions: [number, () => Promise<void>][] = [
    [20, async () => {
      const worker = pick(workers);
      const sent = await request("input", "POST", `/v1/workers/${worker.id}/input`, { kind: "user", content: `hello ${random()}` }, [...busy, ...gone]);
      if (sent.json?.ack?.run_id) runs.set(worker.id, sent.json.ack.run_id);
    }],
    [10, async () => {
      const worker = pick(workers);
      const sent = await request("input_wait", "POST", `/v1/workers/${worker.id}/input?wait=5`, { kind: "user", content: "wait for me" }, [...busy, ...gone]);
      if (sent.json?.ack?.run_id) runs.set(worker.id, sent.json.ack.run_id);
    }],
    [4, async () => {
      await request("system_input", "POST", `/v1/workers/${pick(workers).id}/input`, { kind: "system", content: "context" }, [...busy, ...gone]);
    }],
    [14, async () => {
      const worker = pick(workers);
      const query = random() < 0.5 ? `tail=${1 + Math.floor(random() * 20)}` : `start=${Math.floor(random() * 10)}&limit=${1 + Math.floor(random() * 50)}`;
      await request("transcript", "GET", `/v1/workers/${worker.id}/transcript?${query}`, undefined, gone);
    }],
    [10, async () => {
      const filter = random() < 0.3 ? `&worker_id=${pick(workers).id}` : "";
      const sent = await request("events_poll", "GET", `/v1/events?after=${eventCursor}&limit=256${filter}`, undefined, [410]);
      if (sent.status === 410) eventCursor = lastEventId;
      else if (sent.json?.events && !filter) eventCursor = sent.json.events.next_after;
    }],
    [6, async () => {
      await request("get_worker", "GET", `/v1/workers/${pick(workers).id}`, undefined, gone);
    }],
    [3, async () => {
      await request("list_workers", "GET", `/v1/workers?limit=${1 + Math.floor(random() * 100)}${random() < 0.3 ? "&status=idle" : ""}`);
    }],
    [4, async () => {
      await request("list_runs", "GET", `/v1/workers/${pick(workers).id}/runs?limit=20`, undefined, gone);
    }],
    [4, async () => {
      const worker = pick(workers);
      const run = runs.get(worker.id);
      if (!run) return;
      await request("get_run", "GET", `/v1/workers/${worker.id}/runs/${run}${random() < 0.3 ? "?wait=2" : ""}`, undefined, gone);
    }],
    [5, async () => {
      await request("cancel", "POST", `/v1/workers/${pick(workers).id}/cancel`, random() < 0.5 ? { reason: "soak" } : undefined, gone);
    }],
    [4, async () => {
      const worker = pick(workers);
      const stopped = await request("stop", "POST", `/v1/workers/${worker.id}/stop`, undefined, gone);
      if (stopped.status !== 200) return;
      await sleep(random() * 200);
      await request("restore", "POST", `/v1/workers/${worker.id}/restore`, undefined, gone);
    }],
    [2, async () => {
      const worker = pick(workers);
      const deleted = await request("delete", "DELETE", `/v1/workers/${worker.id}`, undefined, [...busy, ...gone]);
      if (deleted.status !== 200) return;
      runs.delete(worker.id);
      // Back under the same id; another loop may have recreated it first (409 worker_exists).
      const made = await create(worker, busy);
      if (made.status === 201) result.created++;
    }],
    [2, async () => {
      const sent = await request("runtime", "GET", "/v1/runtime");
      if (sent.json?.runtime) lastEventId = sent.json.runtime.last_event_id;
    }],
    [1, async () => {
      await request("diagnostics", "GET", "/v1/diagnostics");
    }],
  ];
  const total = actions.reduce((sum, [weight]) => sum + weight, 0);
  const chooseAction = () => {
    let roll = random() * total;
    for (const [weight, action] of actions) {
      roll -= weight;
      if (roll < 0) return action;
    }
    return actions[0]![1];
  };

  const trafficLoop = async () => {
    while (Date.now() < deadline) {
      await paced();
      await chooseAction()();
    }
  };

  /** An event-stream client: connects (live, resuming, or filtered), reads a while, disconnects. */
  const sseLoop = async () => {
    while (Date.now() < deadline) {
      const t = tally("sse_stream");
      t.requests++;
      const controller = new AbortController();
      const query = random() < 0.3 ? `?worker_id=${pick(workers).id}` : random() < 0.5 && lastEventId > 0 ? `?after=${Math.max(0, lastEventId - 50)}` : "";
      const holdMs = 200 + random() * 4_000;
      const timer = setTimeout(() => controller.abort(), holdMs);
      try {
        const response = await fetch(`${url}/v1/events/stream${query}`, { signal: controller.signal });
        if (response.status !== 200) {
          t.errors++;
          noteError(`GET /v1/events/stream${query} -> ${response.status} ${await response.text()}`);
        } else {
          result.sse.connections++;
          const reader = response.body!.getReader();
          const decoder = new TextDecoder();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            result.sse.frames += (decoder.decode(value, { stream: true }).match(/\n\n/g) ?? []).length;
          }
          // The server ended the stream on its own (it only does so on overflow or shutdown).
          t.expected++;
        }
      } catch (error) {
        if (controller.signal.aborted) t.ok++;
        else {
          t.errors++;
          noteError(`GET /v1/events/stream${query} -> ${String(error)}`);
        }
      } finally {
        clearTimeout(timer);
      }
      await sleep(random() * 500);
    }
  };

  const progress = setInterval(() => {
    let requests = 0;
    let errors = 0;
    for (const t of Object.values(result.tallies)) {
      requests += t.requests;
      errors += t.errors;
    }
    console.log(`PROGRESS ${JSON.stringify({ requests, errors })}`);
  }, 1000);
  await Promise.all([
    ...Array.from({ length: options.concurrency }, trafficLoop),
    ...Array.from({ length: options.sse }, sseLoop),
  ]);
  clearInterval(progress);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

// ---------------------------------------------------------------- sampling the server

interface Sample {
  t: number;
  phase: "baseline" | "traffic" | "drained";
  rssMb: number;
  fds: number;
  /** Regular files among the fds (the fs store keeps up to 256 hot append files open, LRU). */
  files: number;
  threads: number;
  descendants: number;
  marked: number;
  healthzP50: number;
  healthzMax: number;
  requests: number;
  lastEventId: number;
  activeRuns: number;
}

function procStatus(pid: number): { rssMb: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: rss / 1024, threads };
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
  "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
};

/** What a process's fds are: files, pipes, anon inodes, and TCP sockets by state. */
function fdKinds(pid: number): Record<string, number> {
  const states = new Map<string, string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length > 9) states.set(fields[9]!, TCP_STATES[fields[3]!] ?? fields[3]!);
      }
    } catch {
      // No such table.
    }
  }
  const kinds: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket ? `tcp ${states.get(socket[1]!) ?? "other socket"}` : target.startsWith("pipe:") ? "pipe" : target.startsWith("anon_inode:") ? target : target.startsWith("/") ? "file" : target;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Every process's parent, from /proc/<pid>/stat (the command may hold spaces and parentheses). */
function processTable(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(name), Number(fields[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  return parents;
}

function descendantsOf(pid: number): number[] {
  const parents = processTable();
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** Processes carrying the command profile's environment marker: its children, orphaned or not. */
function markedProcesses(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").includes(`SOAK_MARKER=${marker}`)) found.push(Number(name));
    } catch {
      // Exited, or not ours to read.
    }
  }
  return found;
}

async function healthz(url: string, probes = 5): Promise<{ p50: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < probes; i++) {
    const started = performance.now();
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`/healthz answered ${response.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)]!, max: times[times.length - 1]! };
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// ---------------------------------------------------------------- the conductor

async function conduct(options: Options): Promise<number> {
  const repo = resolve(import.meta.dir, "..");
  const dir = mkdtempSync(join(tmpdir(), "yoi-soak-"));
  const marker = `soak-${process.pid}-${Date.now()}`;
  const configPath = join(dir, "runtime.toml");
  const logPath = join(dir, "server.log");
  writeFileSync(
    configPath,
    [
      "[log]",
      'level = "info"',
      'format = "json"',
      "",
      "[profiles.sh]",
      'backend = "command"',
      'command = ["/bin/sh", "-c", "sleep 0.05; cat"]',
      "timeout_s = 30",
      `env = { SOAK_MARKER = "${marker}" }`,
      "",
      "[profiles.slow]",
      'backend = "echo"',
      "delay_ms = 300",
      "",
    ].join("\n"),
  );
  const serverArgs = ["cli.ts", "serve", "--config", configPath, "--store", options.store, "--bind", "127.0.0.1:0"];
  if (options.store === "fs") serverArgs.push("--data-dir", join(dir, "data"));
  const server = Bun.spawn([process.execPath, ...serverArgs], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? dir, LANG: process.env.LANG ?? "C.UTF-8" },
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(logPath),
  });
  const pid = server.pid;
  const startedAt = Date.now();
  let url: string | null = null;
  const logLines = () => {
    try {
      return readFileSync(logPath, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  while (url === null) {
    for (const line of logLines()) {
      try {
        const entry = JSON.parse(line);
        if (typeof entry.url === "string" && String(entry.msg ?? entry.message ?? "").startsWith("listening on")) url = entry.url;
      } catch {
        // Not JSON.
      }
    }
    if (server.exitCode !== null) throw new Error(`the server exited ${server.exitCode}:\n${logLines().join("\n")}`);
    if (Date.now() - startedAt > 20_000) throw new Error(`the server did not log its address:\n${logLines().join("\n")}`);
    if (url === null) await sleep(50);
  }
  const base = url;
  console.error(`soak: server pid ${pid} at ${base} (${options.store} store), data in ${dir}`);

  const self = import.meta.path;
  const passOn = ["--workers", options.workers, "--rate", options.rate, "--concurrency", options.concurrency, "--sse", options.sse, "--seed", options.seed].map(String);
  let requestsSoFar = 0;
  const runDriver = async (phase: "setup" | "traffic", seconds: number): Promise<DriveResult> => {
    const child = Bun.spawn([process.execPath, self, ...passOn, "--drive", base, phase, String(seconds)], { cwd: repo, stdout: "pipe", stderr: "inherit" });
    let result: DriveResult | null = null;
    let buffer = "";
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      buffer += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("PROGRESS ")) requestsSoFar = JSON.parse(line.slice(9)).requests;
        else if (line.startsWith("RESULT ")) result = JSON.parse(line.slice(7));
      }
    }
    const code = await child.exited;
    if (!result || code !== 0) throw new Error(`the ${phase} client exited ${code} without a result`);
    return result;
  };

  const samples: Sample[] = [];
  const t0 = Date.now();
  const takeSample = async (phase: Sample["phase"]): Promise<Sample> => {
    const lag = await healthz(base);
    const kinds = fdKinds(pid);
    const summary = (await (await fetch(`${base}/v1/runtime`)).json()).runtime;
    const sample: Sample = {
      t: (Date.now() - t0) / 60_000,
      phase,
      ...procStatus(pid),
      fds: fdCount(pid),
      files: kinds.file ?? 0,
      descendants: descendantsOf(pid).length,
      marked: markedProcesses(marker).length,
      healthzP50: lag.p50,
      healthzMax: lag.max,
      requests: requestsSoFar,
      lastEventId: summary.last_event_id,
      activeRuns: summary.active_runs,
    };
    samples.push(sample);
    return sample;
  };

  const setup = await runDriver("setup", 0);
  await sleep(1_000);
  const baseline = await takeSample("baseline");
  const baselineFdKinds = fdKinds(pid);

  const seconds = options.minutes * 60;
  let trafficResult: DriveResult | null = null;
  const traffic = runDriver("traffic", seconds).then((r) => (trafficResult = r));
  let failedSampling: unknown = null;
  while (trafficResult === null) {
    await Promise.race([traffic, sleep(options.sample * 1000)]);
    if (trafficResult !== null) break;
    try {
      await takeSample("traffic");
    } catch (error) {
      failedSampling = error;
      break;
    }
  }
  await traffic;
  const result = trafficResult as unknown as DriveResult;

  // Drained: the client process is gone (its connections closed), and the runs it started end.
  const drainStarted = Date.now();
  let drained = await takeSample("drained");
  const notFiles = (s: Sample) => s.fds - s.files;
  while ((drained.activeRuns > 0 || drained.marked > 0 || notFiles(drained) > notFiles(baseline) + options.fdSlack) && Date.now() - drainStarted < 15_000) {
    await sleep(1_000);
    samples.pop();
    drained = await takeSample("drained");
  }

  const baselineKinds = baselineFdKinds;
  const drainedKinds = fdKinds(pid);

  // Shutdown: SIGTERM, exit 0 within 5 s (SPEC §11), nothing left behind.
  const stopAt = performance.now();
  server.kill("SIGTERM");
  const exitCode = await Promise.race([server.exited, sleep(10_000).then(() => null)]);
  const stopSeconds = (performance.now() - stopAt) / 1000;
  if (exitCode === null) server.kill("SIGKILL");
  await sleep(200);
  const leftAfterExit = markedProcesses(marker).length;
  const errorLogLines = logLines().filter((line) => line.includes('"level":"error"') || line.includes('"level":50'));

  // ---------------------------------------------------------------- report
  const traffic_ = samples.filter((s) => s.phase === "traffic");
  const warm = traffic_.filter((s) => s.t >= Math.min(1, options.minutes * 0.25));
  const series = warm.length >= 3 ? warm : traffic_;
  const per = (get: (s: Sample) => number) => slope(series.map((s) => [s.t, get(s)]));
  const totals = Object.values(result.tallies).reduce(
    (sum, t) => ({ requests: sum.requests + t.requests, ok: sum.ok + t.ok, expected: sum.expected + t.expected, errors: sum.errors + t.errors }),
    { requests: 0, ok: 0, expected: 0, errors: 0 },
  );
  const trafficMinutes = traffic_.length > 0 ? traffic_[traffic_.length - 1]!.t - baseline.t : options.minutes;
  const rssSlope = per((s) => s.rssMb);
  const fmt = (n: number, digits = 1) => n.toFixed(digits);

  const checks: [boolean, string][] = [
    [failedSampling === null, `the server answered every sample${failedSampling ? ` (failed: ${String(failedSampling)})` : ""}`],
    [totals.errors === 0, `no 5xx, unexpected 4xx or transport errors: ${totals.errors} of ${totals.requests} requests`],
    [errorLogLines.length === 0, `no error lines in the server log: ${errorLogLines.length}`],
    [drained.activeRuns === 0, `every run ended once traffic stopped: ${drained.activeRuns} active`],
    [drained.marked === 0 && drained.descendants === 0, `no leaked child processes after the drain: ${drained.descendants} descendants, ${drained.marked} command-profile processes`],
    [
      notFiles(drained) <= notFiles(baseline) + options.fdSlack,
      `fds other than files (sockets, pipes) back near the baseline once clients disconnected: ${notFiles(drained)} vs ${notFiles(baseline)} (slack ${options.fdSlack})`,
    ],
    [
      drained.files <= baseline.files + APPEND_FILE_CACHE,
      `open files bounded by the fs store's descriptor cache (${APPEND_FILE_CACHE}, LRU): ${drained.files} after the drain vs ${baseline.files} at the baseline, at most ${Math.max(...samples.map((x) => x.files))}`,
    ],
    options.store === "fs"
      ? [rssSlope <= options.maxRssSlope, `RSS slope after warm-up ${fmt(rssSlope, 2)} MB/min <= ${options.maxRssSlope} MB/min`]
      : [true, `RSS slope after warm-up ${fmt(rssSlope, 2)} MB/min (memory store: holds every transcript and up to max_retained_events events in RAM by design, not checked)`],
    [exitCode === 0 && stopSeconds <= 5, `SIGTERM: exit ${exitCode} after ${fmt(stopSeconds, 2)} s (0 within 5 s)`],
    [leftAfterExit === 0, `no command-profile process left after the exit: ${leftAfterExit}`],
  ];

  const out: string[] = [];
  out.push(`# yoi-runtime soak: ${options.store} store, ${fmt(trafficMinutes, 1)} min of traffic, ${options.workers} workers`, "");
  out.push(
    `Bun ${Bun.version}, ${availableParallelism()} CPUs; target ${options.rate} req/s over ${options.concurrency} loops + ${options.sse} SSE clients; ` +
      `seed ${options.seed}; samples every ${options.sample} s. Setup created ${setup.created} workers (${setup.tallies.create?.errors ?? 0} errors).`,
    "",
  );
  out.push("## Traffic", "", "| action | requests | 2xx | expected 4xx (races: busy, gone, expired) | errors |", "|---|---:|---:|---:|---:|");
  for (const [action, t] of Object.entries(result.tallies).sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`| ${action} | ${t.requests} | ${t.ok} | ${t.expected} | ${t.errors} |`);
  }
  out.push(`| **total** | ${totals.requests} | ${totals.ok} | ${totals.expected} | ${totals.errors} |`, "");
  out.push(
    `${fmt(totals.requests / Math.max(trafficMinutes * 60, 1), 0)} req/s on average; ${result.sse.connections} SSE connections, ${result.sse.frames} frames; ` +
      `${result.created} creates during traffic; ${drained.lastEventId} events stored in all.`,
    "",
  );
  if (result.errors.length > 0) out.push("First errors:", "", ...result.errors.map((e) => `- \`${e}\``), "");
  out.push("## Samples", "", "| t (min) | phase | RSS MB | fds | files |  threads | children | healthz p50 ms | healthz max ms | req/s | events/s | active runs |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  samples.forEach((s, i) => {
    const previous = samples[i - 1];
    const dt = previous ? (s.t - previous.t) * 60 : 0;
    const rate = (a: number, b: number) => (previous && dt > 0 ? fmt((a - b) / dt, 0) : "");
    out.push(
      `| ${fmt(s.t, 2)} | ${s.phase} | ${fmt(s.rssMb)} | ${s.fds} | ${s.files} | ${s.threads} | ${s.descendants} | ${fmt(s.healthzP50, 2)} | ${fmt(s.healthzMax, 2)} | ` +
        `${previous && s.phase === "traffic" ? rate(s.requests, previous.requests) : ""} | ${previous ? rate(s.lastEventId, previous.lastEventId) : ""} | ${s.activeRuns} |`,
    );
  });
  const kinds = (k: Record<string, number>) => Object.entries(k).sort().map(([kind, n]) => `${kind} ${n}`).join(", ");
  out.push("", `Server fds at the baseline: ${kinds(baselineKinds)}; after the drain: ${kinds(drainedKinds)}.`);
  out.push("", `## Slopes (least squares per minute over ${series.length} traffic samples${series === warm ? " after warm-up" : ""})`, "");
  out.push("| metric | slope / min | first | last |", "|---|---:|---:|---:|");
  const first = series[0];
  const last = series[series.length - 1];
  const row = (name: string, get: (s: Sample) => number, digits = 2) =>
    out.push(`| ${name} | ${fmt(per(get), digits)} | ${first ? fmt(get(first), digits) : ""} | ${last ? fmt(get(last), digits) : ""} |`);
  row("RSS (MB)", (s) => s.rssMb);
  row("open fds", (s) => s.fds);
  row("open fds other than files", (s) => s.fds - s.files);
  row("threads", (s) => s.threads);
  row("child processes", (s) => s.descendants);
  row("healthz p50 (ms)", (s) => s.healthzP50);
  row("healthz max (ms)", (s) => s.healthzMax);
  out.push("", "## Checks", "");
  for (const [ok, text] of checks) out.push(`- [${ok ? "x" : " "}] ${ok ? "" : "**FAIL** "}${text}`);
  out.push("");
  console.log(out.join("\n"));

  if (!options.keep) rmSync(dir, { recursive: true, force: true });
  else console.error(`soak: kept ${dir}`);
  return checks.every(([ok]) => ok) ? 0 : 1;
}

const parsed = parseOptions(process.argv.slice(2));
if (parsed.drive) {
  await drive(parsed, parsed.drive.url, parsed.drive.phase, parsed.drive.seconds);
} else {
  process.exit(await conduct(parsed));
}
