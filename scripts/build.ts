/**
 * `bun run build` → dist/yoi-runtime: one executable with Bun and every dependency inside, which
 * runs on a machine with nothing installed (SPEC §12).
 *
 *   bun scripts/build.ts [--target bun-linux-arm64] [--outfile dist/name]
 *
 * Never `--minify` (it renames Elysia's and TypeBox's internals that are looked up by name).
 * `--bytecode` precompiles the modules so start-up skips parsing; it needs `--format=esm`
 * because cli.ts uses top-level await. `--splitting` keeps each dynamic `import()` (every command
 * of src/cli/root.ts, the ACP SDK, …) a chunk of its own inside the executable, loaded when first
 * imported: without it the bundle is one module whose every `node:` import (tty, readline, zlib,
 * crypto, net, stream…) loads at start, whatever the command. `--version` and the client commands
 * start in a third of the time, `serve` ~15% faster (issue 16). `compile()` is also what `bun run release` builds with.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");

export interface CompileOptions {
  /** Absolute path of the executable to write. */
  outfile: string;
  /** `bun-<os>-<arch>`; the build machine's platform when absent. */
  target?: string;
  /** The Bun executable of the target to embed (`--compile-executable-path`), instead of downloading it. */
  executablePath?: string;
  /** The entry point; cli.ts when absent (the benchmarks compile their floor the same way). */
  entry?: string;
}

/** Compiles cli.ts (or `entry`) into one executable; rejects when `bun build` fails. Answers its size in bytes. */
export async function compile(options: CompileOptions): Promise<number> {
  mkdirSync(dirname(options.outfile), { recursive: true });
  const command = [
    process.execPath,
    "build",
    "--compile",
    "--bytecode",
    "--format=esm",
    "--splitting",
    ...(options.target ? [`--target=${options.target}`] : []),
    ...(options.executablePath ? ["--compile-executable-path", options.executablePath] : []),
    options.entry ?? resolve(root, "cli.ts"),
    "--outfile",
    options.outfile,
  ];
  const build = Bun.spawn(command, { cwd: root, stdout: "inherit", stderr: "inherit" });
  const exitCode = await build.exited;
  if (exitCode !== 0) throw new Error(`build failed (exit ${exitCode}): ${command.join(" ")}`);
  return statSync(options.outfile).size;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { target: { type: "string" }, outfile: { type: "string", default: "dist/yoi-runtime" } },
    strict: true,
  });
  const outfile = resolve(root, values.outfile!);
  const started = performance.now();
  try {
    const size = await compile({ outfile, ...(values.target ? { target: values.target } : {}) });
    console.log(`built ${outfile} (${(size / 1024 / 1024).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
