/**
 * bin/yoi-runtime.mjs, the npm `bin`, run under plain Node from an install tree laid out as npm
 * lays it out (node_modules/yoi-runtime beside node_modules/yoi-runtime-<os>-<arch>). The platform
 * "binary" here is a small Node script that reports what it received, so each test can see the
 * argv, stdio, signals and exit status the launcher passes on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { until } from "../core/helpers.ts";

const LAUNCHER = resolve(import.meta.dir, "../../bin/yoi-runtime.mjs");
const NODE = Bun.which("node");
const PLATFORM_PACKAGES: Record<string, string> = { "linux-x64": "yoi-runtime-linux-x64", "linux-arm64": "yoi-runtime-linux-arm64", "darwin-x64": "yoi-runtime-darwin-x64", "darwin-arm64": "yoi-runtime-darwin-arm64" };
const PLATFORM_PACKAGE = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];

// Reports its argv and stdin, then acts on its first argument.
const FAKE_BINARY = `#!/usr/bin/env node
const [mode, value] = process.argv.slice(2);
console.log("ARGS " + JSON.stringify(process.argv.slice(2)));
if (mode === "exit") process.exit(Number(value));
if (mode === "stdin") process.stdin.on("data", (chunk) => process.stdout.write("STDIN " + chunk));
if (mode === "wait") {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => { console.log("GOT " + signal); process.exit(0); });
  setInterval(() => {}, 1000);
  console.log("READY");
}
if (mode === "die") process.kill(process.pid, "SIGTERM");
`;

let root: string;

/** An install tree: node_modules/yoi-runtime (launcher + cli.ts) and, optionally, the platform package. */
function installTree(withPlatformPackage: boolean): string {
  const project = mkdtempSync(join(root, "project-"));
  const main = join(project, "node_modules/yoi-runtime");
  mkdirSync(join(main, "bin"), { recursive: true });
  copyFileSync(LAUNCHER, join(main, "bin/yoi-runtime.mjs"));
  writeFileSync(join(main, "package.json"), JSON.stringify({ name: "yoi-runtime", type: "module" }));
  // What the Bun fallback runs: the package's own cli.ts.
  writeFileSync(join(main, "cli.ts"), `const who: string = "cli.ts under Bun";\nconsole.log(who, JSON.stringify(process.argv.slice(2)));\n`);
  if (withPlatformPackage && PLATFORM_PACKAGE) {
    const platform = join(project, "node_modules", PLATFORM_PACKAGE);
    mkdirSync(join(platform, "bin"), { recursive: true });
    writeFileSync(join(platform, "package.json"), JSON.stringify({ name: PLATFORM_PACKAGE, version: "0.0.0" }));
    writeFileSync(join(platform, "bin/yoi-runtime"), FAKE_BINARY);
    chmodSync(join(platform, "bin/yoi-runtime"), 0o755);
  }
  return join(main, "bin/yoi-runtime.mjs");
}

/** A PATH holding only the given programs (symlinked into a directory of their own). */
function pathWith(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(root, "path-"));
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, join(dir, name));
  return dir;
}

function launch(launcher: string, args: string[], path: string, stdin: "ignore" | "pipe" = "ignore"): Subprocess<"ignore" | "pipe", "pipe", "pipe"> {
  return Bun.spawn([NODE!, launcher, ...args], { env: { PATH: path, HOME: root }, stdin, stdout: "pipe", stderr: "pipe" });
}

async function finish(proc: Subprocess<"ignore" | "pipe", "pipe", "pipe">) {
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code, signal: proc.signalCode };
}

/** Collects a running process's stdout as it arrives. */
function collect(proc: Subprocess<"ignore" | "pipe", "pipe", "pipe">): { text: string } {
  const out = { text: "" };
  void (async () => {
    const reader = proc.stdout.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out.text += decoder.decode(value, { stream: true });
    }
  })();
  return out;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "yoi-launcher-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!NODE || !PLATFORM_PACKAGE)("launcher with the platform package", () => {
  const nodeOnly = () => pathWith({ node: NODE! });

  test("passes argv through unchanged and exits with the binary's code", async () => {
    const launcher = installTree(true);
    const args = ["exit", "7", "two words", "--flag=a'b\"c", "ünïcode", ""];
    const result = await finish(launch(launcher, args, nodeOnly()));
    expect(result.stdout).toBe(`ARGS ${JSON.stringify(args)}\n`);
    expect(result.code).toBe(7);
    expect(result.stderr).toBe("");
  });

  test("the binary reads the launcher's stdin", async () => {
    const proc = launch(installTree(true), ["stdin"], nodeOnly(), "pipe");
    proc.stdin!.write("hello\n");
    await proc.stdin!.end();
    const result = await finish(proc);
    expect(result.stdout).toContain("STDIN hello\n");
    expect(result.code).toBe(0);
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    test(`${signal} sent to the launcher reaches the binary; the launcher exits with its code`, async () => {
      const proc = launch(installTree(true), ["wait"], nodeOnly());
      const out = collect(proc);
      await until(() => out.text.includes("READY"), "the fake binary to start");
      proc.kill(signal);
      const code = await proc.exited;
      await until(() => out.text.includes(`GOT ${signal}`), `the binary to report ${signal}`);
      expect(code).toBe(0);
      expect(proc.signalCode).toBeNull();
    });
  }

  test("a binary killed by a signal makes the launcher end by the same signal", async () => {
    const result = await finish(launch(installTree(true), ["die"], nodeOnly()));
    expect(result.signal).toBe("SIGTERM");
  });
});

describe.skipIf(!NODE)("launcher without the platform package", () => {
  test("falls back to Bun on PATH running the package's cli.ts", async () => {
    const launcher = installTree(false);
    const result = await finish(launch(launcher, ["--version", "x y"], pathWith({ node: NODE!, bun: process.execPath })));
    expect(result.stdout).toBe(`cli.ts under Bun ${JSON.stringify(["--version", "x y"])}\n`);
    expect(result.code).toBe(0);
  });

  test("without Bun either, says in one sentence which package to install and exits 1", async () => {
    const result = await finish(launch(installTree(false), ["--version"], pathWith({ node: NODE! })));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    if (PLATFORM_PACKAGE) expect(lines[0]).toContain(`install the package \`${PLATFORM_PACKAGE}\``);
    expect(lines[0]).toContain("https://bun.sh");
  });
});

// The package's real launcher is what npm links as the bin.
test("package.json's bin is the launcher", async () => {
  const manifest = await Bun.file(resolve(dirname(LAUNCHER), "../package.json")).json();
  expect(manifest.bin).toEqual({ "yoi-runtime": "bin/yoi-runtime.mjs" });
});

describe.skipIf(!NODE || !PLATFORM_PACKAGE || process.platform === "win32")("launcher whose parent dies", () => {
  // As under `npx`, whose `sh -c` dies of a SIGTERM that never reaches the launcher.
  test("stops the binary with SIGTERM instead of leaving it running", async () => {
    const launcher = installTree(true);
    const shell = Bun.spawn(["/bin/sh", "-c", `"${NODE}" "${launcher}" wait; echo shell-done`], { env: { PATH: pathWith({ node: NODE! }), HOME: root }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const out = collect(shell);
    await until(() => out.text.includes("READY"), "the fake binary to start");
    shell.kill("SIGKILL");
    await shell.exited;
    // The binary still holds the pipe: what it prints after the shell died arrives here.
    await until(() => out.text.includes("GOT SIGTERM"), "the binary to get SIGTERM after its launcher was orphaned");
    expect(out.text).not.toContain("shell-done");
  });
});
