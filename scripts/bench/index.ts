/**
 * The benchmark suite (issue 6): `bun run bench` runs every case, prints ONE markdown table and
 * writes bench-results.json. Every figure is measured beside its baseline in the same run; where
 * a figure comes from load, the contenders take turns round by round (A B C, B C A, C A B, …) and
 * the table shows medians and the median of the rounds' ratios. Everything runs on 127.0.0.1.
 *
 *   bun run bench [--quick] [--only rest,store,binary,memory,execution,stream,acp,install] [--rounds N]
 *                 [--seconds S] [--connections C] [--generator wrk|oha|bun] [--out FILE]
 *                 [--no-deno] [--compare DIR]
 *
 * Cases:
 *   rest       GET /v1/workers/:id, GET /v1/runtime (with 2 and with 1,002 workers), GET
 *              …/transcript?tail=20 and POST …/input (echo runs, 1,000 workers in turn), memory
 *              store, through `bun cli.ts serve` vs a bare Bun.serve answering the bytes captured
 *              from it (scripts/bench/raw-server.ts), and the same server under `deno run -A
 *              cli.ts serve` (Deno vs Bun), all in each round. Besides req/s, each server's CPU
 *              time per request (from /proc), which competing processes disturb less.
 *   store      scripts/bench/store.ts (durable acks/s vs an fdatasync loop, 10k-worker start-up,
 *              transcript page p99).
 *   stream     scripts/bench/stream.ts (SSE fan-out, delta latency) when it exists and takes --json.
 *   binary     start → first healthy response (median of 20) of dist/yoi-runtime (built first if
 *              missing), `bun cli.ts`, `deno run -A cli.ts` beside a bare Bun.serve script and a
 *              compiled Elysia /healthz binary, the binary's size, and its client commands
 *              (`--version` beside `bun -e 1`, `workers list` beside curl: client-commands.ts).
 *   memory     RSS per idle worker at 10,000 workers, memory and fs stores (scripts/bench/memory.ts).
 *   execution  scripts/bench/execution.ts (echo runs/s in process vs over HTTP, command runs/s vs a
 *              bare Bun.spawn loop, delta latency).
 *   acp        scripts/bench/acp.ts (turn latency vs the SDK alone, chunk → SSE latency, RSS per
 *              idle agent worker).
 *   install    only with --only install: `bun run release`, then scripts/bench/install.ts.
 *
 * `--quick` is a smoke run (2 rounds of 1 s, store.ts part (a) only, 2,000 workers for memory).
 * `--compare DIR` adds to the REST rounds a server started from another checkout of the repo
 * (e.g. `git worktree add /tmp/before <commit>`), for before/after figures in the same run.
 *
 * Load comes from `wrk` or `oha` when installed (one thread, so the server keeps the other
 * core), else from scripts/bench/load.ts (keep-alive fetch loops in a process of their own).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { availableGenerators, runLoad, type Generator, type LoadResult, type LoadSpec } from "./load.ts";
import { DENO, REPO, cpuSeconds, fmt, median, postJson, ratioOfRounds, serveCommand, spawnServer, type ChildServer, type Figure } from "./lib.ts";

const CASES = ["rest", "store", "binary", "memory", "execution", "stream", "acp", "install"] as const;
/** Run only when named with --only: `install` builds every release target first (minutes). */
const OPT_IN = new Set<string>(["install"]);
type Case = (typeof CASES)[number];

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string" },
    seconds: { type: "string" },
    connections: { type: "string", default: "64" },
    generator: { type: "string" },
    out: { type: "string", default: join(REPO, "bench-results.json") },
    "no-deno": { type: "boolean", default: false },
    compare: { type: "string" },
  },
  strict: true,
});
const quick = values.quick!;
const only = new Set<Case>();
for (const name of (values.only ?? "").split(",").filter(Boolean)) {
  if (!(CASES as readonly string[]).includes(name)) throw new Error(`--only takes ${CASES.join(", ")} (comma-separated), not ${name}`);
  only.add(name as Case);
}
const selected = (name: Case) => (only.size === 0 ? !OPT_IN.has(name) : only.has(name));
const rounds = Number(values.rounds ?? (quick ? 2 : 5));
const seconds = Number(values.seconds ?? (quick ? 1 : 2));
const connections = Number(values.connections);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
if (!(seconds > 0)) throw new Error("--seconds must be > 0");
if (!Number.isInteger(connections) || connections < 1) throw new Error("--connections must be a positive integer");

