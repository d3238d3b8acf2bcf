/**
 * What installing yoi-runtime from npm costs (issue 13): tarball and binary sizes, `npm install`
 * time into an empty project, and start → first healthy response of the installed CLI run five
 * ways, median of N, taking turns run by run (A B C D E, then B C D E A, …) so drifting load hits
 * them alike:
 *   the platform package's binary, run directly (the baseline);
 *   `node node_modules/.bin/yoi-runtime` (the launcher; its overhead is the difference);
 *   `npx yoi-runtime`, `bunx yoi-runtime`, `deno run -A npm:yoi-runtime`;
 * and, in the same rounds, `node -e 0` from spawn to exit: Node's own start, the floor of any
 * launcher written for Node (the launcher's overhead minus it is what the launcher itself costs).
 *
 *   bun run release && bun scripts/bench/install.ts [--runs 20] [--installs 3 (0: skip)] [--json FILE]
 *
 * Uses dist/release/npm/ (builds this machine's target with `release.ts --targets` when missing);
 * packs the main and this platform's package into a temporary directory. `npm install` reaches
 * the registry for the dependencies (its cache warms after the first install; each figure says
 * which install it is). The main package alone also asks the registry for the four other platform
 * packages, which are not published yet (npm skips them: they are optional).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DENO, fmt, median, REPO, spawnServer, writeFigures, type Figure } from "./lib.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { runs: { type: "string", default: "20" }, installs: { type: "string", default: "3" }, json: { type: "string" } },
  strict: true,
});
const runs = Number(values.runs);
const installs = Number(values.installs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(installs) || installs < 0) throw new Error("--runs must be a positive integer, --installs one ≥ 0");

const version: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
const platform = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
const npmDir = join(REPO, "dist/release/npm");
const work = mkdtempSync(join(tmpdir(), "yoi-install-bench-"));
const figures: Figure[] = [];
const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MiB`;

function run(command: string[], cwd: string): string {
  const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} exited ${result.exitCode}:\n${result.stderr}`);
  return result.stdout.toString();
}

if (!existsSync(join(npmDir, `yoi-runtime-${platform}`))) {
  console.log(`dist/release has no ${platform} package: building it (bun scripts/release.ts --targets ${platform})`);
  run([process.execPath, join(REPO, "scripts/release.ts"), "--targets", platform], REPO);
}

// Tarballs as npm would publish them.
const tarballs: Record<string, string> = {};
for (const name of ["yoi-runtime", `yoi-runtime-${platform}`]) {
  run(["npm", "pack", "--silent", "--pack-destination", work], join(npmDir, name));
  tarballs[name] = join(work, `${name}-${version}.tgz`);
  const size = statSync(tarballs[name]).size;
  console.log(`tarball ${name}: ${mib(size)}`);
  figures.push({ case: "install", name: `tarball size: ${name}`, value: size / 1024 / 1024, unit: "MiB" });
}
for (const line of readFileSync(join(REPO, "dist/release/SHA256SUMS"), "utf8").trim().split("\n")) {
  const file = line.split(/\s+/)[1]!;
  const size = statSync(join(REPO, "dist/release", file)).size;
  console.log(`binary ${file}: ${mib(size)}`);
  figures.push({ case: "install", name: `binary size: ${file}`, value: size / 1024 / 1024, unit: "MiB" });
}

/** `npm install` of the given tarballs into a new empty project: its directory and the time. */
function install(packages: string[]): { dir: string; ms: number } {
  const dir = mkdtempSync(join(work, "project-"));
  run(["npm", "init", "-y"], dir);
  const started = performance.now();
  run(["npm", "install", "--no-audit", "--no-fund", ...packages], dir);
  return { dir, ms: performance.now() - started };
}

