/**
 * Loopback HTTP load for the benchmarks: `wrk` or `oha` when installed, else this file's own
 * client (a closed loop of keep-alive `fetch`es), always in a process of its own so the load
 * does not share a thread with the server it measures.
 *
 *   bun scripts/bench/load.ts '{"url":"http://127.0.0.1:PORT/v1/runtime","connections":64,"seconds":2}'
 *
 * prints one JSON line: `{ requests, seconds, rps, non2xx, errors, p50_ms, p99_ms }`. A `{n}` in
 * the URL is replaced by the request counter modulo `rotate`, zero-padded to `pad` digits (so
 * consecutive POSTs go to different workers).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Requests in flight at once (open connections). */
  connections: number;
  seconds: number;
  /** `{n}` in `url` cycles through 0 … rotate-1. */
  rotate?: number;
  /** Digits `{n}` is zero-padded to. */
  pad?: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Answers with a status outside 2xx/3xx. */
  non2xx: number;
  /** Connect/read/write/timeout errors. */
  errors: number;
  p50_ms: number;
  p99_ms: number;
}

export type Generator = "wrk" | "oha" | "bun";

const SELF = import.meta.path;

/** Whether `name` is on PATH. */
export function installed(name: string): boolean {
  return Bun.which(name) !== null;
}

/** The generators available here, best first (`bun` is always there). */
export function availableGenerators(): Generator[] {
  const found: Generator[] = [];
  if (installed("wrk")) found.push("wrk");
  if (installed("oha")) found.push("oha");
  found.push("bun");
  return found;
}

export async function runLoad(generator: Generator, spec: LoadSpec): Promise<LoadResult> {
  switch (generator) {
    case "wrk":
      return runWrk(spec);
    case "oha":
      return runOha(spec);
    case "bun":
      return runBunClient(spec);
  }
}

async function output(command: string[]): Promise<string> {
  const proc = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${command[0]} exited ${code}: ${stderr || stdout}`);
  return stdout;
}

// ---------------------------------------------------------------- wrk

const luaString = (value: string) => JSON.stringify(value); // a JSON string is a valid Lua string here (ASCII bodies)

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "yoi-wrk-"));
  try {
    const url = new URL(spec.url.replace("{n}", "0"));
    const lines = [`wrk.method = ${luaString(spec.method ?? "GET")}`];
    for (const [name, value] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
    if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`);
    if (spec.rotate) {
      const template = new URL(spec.url.replace("{n}", "__N__"));
      const [prefix, suffix] = `${template.pathname}${template.search}`.split("__N__") as [string, string];
      lines.push(
        "local counter = 0",
        "request = function()",
        `  local path = ${luaString(prefix)} .. string.format("%0${spec.pad ?? 1}d", counter % ${spec.rotate}) .. ${luaString(suffix)}`,
        "  counter = counter + 1",
        "  return wrk.format(nil, path)",
        "end",
      );
    }
    lines.push(
      "done = function(summary, latency, requests)",
      "  local e = summary.errors",
      '  io.write(string.format("JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"non2xx\\":%d,\\"errors\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d}\\n",',
      "    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))",
      "end",
    );
    const script = join(dir, "load.lua");
    writeFileSync(script, `${lines.join("\n")}\n`);
    const target = `${url.origin}${url.pathname}${url.search}`;
    // wrk takes whole seconds only.
    const text = await output(["wrk", "-t1", `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.seconds))}s`, "--timeout", "10s", "-s", script, target]);
    const json = /^JSON (\{.*\})$/m.exec(text)?.[1];
    if (!json) throw new Error(`unexpected wrk output:\n${text}`);
    const r = JSON.parse(json) as { requests: number; duration_us: number; non2xx: number; errors: number; p50_us: number; p99_us: number };
    const seconds = r.duration_us / 1e6;
    return { requests: r.requests, seconds, rps: r.requests / seconds, non2xx: r.non2xx, errors: r.errors, p50_ms: r.p50_us / 1000, p99_ms: r.p99_us / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- oha

async function runOha(spec: LoadSpec): Promise<LoadResult> {
  const command = ["oha", "--no-tui", "--output-format", "json", "-z", `${spec.seconds}s`, "-c", String(spec.connections), "-m", spec.method ?? "GET"];
  for (const [name, value] of Object.entries(spec.headers ?? {})) command.push("-H", `${name}: ${value}`);
  if (spec.body !== undefined) command.push("-d", spec.body);
  if (spec.rotate) {
    // oha has no counter: a random id per request from a regex (collisions are rare with 1000 ids).
    const digits = spec.pad ?? String(spec.rotate - 1).length;
    const [prefix, suffix] = spec.url.split("{n}") as [string, string];
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    command.push("--rand-regex-url", `${escape(prefix)}[0-9]{${digits}}${escape(suffix)}`);
  } else {
    command.push(spec.url);
  }
  const report = JSON.parse(await output(command)) as {
    summary: { total: number; requestsPerSec: number };
    latencyPercentiles?: Record<string, number | null>;
    statusCodeDistribution?: Record<string, number>;
    errorDistribution?: Record<string, number>;
  };
  let requests = 0;
  let non2xx = 0;
  for (const [status, count] of Object.entries(report.statusCodeDistribution ?? {})) {
    requests += count;
    if (Number(status) >= 400) non2xx += count;
  }
  const errors = Object.values(report.errorDistribution ?? {}).reduce((sum, count) => sum + count, 0);
  const seconds = report.summary.total;
  const p = report.latencyPercentiles ?? {};
  return {
    requests,
    seconds,
    rps: requests / seconds,
    non2xx,
    errors,
    p50_ms: Number(p.p50 ?? Number.NaN) * 1000,
    p99_ms: Number(p.p99 ?? Number.NaN) * 1000,
  };
}

// ---------------------------------------------------------------- the Bun client

async function runBunClient(spec: LoadSpec): Promise<LoadResult> {
  const text = await output([process.execPath, SELF, JSON.stringify(spec)]);
  return JSON.parse(text.trim().split("\n").at(-1)!) as LoadResult;
}

/** The client loop itself (this file run as a script). */
async function clientMain(spec: LoadSpec): Promise<LoadResult> {
  const [prefix, suffix] = spec.url.includes("{n}") ? (spec.url.split("{n}") as [string, string]) : [spec.url, null];
  const rotate = spec.rotate ?? 1;
  const pad = spec.pad ?? 1;
  const init: RequestInit = { method: spec.method ?? "GET", headers: spec.headers, body: spec.body, keepalive: true };
  let counter = 0;
  let requests = 0;
  let non2xx = 0;
  let errors = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (performance.now() < deadline) {
        const url = suffix === null ? prefix : `${prefix}${String(counter++ % rotate).padStart(pad, "0")}${suffix}`;
        const t = performance.now();
        try {
          const response = await fetch(url, init);
          await response.arrayBuffer();
          if (response.status >= 400) non2xx++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
        requests++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return { requests, seconds, rps: requests / seconds, non2xx, errors, p50_ms: at(50), p99_ms: at(99) };
}

if (import.meta.main) {
  const spec = JSON.parse(Bun.argv[2] ?? "") as LoadSpec;
  console.log(JSON.stringify(await clientMain(spec)));
}