const progress = (message: string) => console.error(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const began = performance.now();
const figures: Figure[] = [];
const notes: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), "yoi-bench-"));
const hasDeno = existsSync(DENO) && !values["no-deno"];
const compareTree = values.compare ? resolve(values.compare) : null;
if (compareTree && !existsSync(join(compareTree, "cli.ts"))) throw new Error(`--compare ${compareTree}: no cli.ts there`);

async function run(command: string[], what: string): Promise<void> {
  progress(`${what}: ${command.map((part) => part.replace(REPO + "/", "")).join(" ")}`);
  const proc = Bun.spawn(command, { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`${what} exited ${code}:\n${stdout}`);
}

/** Runs a figure-writing script with `--json` and adds its figures. */
async function collect(script: string, args: string[], what: string): Promise<void> {
  const file = join(scratch, `${what}.json`);
  await run([process.execPath, join(REPO, "scripts/bench", script), ...args, "--json", file], what);
  const result = JSON.parse(readFileSync(file, "utf8")) as { figures: Figure[] };
  figures.push(...result.figures);
}

// ---------------------------------------------------------------- the load generator

let generator: Generator = "bun";
let generatorNote = "";

/** The first generator that answers a short probe against `url` (wrk, oha, then the Bun client). */
async function pickGenerator(url: string): Promise<void> {
  const candidates: Generator[] = values.generator ? [values.generator as Generator] : availableGenerators();
  for (const candidate of candidates) {
    if (!["wrk", "oha", "bun"].includes(candidate)) throw new Error("--generator takes wrk, oha or bun");
    try {
      const probe = await runLoad(candidate, { url: `${url}/healthz`, connections: 4, seconds: 1 });
      if (probe.requests > 0 && probe.non2xx === 0) {
        generator = candidate;
        break;
      }
      notes.push(`${candidate} answered a probe with ${probe.requests} requests, ${probe.non2xx} non-2xx: not used`);
    } catch (error) {
      notes.push(`${candidate} failed its probe (${error instanceof Error ? error.message.split("\n")[0] : String(error)}): not used`);
    }
  }
  const version =
    generator === "wrk"
      ? Bun.spawnSync(["wrk", "-v"]).stdout.toString().split("\n")[0]!.split(" [")[0]!.trim()
      : generator === "oha"
        ? Bun.spawnSync(["oha", "--version"]).stdout.toString().trim()
        : `scripts/bench/load.ts on Bun ${Bun.version}`;
  generatorNote =
    generator === "bun"
      ? `${version} (${values.generator ? "chosen with --generator" : "wrk/oha not installed"}; a separate process of keep-alive fetch loops, ${connections} in flight)`
      : `${version} (1 thread, ${connections} connections)`;
  if (generator === "bun") {
    notes.push(
      "rest: the Bun client saturates before a bare Bun.serve does, so req/s ratios read high; the server CPU-time ratio in each row's detail (raw/yoi) does not depend on the client",
    );
  }
  progress(`load generator: ${generatorNote}`);
}

// ---------------------------------------------------------------- case 1: REST overhead

interface Route {
  name: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
  rotate?: number;
  pad?: number;
  /** The req/s ratio to reach against the bare server answering the same bytes (`raw`) or serialising the same body per request (`json`). */
  target?: { ratio: number; against: "raw" | "json"; issue: number };
  /** Measured once the 1,000 input workers exist (created right before the first such route). */
  afterInputWorkers?: boolean;
}

const ROTATE = 1000;
const ROUTES: Route[] = [
  { name: "GET /v1/workers/:id", method: "GET", path: "/v1/workers/bench-get", target: { ratio: 0.7, against: "raw", issue: 6 } },
  { name: "GET /v1/runtime (2 workers)", method: "GET", path: "/v1/runtime", target: { ratio: 0.7, against: "raw", issue: 6 } },
  {
    name: "GET /v1/workers/:id/transcript?tail=20",
    method: "GET",
    path: "/v1/workers/bench-transcript/transcript?tail=20",
    target: { ratio: 0.85, against: "json", issue: 16 },
  },
  {
    name: "POST /v1/workers/:id/input (echo run, 1,000 workers in turn)",
    method: "POST",
    path: "/v1/workers/bench-in-{n}/input",
    body: JSON.stringify({ kind: "user", content: "hello from the benchmark" }),
    rotate: ROTATE,
    pad: 3,
    target: { ratio: 0.5, against: "raw", issue: 16 },
    afterInputWorkers: true,
  },
  // The same read with 500 times the workers: the core keeps the counts, so it must cost the same.
  {
    name: "GET /v1/runtime (1,002 workers)",
    method: "GET",
    path: "/v1/runtime",
    target: { ratio: 0.8, against: "raw", issue: 16 },
    afterInputWorkers: true,
  },
];
const JSON_HEADERS = { "content-type": "application/json" };
/** Every load run of the REST case, for bench-results.json. */
const raw_results: Record<string, unknown> = {};

async function createWorker(server: ChildServer, worker_id: string): Promise<void> {
  const response = await postJson(`${server.url}/v1/workers`, { worker_id });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`create ${worker_id} answered ${response.status}`);
}

