/**
 * Shared pieces of the benchmark scripts: medians, number formatting, child servers on
 * 127.0.0.1, RSS readings, and the figures every script can write with `--json FILE` so
 * `scripts/bench/index.ts` can fold them into one table.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
export const CLI = join(REPO, "cli.ts");
export const DENO = join(REPO, "node_modules/.bin/deno");

/** One measured figure, as the scripts hand them to index.ts. */
export interface Figure {
  /** The case it belongs to (`rest`, `store`, `binary`, `memory`, `execution`, `stream`). */
  case: string;
  name: string;
  value: number;
  unit: string;
  /** Every round's value, in the order measured. */
  rounds?: number[];
  /** What the figure is measured against, in the same run. */
  baseline?: { name: string; value: number; unit: string; rounds?: number[] };
  /** value / baseline (median of the per-round ratios when both were measured in rounds). */
  ratio?: number;
  /** The target as text, and whether this run met it. */
  target?: string;
  met?: boolean;
  detail?: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of the per-round ratios `a[i] / b[i]`: robust to load that drifts between rounds. */
export function ratioOfRounds(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / b[i]!));
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(n);

/** Writes `{ script, bun, cpus, at, figures }` to `file` when the script got `--json FILE`. */
export function writeFigures(file: string | undefined, script: string, figures: Figure[], extra: Record<string, unknown> = {}): void {
  if (!file) return;
  writeFileSync(
    file,
    `${JSON.stringify({ script, bun: Bun.version, cpus: navigator.hardwareConcurrency, at: new Date().toISOString(), ...extra, figures }, null, 2)}\n`,
  );
}

export function rssKiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

export interface ChildServer {
  url: string;
  pid: number;
  /** Spawn to the first 200 of GET /healthz. */
  startedMs: number;
  /** Everything the child wrote to stderr so far. */
  log(): string;
  stop(): Promise<number>;
}

/**
 * Spawns `command` (a `serve` that logs `listening on http://…`, or any script that prints the
 * same to stderr), waits for that line, then for a 200 from GET /healthz.
 */
export async function spawnServer(command: string[], options: { cwd?: string; env?: Record<string, string | undefined>; health?: boolean } = {}): Promise<ChildServer> {
  const started = performance.now();
  const proc = Bun.spawn(command, {
    cwd: options.cwd ?? REPO,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, YOI_RUNTIME_CONFIG: undefined, NO_COLOR: "1", ...options.env },
  });
  let log = "";
  const decoder = new TextDecoder();
  let ended = false;
  void (async () => {
    const reader = proc.stderr.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      log += decoder.decode(value, { stream: true });
    }
    ended = true;
  })();
  let url: string | null = null;
  const deadline = performance.now() + 60_000;
  while (!url) {
    url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log)?.[1] ?? null;
    if (url) break;
    if (ended || proc.exitCode !== null) {
      await proc.exited;
      throw new Error(`${command.join(" ")} exited ${proc.exitCode} before listening:\n${log}`);
    }
    if (performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${command.join(" ")} did not listen within 60 s:\n${log}`);
    }
    await Bun.sleep(1);
  }
  if (options.health !== false) {
    const health = await fetch(`${url}/healthz`);
    await health.arrayBuffer();
    if (health.status !== 200) throw new Error(`healthz answered ${health.status}`);
  }
  const startedMs = performance.now() - started;
  return {
    url,
    pid: proc.pid,
    startedMs,
    log: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** `bun cli.ts serve` (or `deno run -A cli.ts serve`) on 127.0.0.1:0 with json logs. */
export function serveCommand(runtime: "bun" | "deno", args: string[]): string[] {
  const base = runtime === "bun" ? [process.execPath, CLI] : [DENO, "run", "-A", CLI];
  return [...base, "serve", "--bind", "127.0.0.1:0", "--log-format", "json", ...args];
}

/** Sends requests with up to `concurrency` in flight until `jobs` is exhausted. */
export async function pool<T>(jobs: readonly T[], concurrency: number, run: (job: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const index = next++;
        await run(jobs[index]!, index);
      }
    }),
  );
}

export async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

const CLOCK_TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU time (ms) a process's threads have run so far, in nanosecond resolution from
 * /proc/PID/task/TID/schedstat (the tick counts of /proc/PID/stat are 10 ms coarse): what a
 * short start-up costs, less disturbed by other processes than its wall time. NaN off Linux.
 */
export function cpuMillisPrecise(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}