for (const [label, packages] of installs === 0 ? [] : [
  ["the main package alone", [tarballs["yoi-runtime"]!]],
  [`the main and ${platform} packages`, [tarballs["yoi-runtime"]!, tarballs[`yoi-runtime-${platform}`]!]],
] as const) {
  const times = Array.from({ length: installs }, () => install([...packages]).ms);
  console.log(`npm install of ${label}: ${times.map((ms) => `${fmt(ms)} ms`).join(", ")} (median ${fmt(median(times))} ms)`);
  figures.push({ case: "install", name: `npm install of ${label} into an empty project (median of ${installs})`, value: median(times), unit: "ms", rounds: times });
}

const project = install([tarballs["yoi-runtime"]!, tarballs[`yoi-runtime-${platform}`]!]).dir;
const binary = join(project, "node_modules", `yoi-runtime-${platform}`, "bin", process.platform === "win32" ? "yoi-runtime.exe" : "yoi-runtime");
const serve = ["serve", "--bind", "127.0.0.1:0", "--store", "memory", "--log-format", "json"];
const targets = [
  { name: "binary (platform package)", command: [binary, ...serve] },
  { name: "node launcher (node_modules/.bin)", command: ["node", join(project, "node_modules/.bin/yoi-runtime"), ...serve] },
  { name: "npx yoi-runtime", command: ["npx", "yoi-runtime", ...serve] },
  { name: "bunx yoi-runtime", command: [process.execPath, "x", "yoi-runtime", ...serve] },
  { name: "deno run -A npm:yoi-runtime", command: [DENO, "run", "-A", "npm:yoi-runtime", ...serve] },
];

async function once(command: string[]): Promise<number> {
  const server = await spawnServer(command, { cwd: project });
  await server.stop();
  // npx ends before the server (its shell dies of the SIGTERM; the launcher then stops the
  // binary): wait until nothing answers, so the next start does not share the CPU with a shutdown.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await fetch(`${server.url}/healthz`).then(() => true, () => false))) await Bun.sleep(10);
  return server.startedMs;
}

console.log(`start → first healthy response, ${runs} runs each`);
for (const target of targets) await once(target.command); // warms the page cache and Deno's npm cache
const times: number[][] = targets.map(() => []);
const nodeStarts: number[] = [];
for (let i = 0; i < runs; i++) {
  for (let k = 0; k < targets.length; k++) {
    const t = (i + k) % targets.length;
    times[t]!.push(await once(targets[t]!.command));
  }
  const started = performance.now();
  await Bun.spawn(["node", "-e", "0"], { stdio: ["ignore", "ignore", "ignore"] }).exited;
  nodeStarts.push(performance.now() - started);
}
const baseline = { name: targets[0]!.name, value: median(times[0]!), unit: "ms", rounds: times[0]! };
targets.forEach((target, t) => {
  const own = times[t]!;
  const added = median(own.map((ms, i) => ms - times[0]![i]!));
  console.log(
    `${target.name.padEnd(36)} median ${fmt(median(own), 1)} ms (min ${fmt(Math.min(...own), 1)}, max ${fmt(Math.max(...own), 1)})` +
      (t === 0 ? "" : `, +${fmt(added, 1)} ms over the binary (median of the per-run differences)`),
  );
  figures.push({
    case: "install",
    name: `start → first healthy response: ${target.name} (median of ${runs})`,
    value: median(own),
    unit: "ms",
    rounds: own,
    ...(t === 0 ? {} : { baseline, ratio: median(own) / baseline.value, detail: `+${fmt(added, 1)} ms over the binary` }),
    ...(t === 1 ? { target: "launcher adds ≤ 30 ms", met: added <= 30 } : {}),
  });
});
console.log(`node -e 0 (Node's own start, spawn → exit)    median ${fmt(median(nodeStarts), 1)} ms (min ${fmt(Math.min(...nodeStarts), 1)}, max ${fmt(Math.max(...nodeStarts), 1)})`);
figures.push({ case: "install", name: `node -e 0, spawn → exit (median of ${runs}): the floor of a Node launcher`, value: median(nodeStarts), unit: "ms", rounds: nodeStarts });
writeFigures(values.json, "install", figures);
rmSync(work, { recursive: true, force: true });