/** The workers the GETs read: one for its detail, one with a 24-entry transcript. */
async function prepare(server: ChildServer): Promise<void> {
  const create = (worker_id: string) => createWorker(server, worker_id);
  await create("bench-get");
  await create("bench-transcript");
  for (let i = 0; i < 12; i++) {
    const response = await postJson(`${server.url}/v1/workers/bench-transcript/input?wait=10`, { kind: "user", content: `message ${i}` });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`input answered ${response.status}`);
  }
}

/** The 1,000 workers the POST case sends input to in turn. */
async function prepareInputWorkers(server: ChildServer): Promise<void> {
  const ids = Array.from({ length: ROTATE }, (_, i) => `bench-in-${String(i).padStart(3, "0")}`);
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => createWorker(server, id)));
}

interface Captured {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

async function capture(url: string, route: Route): Promise<Captured> {
  const response = await fetch(`${url}${route.path.replace("{n}", "999")}`, {
    method: route.method,
    headers: route.body !== undefined ? JSON_HEADERS : undefined,
    body: route.body,
  });
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  // Bun.serve adds Date and Content-Length itself, to both servers alike.
  response.headers.forEach((value, name) => {
    if (name !== "date" && name !== "content-length") headers[name] = value;
  });
  return { status: response.status, headers, body };
}

async function restCase(): Promise<void> {
  progress("rest: starting `bun cli.ts serve --store memory`" + (hasDeno ? ", `deno run -A cli.ts serve --store memory`" : ""));
  const bun = await spawnServer(serveCommand("bun", ["--store", "memory"]), { cwd: scratch });
  const deno = hasDeno ? await spawnServer(serveCommand("deno", ["--store", "memory"]), { cwd: scratch }) : null;
  const before = compareTree
    ? await spawnServer([process.execPath, join(compareTree, "cli.ts"), ...serveCommand("bun", ["--store", "memory"]).slice(2)], { cwd: scratch })
    : null;
  let raw: ChildServer | null = null;
  let rawJson: ChildServer | null = null;
  try {
    await pickGenerator(bun.url);
    await prepare(bun);
    if (deno) await prepare(deno);
    if (before) await prepare(before);

    let inputWorkers = false;
    for (const route of ROUTES) {
      if (route.afterInputWorkers && !inputWorkers) {
        for (const server of [bun, deno, before]) if (server) await prepareInputWorkers(server);
        inputWorkers = true;
      }
      // The baseline answers with the real server's bytes, captured in the state the route is
      // measured in; a bare server of its own per route.
      const real = await capture(bun.url, route);
      const specFile = join(scratch, "raw-spec.json");
      writeFileSync(
        specFile,
        JSON.stringify([
          { method: route.method, path: route.path, status: real.status, headers: real.headers, body_base64: Buffer.from(real.body).toString("base64") },
        ]),
      );
      raw = await spawnServer([process.execPath, join(REPO, "scripts/bench/raw-server.ts"), "--spec", specFile]);
      rawJson = await spawnServer([process.execPath, join(REPO, "scripts/bench/raw-server.ts"), "--spec", specFile, "--serialize"]);
      for (const mirrorServer of [raw, rawJson]) {
        const mirror = await capture(mirrorServer.url, route);
        if (mirror.status !== real.status || JSON.stringify(mirror.headers) !== JSON.stringify(real.headers) || Buffer.compare(mirror.body, real.body) !== 0) {
          throw new Error(`the raw server's answer to ${route.name} differs from the real one:\n${JSON.stringify(mirror.headers)}\n${JSON.stringify(real.headers)}`);
        }
      }
      const contenders = [
        { key: "bun", name: "yoi-runtime on Bun", server: bun },
        { key: "raw", name: "bare Bun.serve, same bytes", server: raw },
        { key: "json", name: "bare Bun.serve, same body serialised per request", server: rawJson },
        ...(deno ? [{ key: "deno", name: "yoi-runtime on Deno", server: deno }] : []),
        ...(before ? [{ key: "before", name: `yoi-runtime on Bun from ${compareTree}`, server: before }] : []),
      ];
      const spec = (server: ChildServer, duration: number): LoadSpec => ({
        url: `${server.url}${route.path}`,
        method: route.method,
        headers: route.body !== undefined ? JSON_HEADERS : undefined,
        body: route.body,
        rotate: route.rotate,
        pad: route.pad,
        connections,
        seconds: duration,
      });
      // Warm-up: JIT, connection pools, lazily compiled validators.
      for (const contender of contenders) await runLoad(generator, spec(contender.server, 1));
      // Besides throughput: the server's CPU time per request, steadier than req/s when other
      // processes compete for the cores.
      const results: Record<string, (LoadResult & { cpu_us: number })[]> = Object.fromEntries(contenders.map((c) => [c.key, []]));
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < contenders.length; k++) {
          const contender = contenders[(round + k) % contenders.length]!;
          const cpuBefore = cpuSeconds(contender.server.pid);
          const result = await runLoad(generator, spec(contender.server, seconds));
          const cpu_us = ((cpuSeconds(contender.server.pid) - cpuBefore) * 1e6) / result.requests;
          results[contender.key]!.push({ ...result, cpu_us });
        }
      }
      const rps = (key: string) => results[key]!.map((r) => r.rps);
      const cpu = (key: string) => median(results[key]!.map((r) => r.cpu_us));
      const describe = (key: string) => {
        const all = results[key]!;
        const failed = all.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
        return `server CPU ${fmt(cpu(key), 1)} µs/req, p50 ${fmt(median(all.map((r) => r.p50_ms)), 2)} ms, p99 ${fmt(median(all.map((r) => r.p99_ms)), 2)} ms${failed ? `, ${fmt(failed)} non-2xx/errors` : ""}`;
      };
      raw_results[route.name] = results;
      const ratio = ratioOfRounds(rps("bun"), rps("raw"));
      const target = route.target;
      const targetRatio = target?.against === "json" ? ratioOfRounds(rps("bun"), rps("json")) : ratio;
      figures.push({
        case: "rest",
        name: `${route.name}: yoi-runtime (Bun) req/s`,
        value: median(rps("bun")),
        unit: "req/s",
        rounds: rps("bun"),
        baseline: { name: "bare Bun.serve, same bytes", value: median(rps("raw")), unit: "req/s", rounds: rps("raw") },
        ratio,
        ...(target !== undefined
          ? {
              target: `≥ ${target.ratio.toFixed(2)}× ${target.against === "json" ? "raw+json" : "raw"} (issue ${target.issue})${target.against === "json" ? `: ${fmt(targetRatio, 2)}×` : ""}`,
              met: targetRatio >= target.ratio,
            }
          : {}),
        detail:
          `yoi ${describe("bun")}; raw ${describe("raw")}; CPU-time ratio raw/yoi ${fmt(cpu("raw") / cpu("bun"), 2)}×; ` +
          `vs a bare Bun.serve that also serialises the body per request (${fmt(median(rps("json")))} req/s, ${fmt(cpu("json"), 1)} µs/req): ${fmt(ratioOfRounds(rps("bun"), rps("json")), 2)}×`,
      });
      if (deno) {
        figures.push({
          case: "rest",
          name: `${route.name}: yoi-runtime on Deno req/s`,
          value: median(rps("deno")),
          unit: "req/s",
          rounds: rps("deno"),
          baseline: { name: "yoi-runtime on Bun", value: median(rps("bun")), unit: "req/s", rounds: rps("bun") },
          ratio: ratioOfRounds(rps("deno"), rps("bun")),
          detail: `deno ${describe("deno")}`,
        });
      }
      if (before) {
        figures.push({
          case: "rest",
          name: `${route.name}: this tree vs ${compareTree} req/s`,
          value: median(rps("bun")),
          unit: "req/s",
          rounds: rps("bun"),
          baseline: { name: compareTree!, value: median(rps("before")), unit: "req/s", rounds: rps("before") },
          ratio: ratioOfRounds(rps("bun"), rps("before")),
          detail: `${compareTree} ${describe("before")}; its ratio to raw ${fmt(ratioOfRounds(rps("before"), rps("raw")), 2)}×`,
        });
      }
      progress(
        `rest ${route.name}: bun ${fmt(median(rps("bun")))} /s ${fmt(cpu("bun"), 1)} µs, raw ${fmt(median(rps("raw")))} /s ${fmt(cpu("raw"), 1)} µs (${fmt(ratio, 2)}×), raw+json ${fmt(median(rps("json")))} /s ${fmt(cpu("json"), 1)} µs` +
          (deno ? `, deno ${fmt(median(rps("deno")))} /s` : "") +
          (before ? `, before ${fmt(median(rps("before")))} /s ${fmt(cpu("before"), 1)} µs (${fmt(ratioOfRounds(rps("before"), rps("raw")), 2)}×)` : ""),
      );
      await Promise.all([raw.stop(), rawJson.stop()]);
      raw = null;
      rawJson = null;
    }
  } finally {
    await Promise.all([bun.stop(), deno?.stop(), raw?.stop(), rawJson?.stop(), before?.stop()]);
  }
}

