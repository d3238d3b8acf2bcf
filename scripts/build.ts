/**
 * `bun run build` → dist/yoi-runtime: one executable with Bun and every dependency inside, which
 * runs on a machine with nothing installed (SPEC §12).
 *
 *   bun scripts/build.ts [--target bun-linux-arm64] [--outfile dist/name]
 *
 * Never `--minify` (it renames Elysia's and TypeBox's internals that are looked up by name).
 * `--bytecode` precompiles the modules so start-up skips parsing; it needs `--format=esm`
 * because cli.ts uses top-level await.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { target: { type: "string" }, outfile: { type: "string", default: "dist/yoi-runtime" } },
  strict: true,
});
const outfile = resolve(root, values.outfile!);
mkdirSync(dirname(outfile), { recursive: true });

const command = [
  process.execPath,
  "build",
  "--compile",
  "--bytecode",
  "--format=esm",
  ...(values.target ? [`--target=${values.target}`] : []),
  resolve(root, "cli.ts"),
  "--outfile",
  outfile,
];
const started = performance.now();
const build = Bun.spawnSync(command, { cwd: root, stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) {
  console.error(`build failed (exit ${build.exitCode}): ${command.join(" ")}`);
  process.exit(build.exitCode ?? 1);
}
const mb = (statSync(outfile).size / 1024 / 1024).toFixed(1);
console.log(`built ${outfile} (${mb} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
