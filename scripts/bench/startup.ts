/**
 * Start-to-first-healthy-response time of the CLI, median of N runs, and the binary's size.
 *
 *   bun run build && bun scripts/bench/startup.ts [--runs 10] [--store memory|fs] [--all] [--json FILE]
 *                                               [--binary NAME=PATH]…
 *
 * Each run spawns `serve --bind 127.0.0.1:0`, reads the bound address from the log as soon as it
 * is written, and sends GET /healthz; the time is from spawn to that 200. The binary is measured
 * by default; `--all` adds `bun cli.ts`, `deno run -A cli.ts` and two floors: a bare `Bun.serve`
 * script (scripts/bench/raw-server.ts) started the same way, and the least a compiled Elysia
 * server takes (scripts/bench/elysia-healthz.ts, compiled here as scripts/build.ts compiles
 * cli.ts). Besides wall time, each run notes the CPU time the process spent until that response
 * (all threads, from /proc): less disturbed by other processes on a loaded machine. The targets take turns run by run
 * (A B C D, then B C D A, …) so drifting load hits them alike. With `--store fs` every run gets a
 * fresh data directory. `--binary NAME=PATH` (repeatable) adds another executable that takes the
 * same command line, e.g. a build of an earlier commit, for before/after figures in one run.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile } from "../build.ts";
import { cpuMillisPrecise, writeFigures, type Figure } from "./lib.ts";

const root = resolve(import.meta.dir, "../..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "10" },
    store: { type: "string", default: "memory" },
    all: { type: "boolean", default: false },
    json: { type: "string" },
    binary: { type: "string", multiple: true, default: [] },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");

const binary = join(root, "dist/yoi-runtime");
const targets: { name: string; command: string[] }[] = [];
try {
  statSync(binary);
  targets.push({ name: "binary (dist/yoi-runtime)", command: [binary] });
} catch {
  console.error("dist/yoi-runtime not found: run `bun run build` first (measuring the other targets only)");
}
for (const extra of values.binary!) {
  const [name, path] = extra.includes("=") ? [extra.slice(0, extra.indexOf("=")), extra.slice(extra.indexOf("=") + 1)] : [extra, extra];
  targets.push({ name: name!, command: [resolve(path!)] });
}
if (values.all || targets.length === 0) {
  targets.push({ name: "bun cli.ts", command: [process.execPath, join(root, "cli.ts")] });
  targets.push({ name: "deno run -A cli.ts", command: [join(root, "node_modules/.bin/deno"), "run", "-A", join(root, "cli.ts")] });
  targets.push({ name: "bare Bun.serve script (floor)", command: [process.execPath, join(root, "scripts/bench/raw-server.ts")] });
  const elysiaFloor = join(mkdtempSync(join(tmpdir(), "yoi-floor-")), "elysia-healthz");
  await compile({ outfile: elysiaFloor, entry: join(root, "scripts/bench/elysia-healthz.ts") });
  process.on("exit", () => rmSync(dirname(elysiaFloor), { recursive: true, force: true }));
  targets.push({ name: "compiled Elysia /healthz binary (floor)", command: [elysiaFloor] });
}

/** Wall time from spawn to the first healthy response, and the CPU time the process spent by then. */
async function once(command: string[]): Promise<{ wall: number; cpu: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "yoi-startup-"));
  const started = performance.now();
  const proc = Bun.spawn(
    [...command, "serve", "--bind", "127.0.0.1:0", "--store", values.store!, "--data-dir", dataDir, "--log-format", "json"],
    { stdout: "ignore", stderr: "pipe", stdin: "ignore" },
  );
  try {
    const reader = proc.stderr.getReader();
    const decoder = new TextDecoder();
    let log = "";
    let url: string | undefined;
    while (!url) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`exited before listening:\n${log}`);
      log += decoder.decode(value, { stream: true });
      url = /listening on (http:\/\/[^\s"]+)/.exec(log)?.[1];
    }
    const response = await fetch(`${url}/healthz`);
    if (response.status !== 200) throw new Error(`healthz answered ${response.status}`);
    await response.arrayBuffer();
    const elapsed = performance.now() - started;
    const cpu = cpuMillisPrecise(proc.pid);
    reader.releaseLock();
    return { wall: elapsed, cpu };
  } finally {
    proc.kill("SIGTERM");
    const code = await proc.exited;
    rmSync(dataDir, { recursive: true, force: true });
    if (code !== 0) console.error(`warning: exit status ${code} after SIGTERM`);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

console.log(`start → first healthy response, ${runs} runs each, --store ${values.store}`);
// One unmeasured run each warms the page cache (and Deno's module cache).
for (const target of targets) await once(target.command);
const times: number[][] = targets.map(() => []);
const cpuTimes: number[][] = targets.map(() => []);
for (let i = 0; i < runs; i++) {
  for (let k = 0; k < targets.length; k++) {
    const t = (i + k) % targets.length;
    const { wall, cpu } = await once(targets[t]!.command);
    times[t]!.push(wall);
    cpuTimes[t]!.push(cpu);
  }
}
const figures: Figure[] = [];
const isFloor = (name: string) => name.endsWith("(floor)");
const floorOf = (prefix: string) => {
  const index = targets.findIndex((target) => target.name.startsWith(prefix));
  return index < 0 ? undefined : { index, name: targets[index]!.name, value: median(times[index]!), unit: "ms", rounds: times[index], cpu: median(cpuTimes[index]!) };
};
const bare = floorOf("bare Bun.serve");
const elysia = floorOf("compiled Elysia");
targets.forEach((target, t) => {
  const own = times[t]!;
  const min = Math.min(...own);
  const max = Math.max(...own);
  const cpu = median(cpuTimes[t]!);
  console.log(`${target.name.padEnd(40)} median ${median(own).toFixed(1)} ms (min ${min.toFixed(1)}, max ${max.toFixed(1)}), CPU ${cpu.toFixed(1)} ms`);
  if (isFloor(target.name) && target.name !== elysia?.name) return;
  const against = isFloor(target.name) ? [] : [bare, ...(target.command[0] === binary ? [elysia] : [])];
  const compared = against.filter((floor) => floor !== undefined);
  for (const floor of compared.length > 0 ? compared : [undefined]) {
    const ratio = floor ? median(own) / floor.value : undefined;
    // Issue 16: the binary within 1.5× of the bare script (wall time, medians of the same run).
    const target16 = target.command[0] === binary && floor === bare ? "≤ 1.5× the bare script" : undefined;
    figures.push({
      case: "binary",
      name: `start → first healthy response: ${target.name} (median of ${runs})${floor && floor !== bare ? `, vs the ${floor.name}` : ""}`,
      value: median(own),
      unit: "ms",
      rounds: own,
      ...(floor ? { baseline: { name: floor.name, value: floor.value, unit: floor.unit, rounds: floor.rounds }, ratio } : {}),
      ...(target16 && ratio !== undefined ? { target: target16, met: ratio <= 1.5 } : {}),
      detail: `min ${min.toFixed(1)}, max ${max.toFixed(1)} ms; CPU ${cpu.toFixed(1)} ms${floor ? ` (floor ${floor.cpu.toFixed(1)} ms, ${(cpu / floor.cpu).toFixed(2)}×)` : ""}; --store ${values.store}`,
    });
  }
});
try {
  const size = statSync(binary).size;
  console.log(`binary size: ${size} bytes (${(size / 1024 / 1024).toFixed(1)} MiB)`);
  const bunSize = statSync(process.execPath).size;
  figures.push({
    case: "binary",
    name: "size of dist/yoi-runtime",
    value: size / 1024 / 1024,
    unit: "MiB",
    baseline: { name: `the bun executable (${Bun.version})`, value: bunSize / 1024 / 1024, unit: "MiB" },
    ratio: size / bunSize,
  });
} catch {}
writeFigures(values.json, "startup", figures);