// ---------------------------------------------------------------- the other cases

async function storeCase(): Promise<void> {
  await collect(
    "store.ts",
    quick ? ["--only", "a", "--seconds", "1", "--rounds", "1"] : ["--seconds", "2", "--rounds", "3"],
    "store",
  );
  if (quick) notes.push("--quick: store.ts ran part (a) only (parts b and c generate 10,000 workers and 1,000,000 entries)");
}

async function streamCase(): Promise<void> {
  const file = join(REPO, "scripts/bench/stream.ts");
  if (!existsSync(file)) {
    notes.push("scripts/bench/stream.ts does not exist yet: skipped");
    return;
  }
  if (!readFileSync(file, "utf8").includes("--json")) {
    notes.push("scripts/bench/stream.ts takes no --json: skipped (run it on its own)");
    return;
  }
  await collect("stream.ts", quick ? ["--seconds", "1", "--runs", "1000", "--deltas", "200"] : [], "stream");
}

async function binaryCase(): Promise<void> {
  if (!existsSync(join(REPO, "dist/yoi-runtime"))) await run([process.execPath, "run", "build"], "binary: building dist/yoi-runtime");
  await collect("startup.ts", ["--runs", quick ? "3" : "20", "--all"], "startup");
  await collect("client-commands.ts", ["--runs", quick ? "3" : "20"], "client-commands");
  if (!Bun.which("curl")) notes.push("curl is not installed: the binary's `workers list` has no curl baseline");
  if (!hasDeno) notes.push("deno is not installed (node_modules/.bin/deno): Deno figures skipped");
}

