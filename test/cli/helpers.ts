import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const CLI = resolve(import.meta.dir, "../../cli.ts");
export const REPO = resolve(import.meta.dir, "../..");

/** The environment a spawned CLI gets: no inherited config or token, logs as JSON. */
function childEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("YOI_")) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Another program instead of `bun cli.ts` (e.g. deno), given as its argv prefix. */
  command?: string[];
}

/** Runs the CLI to completion with `process.execPath` (bun), in a scratch directory by default. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn([...(options.command ?? [process.execPath, CLI]), ...args], {
    cwd: options.cwd ?? scratchDir(),
    env: childEnv(options.env ?? {}),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const scratchDirs: string[] = [];

/** An empty working directory, so no `.yoi/runtime.toml` of the repo applies. Removed by `cleanScratch`. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "yoi-cli-"));
  scratchDirs.push(dir);
  return dir;
}

export function cleanScratch(): void {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface Server {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every log line so far (stderr), parsed as JSON where it is. */
  lines(): string[];
  /** Sends `signal` and resolves with the exit status and all output. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/**
 * Starts `serve` (on 127.0.0.1:0 unless `--bind` is given) and waits for the line that logs the
 * bound address. Fails with the process output if it exits first.
 */
export async function startServer(args: string[], options: RunOptions = {}): Promise<Server> {
  const bind = args.includes("--bind") ? [] : ["--bind", "127.0.0.1:0"];
  const proc = Bun.spawn([...(options.command ?? [process.execPath, CLI]), ...args, ...bind], {
    cwd: options.cwd ?? scratchDir(),
    env: childEnv({ ...options.env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let stderr = "";
  const stdoutText = new Response(proc.stdout).text();
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/[^\s"]+)/.exec(stderr);
      if (match) {
        clearInterval(timer);
        resolvePromise(match[1]!);
      }
    }, 20);
    void proc.exited.then(async (code) => {
      await pump;
      const match = /listening on (http:\/\/[^\s"]+)/.exec(stderr);
      clearInterval(timer);
      if (match) resolvePromise(match[1]!);
      else reject(new Error(`serve exited ${code} before listening:\n${stderr}\n${await stdoutText}`));
    });
  });
  return {
    url,
    proc,
    lines: () => stderr.split("\n").filter((line) => line.length > 0),
    async stop(signal = "SIGTERM") {
      proc.kill(signal);
      const code = await proc.exited;
      await pump;
      return { code, stdout: await stdoutText, stderr };
    },
  };
}

/** JSON log lines of a server, parsed. */
export function jsonLines(lines: string[]): Record<string, any>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, any>);
}
