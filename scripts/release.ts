/**
 * `bun run release` → dist/release/: the CLI compiled for five platforms, and the npm packages
 * that ship them the way esbuild and biome do (a small main package whose bin is a Node launcher,
 * plus one optional dependency per platform that npm installs only where `os`/`cpu` match).
 *
 *   bun scripts/release.ts [--targets linux-x64,darwin-arm64] [--pack]
 *
 * dist/release/
 *   yoi-runtime-<os>-<arch>[.exe]     the binaries, for direct download
 *   SHA256SUMS                        `sha256sum -c` format
 *   npm/yoi-runtime/                  the main package (what `npm pack` ships, plus optionalDependencies)
 *   npm/yoi-runtime-<os>-<arch>/      one package per platform: bin/yoi-runtime[.exe], os/cpu
 *   npm/*.tgz                         with --pack: each package packed, ready for `npm publish`
 *
 * Cross-compiling needs each target's Bun executable. This machine may reach only the npm
 * registry, so they come from `@oven/bun-<platform>` (the packages the `bun` npm package installs
 * from), pinned to the `bun` devDependency so the embedded runtime matches the one that produced
 * the bytecode; tarballs are kept in dist/.cache/.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile } from "./build.ts";

const root = resolve(import.meta.dir, "..");
const releaseDir = join(root, "dist/release");
const npmDir = join(releaseDir, "npm");
const cacheDir = join(root, "dist/.cache");

interface Target {
  /** `<os>-<arch>` as in the binary and package names. */
  name: string;
  /** `bun build --target`. */
  bunTarget: string;
  /** The registry package holding this platform's Bun executable. */
  ovenPackage: string;
  /** npm's `os`/`cpu` values (Node's process.platform/arch). */
  os: string;
  cpu: string;
  exe: "" | ".exe";
}

const TARGETS: Target[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", ovenPackage: "@oven/bun-linux-x64", os: "linux", cpu: "x64", exe: "" },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", ovenPackage: "@oven/bun-linux-aarch64", os: "linux", cpu: "arm64", exe: "" },
  { name: "darwin-x64", bunTarget: "bun-darwin-x64", ovenPackage: "@oven/bun-darwin-x64", os: "darwin", cpu: "x64", exe: "" },
  { name: "darwin-arm64", bunTarget: "bun-darwin-arm64", ovenPackage: "@oven/bun-darwin-aarch64", os: "darwin", cpu: "arm64", exe: "" },
  { name: "windows-x64", bunTarget: "bun-windows-x64", ovenPackage: "@oven/bun-windows-x64", os: "win32", cpu: "x64", exe: ".exe" },
];

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { targets: { type: "string" }, pack: { type: "boolean", default: false } },
  strict: true,
});

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const version: string = manifest.version;
const bunVersion: string = manifest.devDependencies?.bun ?? "";
if (!/^\d+\.\d+\.\d+$/.test(bunVersion)) fail(`package.json devDependencies.bun must be an exact version (found "${bunVersion}")`);

const targets = values.targets ? values.targets.split(",").map(targetNamed) : TARGETS;

function fail(message: string): never {
  console.error(`release: ${message}`);
  process.exit(1);
}

function targetNamed(name: string): Target {
  return TARGETS.find((target) => target.name === name) ?? fail(`unknown target "${name}" (one of ${TARGETS.map((t) => t.name).join(", ")})`);
}

/** Runs a command to completion; its stderr goes to ours. Answers its stdout. */
async function run(command: string[], cwd: string): Promise<string> {
  const child = Bun.spawn(command, { cwd, stdout: "pipe", stderr: "inherit" });
  const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  if (exitCode !== 0) fail(`${command.join(" ")} exited ${exitCode}`);
  return stdout;
}

/**
 * The target's Bun executable: the one `npm ci` installed for this machine when it is the pinned
 * version, else the registry's @oven/bun-<platform> tarball's (cached in dist/.cache/).
 */