async function memoryCase(): Promise<void> {
  await collect("memory.ts", ["--workers", quick ? "2000" : "10000", "--rounds", quick ? "1" : "2", "--durability", "none"], "memory");
  notes.push("memory: the fs store ran with `--durability none` (fsyncs change the time to create 10,000 workers, not what stays resident)");
  // Durable creates/s beside it (issue 16: batched like inputs).
  await collect("memory.ts", ["--workers", quick ? "2000" : "10000", "--rounds", quick ? "1" : "2", "--durability", "fsync", "--creates-only"], "memory");
}

async function executionCase(): Promise<void> {
  await collect(
    "execution.ts",
    quick ? ["--seconds", "1", "--rounds", "1", "--deltas", "200"] : ["--seconds", "2", "--rounds", "3", "--deltas", "1000"],
    "execution",
  );
}

async function acpCase(): Promise<void> {
  await collect("acp.ts", quick ? ["--turns", "30", "--chunks", "30", "--workers", "5"] : [], "acp");
}

async function installCase(): Promise<void> {
  await run([process.execPath, "run", "release"], "install: building the release (every target)");
  await collect("install.ts", quick ? ["--runs", "3", "--installs", "1"] : [], "install");
}

// ---------------------------------------------------------------- run and report

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: REPO }).stdout.toString().trim() || "unknown";
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: REPO }).stdout.toString().trim() !== "";
const denoVersion = hasDeno
  ? Bun.spawnSync([DENO, "--version"]).stdout.toString().split("\n")[0]!.trim()
  : values["no-deno"]
    ? "Deno skipped (--no-deno)"
    : "Deno not installed";

