import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FileSink, Subprocess } from "bun";
export { until } from "../support/wait.ts";

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
  /** Kills the CLI (SIGKILL) if it is still running after this long: for commands expected to end at once. */
  killAfterMs?: number;
  /** What the CLI reads on stdin (nothing, by default). */
  input?: string | Uint8Array<ArrayBuffer>;
}

/** Runs the CLI to completion with `process.execPath` (bun), in a scratch directory by default. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const proc = Bun.spawn([...(options.command ?? [process.execPath, CLI]), ...args], {
    cwd: options.cwd ?? scratchDir(),
    env: childEnv(options.env ?? {}),
    stdin: options.input === undefined ? "ignore" : new Blob([options.input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => proc.kill("SIGKILL"), options.killAfterMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(killer);
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


/** A CLI process kept running (tail, chat, send --wait): its output so far, and its stdin when piped. */
export interface Live {
  proc: Subprocess<"pipe" | "ignore", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
  write(text: string | Uint8Array): void;
  endInput(): void;
  exited: Promise<RunResult>;
}

/** Starts the CLI with `args` and keeps reading its output (stdin piped when asked). */
export function spawnCli(args: string[], options: { stdin?: boolean; env?: Record<string, string | undefined> } = {}): Live {
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: scratchDir(),
    env: childEnv(options.env ?? {}),
    stdin: options.stdin ? "pipe" : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const pump = async (stream: ReadableStream<Uint8Array>, add: (text: string) => void) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) add(decoder.decode(chunk.value, { stream: true }));
  };
  const pumps = Promise.all([pump(proc.stdout, (text) => (out += text)), pump(proc.stderr, (text) => (err += text))]);
  const stdin = proc.stdin as FileSink | undefined;
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    write: (text) => {
      stdin!.write(text);
      stdin!.flush();
    },
    endInput: () => void stdin!.end(),
    exited: (async () => {
      const code = await proc.exited;
      await pumps;
      return { code, stdout: out, stderr: err };
    })(),
  };
}