async function bunExecutable(target: Target): Promise<string> {
  const installed = join(root, "node_modules", target.ovenPackage);
  const installedExecutable = join(installed, "bin", `bun${target.exe}`);
  if (existsSync(installedExecutable) && JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).version === bunVersion) {
    return installedExecutable;
  }
  const unpacked = join(cacheDir, `${target.ovenPackage.replace("/", "+")}@${bunVersion}`);
  const executable = join(unpacked, "package/bin", `bun${target.exe}`);
  if (existsSync(executable)) return executable;
  mkdirSync(unpacked, { recursive: true });
  const tarball = (await run(["npm", "pack", `${target.ovenPackage}@${bunVersion}`, "--silent", "--pack-destination", unpacked], root)).trim().split("\n").pop()!;
  await run(["tar", "-xzf", tarball], unpacked);
  if (!existsSync(executable)) fail(`${target.ovenPackage}@${bunVersion} has no bin/bun${target.exe}`);
  return executable;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** One platform's npm package: the binary, `os`/`cpu` so npm installs it only there, a README line. */
function writePlatformPackage(target: Target, binary: string): string {
  const name = `yoi-runtime-${target.name}`;
  const dir = join(npmDir, name);
  mkdirSync(join(dir, "bin"), { recursive: true });
  const installed = join(dir, "bin", `yoi-runtime${target.exe}`);
  copyFileSync(binary, installed);
  chmodSync(installed, 0o755);
  const platformManifest = {
    name,
    version,
    description: `The yoi-runtime executable for ${target.name}, installed by the yoi-runtime package.`,
    license: manifest.license,
    os: [target.os],
    cpu: [target.cpu],
    // Bun's Linux builds link glibc: on musl (Alpine) npm skips the package and the launcher says so.
    ...(target.os === "linux" ? { libc: ["glibc"] } : {}),
    files: ["bin"],
    // Yarn PnP must unpack it to disk to execute it.
    preferUnplugged: true,
  };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(platformManifest, null, 2)}\n`);
  writeFileSync(
    join(dir, "README.md"),
    `# ${name}\n\nThe \`yoi-runtime\` executable for ${target.name}; install \`yoi-runtime\` instead, which picks this package on ${target.name} and runs it through its launcher.\n`,
  );
  return dir;
}

/**
 * The main package: exactly what `npm pack` ships from this checkout (launcher, lib/, sources;
 * `prepack` builds lib/), with the platform packages as optional dependencies at the same version
 * and without what only the checkout needs (devDependencies, scripts).
 */
async function writeMainPackage(): Promise<string> {
  const dir = join(npmDir, "yoi-runtime");
  mkdirSync(dir, { recursive: true });
  const tarball = (await run(["npm", "pack", "--silent", "--pack-destination", npmDir], root)).trim().split("\n").pop()!;
  await run(["tar", "-xzf", join(npmDir, tarball), "--strip-components=1", "-C", dir], root);
  rmSync(join(npmDir, tarball));
  const { devDependencies: _dev, scripts: _scripts, ...published } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  published.optionalDependencies = Object.fromEntries(TARGETS.map((target) => [`yoi-runtime-${target.name}`, version]));
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(published, null, 2)}\n`);
  return dir;
}

const started = performance.now();
rmSync(releaseDir, { recursive: true, force: true });
mkdirSync(npmDir, { recursive: true });
console.log(`yoi-runtime ${version}: ${targets.map((t) => t.name).join(", ")} (Bun ${bunVersion})`);

// The downloads and the main package's library build (tsc) run while the binaries compile.
const executables = new Map(targets.map((target) => [target.name, bunExecutable(target)]));
const mainPackage = writeMainPackage();
const sums: string[] = [];
const packageDirs: string[] = [];
for (const target of targets) {
  const executablePath = await executables.get(target.name)!;
  const binary = join(releaseDir, `yoi-runtime-${target.name}${target.exe}`);
  const size = await compile({ outfile: binary, target: target.bunTarget, executablePath });
  sums.push(`${sha256(binary)}  yoi-runtime-${target.name}${target.exe}`);
  packageDirs.push(writePlatformPackage(target, binary));
  console.log(`  ${target.name}: ${mib(size)}`);
}
writeFileSync(join(releaseDir, "SHA256SUMS"), `${sums.join("\n")}\n`);
packageDirs.unshift(await mainPackage);

if (values.pack) {
  for (const dir of packageDirs) await run(["npm", "pack", "--silent", "--pack-destination", npmDir], dir);
  for (const file of readdirSync(npmDir).filter((name) => name.endsWith(".tgz")).sort()) {
    console.log(`  npm/${file}: ${mib(statSync(join(npmDir, file)).size)}`);
  }
}
console.log(`release written to ${releaseDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