try {
  const steps: [Case, () => Promise<void>][] = [
    ["rest", restCase],
    ["store", storeCase],
    ["stream", streamCase],
    ["binary", binaryCase],
    ["memory", memoryCase],
    ["execution", executionCase],
    ["acp", acpCase],
    ["install", installCase],
  ];
  for (const [name, step] of steps) {
    if (!selected(name)) continue;
    const started = performance.now();
    try {
      await step();
    } catch (error) {
      notes.push(`${name} FAILED: ${error instanceof Error ? error.message.split("\n").slice(0, 3).join(" / ") : String(error)}`);
      console.error(error);
    }
    progress(`${name} done in ${fmt((performance.now() - started) / 1000)} s`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (!selected("rest")) generatorNote = "none (no load-generating case selected)";

const value = (n: number, unit: string) => {
  const digits = unit === "KiB" || (unit === "MiB" && n < 100) || (unit === "ms" && n < 10) ? (n < 10 ? 2 : 1) : 0;
  return `${fmt(n, digits)} ${unit}`;
};
const lines: string[] = [];
lines.push(
  `yoi-runtime benchmarks — ${new Date().toISOString()}, commit ${commit}${dirty ? " (with local changes)" : ""}, Bun ${Bun.version}, ${denoVersion}, ${navigator.hardwareConcurrency} CPUs`,
  `Load generator: ${generatorNote}. REST: ${rounds} rounds × ${seconds} s per contender, turns rotating each round; results are medians, ratios the median of the rounds' ratios.`,
  "",
  "| case | measurement | result | baseline (same run) | ratio | target |",
  "|---|---|---|---|---|---|",
);
for (const figure of figures) {
  const baseline = figure.baseline ? `${value(figure.baseline.value, figure.baseline.unit)} (${figure.baseline.name})` : "";
  const ratio = figure.ratio !== undefined ? `${fmt(figure.ratio, 2)}×` : "";
  const target = figure.target ? `${figure.target}: ${figure.met ? "met" : "**NOT met**"}` : "";
  const detail = figure.detail ? ` <sub>${figure.detail}</sub>` : "";
  lines.push(`| ${figure.case} | ${figure.name}${detail} | ${value(figure.value, figure.unit)} | ${baseline} | ${ratio} | ${target} |`);
}
if (notes.length > 0) lines.push("", ...notes.map((note) => `- ${note}`));
console.log(lines.join("\n"));

writeFileSync(
  values.out!,
  `${JSON.stringify(
    {
      at: new Date().toISOString(),
      commit,
      dirty,
      bun: Bun.version,
      deno: denoVersion,
      cpus: navigator.hardwareConcurrency,
      generator,
      generator_detail: generatorNote,
      options: { quick, only: [...only], rounds, seconds, connections },
      figures,
      rest_runs: raw_results,
      notes,
      seconds_total: (performance.now() - began) / 1000,
    },
    null,
    2,
  )}\n`,
);
progress(`wrote ${values.out}`);
if (figures.some((figure) => figure.met === false)) progress("some targets are NOT met (see the table)");
