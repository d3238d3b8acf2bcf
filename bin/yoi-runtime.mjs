#!/usr/bin/env node
// The npm `bin` of yoi-runtime: plain JavaScript for Node >= 18 (also runs under Bun and Deno),
// so `npx yoi-runtime` needs nothing preinstalled. It runs the compiled binary from the platform
// package npm installed beside it (`yoi-runtime-<os>-<arch>`, an optional dependency whose
// `os`/`cpu` fields match only this machine) with the same arguments and stdio, passes signals on,
// and exits as the binary did. Without a platform package it runs `cli.ts` under Bun, if Bun is on
// PATH. Kept to node:* built-ins and one file: it is on the start-up path of every command.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Node's process.platform/arch → the platform package's name. Windows is `windows` in the name
// (as in the release binaries) and `win32` in the package's `os` field.
const PLATFORM_PACKAGES = {
  "linux-x64": "yoi-runtime-linux-x64",
  "linux-arm64": "yoi-runtime-linux-arm64",
  "darwin-x64": "yoi-runtime-darwin-x64",
  "darwin-arm64": "yoi-runtime-darwin-arm64",
  "win32-x64": "yoi-runtime-windows-x64",
};
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

const platform = `${process.platform}-${process.arch}`;
const platformPackage = PLATFORM_PACKAGES[platform];
const args = process.argv.slice(2);

/** The platform package's binary, or null when npm did not install one for this machine. */
function platformBinary() {
  if (!platformPackage) return null;
  const executable = process.platform === "win32" ? "yoi-runtime.exe" : "yoi-runtime";
  try {
    return createRequire(import.meta.url).resolve(`${platformPackage}/bin/${executable}`);
  } catch {
    return null;
  }
}

function bunFallback() {
  const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));
  // Under `bunx --bun` the launcher already runs on Bun: use that one rather than PATH's.
  const bun = process.versions.bun ? process.execPath : "bun";
  return { command: bun, args: [join(packageRoot, "cli.ts"), ...args] };
}

function missingBinaryMessage() {
  return platformPackage
    ? `yoi-runtime: the binary for ${platform} is not installed; install the package \`${platformPackage}\` (npm install ${platformPackage}), or Bun (https://bun.sh) to run it from source.`
    : `yoi-runtime: there is no prebuilt binary for ${platform}; install Bun (https://bun.sh) to run it from source.`;
}

/**
 * Starts `command` with our stdio: `{ kill(signal), exited }`, `exited` resolving to how it ended
 * (`{ code, signal }`) or rejecting when it could not start. Under Deno through Deno.Command:
 * Deno's node:child_process (2.9) reports a child that exited 0 after a SIGTERM as killed by it.
 */
function start(command, childArgs) {
  if (typeof Deno !== "undefined") {
    let child;
    try {
      child = new Deno.Command(command, { args: childArgs, stdin: "inherit", stdout: "inherit", stderr: "inherit" }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) error.code = "ENOENT";
      return { kill() {}, exited: Promise.reject(error) };
    }
    return {
      kill: (signal) => {
        try {
          child.kill(signal);
        } catch {} // already ended
      },
      exited: child.status.then(({ code, signal }) => ({ code: signal ? null : code, signal })),
    };
  }
  const child = spawn(command, childArgs, { stdio: "inherit" });
  const exited = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  return { kill: (signal) => child.kill(signal), exited };
}

/** Runs the child in the foreground: signals passed on, its exit status becomes ours. */
async function run({ command, args: childArgs }, onMissing) {
  const child = start(command, childArgs);
  // A terminal's Ctrl-C already reaches the child (same foreground process group): passing the
  // launcher's copy on too would make it a second SIGINT, which the runtime reads as "exit now".
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  const forward = (signal) => {
    if (signal === "SIGINT" && terminal) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  // `npx` runs bins through `sh -c`, and a SIGTERM to npx kills that shell without reaching us.
  // Reparented means whoever started us is gone: stop the child as if we had been told to.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphanWatch);
    child.kill("SIGTERM");
  }, 200);

  let ended;
  try {
    ended = await child.exited;
  } catch (error) {
    if (error.code === "ENOENT" && onMissing) onMissing();
    else console.error(`yoi-runtime: could not start ${command}: ${error.message}`);
    ended = { code: 1, signal: null };
  } finally {
    clearInterval(orphanWatch);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
  // End the way the child ended, so a caller sees the same signal (shells print it, `$?` is 128+n).
  if (ended.signal) process.kill(process.pid, ended.signal);
  else process.exitCode = ended.code ?? 1;
}

const binary = platformBinary();
if (binary) await run({ command: binary, args });
else await run(bunFallback(), () => console.error(missingBinaryMessage()));
