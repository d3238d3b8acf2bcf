/**
 * Client commands of the binary beside their floors (issue 16): `dist/yoi-runtime --version` beside
 * `bun -e 1` (a Bun process that does nothing), and `dist/yoi-runtime workers list` beside `curl`
 * of the same route, both against one running `dist/yoi-runtime serve` on 127.0.0.1.
 *
 *   bun run build && bun scripts/bench/client-commands.ts [--runs 20] [--binary PATH] [--compare PATH] [--json FILE]
 *
 * Each figure is the median wall time from spawn to exit, the contenders taking turns run by run;
 * the detail adds the CPU time (user + system) each process used. `--binary` measures another
 * executable instead of dist/yoi-runtime; `--compare` adds another one's `--version` and `workers
 * list` to the same rotation (a build of an earlier commit: before/after). Without curl on
 * the machine the `workers list` row has no baseline and the output says so.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median, writeFigures, type Figure } from "./lib.ts";

const root = resolve(import.meta.dir, "../..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    runs: { type: "string", default: "20" },
    binary: { type: "string", default: join(root, "dist/yoi-runtime") },
    compare: { type: "string" },
    json: { type: "string" },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
const binary = resolve(values.binary!);
statSync(binary);
const curl = Bun.which("curl");

/** Runs `command` to its end; wall ms, CPU ms (user + system), and its stdout. Throws unless it exits 0. */
async function once(command: string[]): Promise<{ wall: number; cpu: number; stdout: string }> {
  const started = performance.now();
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const wall = performance.now() - started;
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${stderr}`);
  const usage = child.resourceUsage();
  const cpu = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1000 : Number.NaN;
  return { wall, cpu, stdout };
}

const dataDir = mkdtempSync(join(tmpdir(), "yoi-client-bench-"));
const server = Bun.spawn([binary, "serve", "--bind", "127.0.0.1:0", "--store", "memory", "--data-dir", dataDir, "--log-format", "json"], {
  stdout: "ignore",
  stderr: "pipe",
  stdin: "ignore",
});
try {
  const reader = server.stderr.getReader();
  let log = "";
  let url: string | undefined;
  while (!url) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the server exited before listening:\n${log}`);
    log += new TextDecoder().decode(value);
    url = /listening on (http:\/\/[^\s"]+)/.exec(log)?.[1];
  }
  reader.releaseLock();
  for (let i = 0; i < 3; i++) {
    const created = await fetch(`${url}/v1/workers`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    if (created.status !== 201) throw new Error(`creating a worker answered ${created.status}`);
  }

  const contenders: { name: string; command: string[] }[] = [
    { name: "`--version`", command: [binary, "--version"] },
    { name: "`bun -e 1`", command: [process.execPath, "-e", "1"] },
    { name: "`workers list`", command: [binary, "workers", "list", "--url", url] },
    ...(curl ? [{ name: "`curl` of GET /v1/workers", command: [curl, "-sf", `${url}/v1/workers`] }] : []),
    ...(values.compare
      ? [
          { name: "`--version` of --compare", command: [resolve(values.compare), "--version"] },
          { name: "`workers list` of --compare", command: [resolve(values.compare), "workers", "list", "--url", url] },
        ]
      : []),
  ];
  // One unmeasured run each warms the page cache.
  for (const contender of contenders) await once(contender.command);
  const wall = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = (i + k) % contenders.length;
      const result = await once(contenders[c]!.command);
      wall[c]!.push(result.wall);
      cpu[c]!.push(result.cpu);
    }
  }
  contenders.forEach((contender, c) => {
    console.log(`${contender.name.padEnd(28)} median ${median(wall[c]!).toFixed(1)} ms, CPU ${median(cpu[c]!).toFixed(1)} ms`);
  });
  const figure = (index: number, baselineIndex: number | null, target?: { text: string; max: number }): Figure => {
    const value = median(wall[index]!);
    const baseline = baselineIndex === null ? undefined : median(wall[baselineIndex]!);
    const ratio = baseline === undefined ? undefined : value / baseline;
    return {
      case: "binary",
      name: `client command ${contenders[index]!.name} of dist/yoi-runtime, spawn to exit (median of ${runs})`,
      value,
      unit: "ms",
      rounds: wall[index],
      ...(baselineIndex !== null && baseline !== undefined
        ? { baseline: { name: contenders[baselineIndex]!.name, value: baseline, unit: "ms", rounds: wall[baselineIndex] }, ratio }
        : {}),
      ...(target && ratio !== undefined ? { target: target.text, met: ratio <= target.max } : {}),
      detail: `CPU ${median(cpu[index]!).toFixed(1)} ms${baselineIndex === null ? "" : ` (baseline ${median(cpu[baselineIndex]!).toFixed(1)} ms)`}`,
    };
  };
  const figures = [figure(0, 1), figure(2, curl ? 3 : null, { text: "≤ 2× curl", max: 2 })];
  if (values.compare) {
    const at = curl ? 4 : 3;
    for (const [own, theirs] of [[0, at], [2, at + 1]] as const) {
      figures.push({ ...figure(own, theirs), name: `${figure(own, null).name}, vs --compare ${values.compare}` });
    }
  }
  if (!curl) {
    console.log("curl is not installed: `workers list` has no baseline in this run");
    figures[1]!.detail += "; curl not installed: no baseline";
  }
  writeFigures(values.json, "client-commands", figures);
} finally {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
