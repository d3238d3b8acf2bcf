/**
 * The only module that knows which JavaScript runtime the process runs on (SPEC §1 layer 6).
 * Everything else uses these functions, or node:* modules that Bun and Deno both provide.
 */
import { readdirSync } from "node:fs";
import { listenBun } from "./bun.ts";
import { listenDeno } from "./deno.ts";
import type { FetchHandler, ListenOptions, Listener } from "./listener.ts";

export { ListenError, type FetchHandler, type ListenOptions, type Listener } from "./listener.ts";
export { environment } from "./environment.ts";
export { runProgram, ProgramNotFound, type ProgramResult } from "./run-program.ts";

export type RuntimeName = "bun" | "deno" | "node";

export function runtimeName(): RuntimeName {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return "bun";
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") return "deno";
  return "node";
}

/** Serves `fetch` on `hostname:port` (port 0: any free port). Throws `ListenError`. */
export function listen(fetch: FetchHandler, options: ListenOptions): Promise<Listener> {
  switch (runtimeName()) {
    case "bun":
      return listenBun(fetch, options);
    case "deno":
      return listenDeno(fetch, options);
    default:
      return Promise.reject(new Error("serving HTTP needs Bun or Deno (run `bun cli.ts` or `deno run -A cli.ts`)"));
  }
}

/** Command-line arguments after the program (and script) name, however the process was started. */
export function commandLineArgs(): string[] {
  return process.argv.slice(2);
}


export function workingDirectory(): string {
  return process.cwd();
}

/** Whether a stream is an interactive terminal (logs are pretty there, JSON elsewhere). */
export function isTerminal(stream: "stdin" | "stdout" | "stderr"): boolean {
  return Boolean(process[stream].isTTY);
}

export type ShutdownSignal = "SIGINT" | "SIGTERM";

/**
 * Calls `handler` on SIGINT/SIGTERM (each time, so a second signal can force the exit).
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(handler: (signal: ShutdownSignal) => void): () => void {
  const signals: ShutdownSignal[] = ["SIGINT", "SIGTERM"];
  const listeners = signals.map((signal) => {
    const listener = () => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

/**
 * Calls `handler` each time the process receives `signal` (instead of the default, which ends
 * the process). Returns a function that removes the handler.
 */
export function onSignal(signal: ShutdownSignal | "SIGHUP", handler: () => void): () => void {
  process.on(signal, handler);
  return () => {
    process.off(signal, handler);
  };
}

/**
 * Lines of standard input as they arrive, without their line ending (`\n` or `\r\n`); a last
 * line without one is yielded too. Ends at end of input. Reading pauses while the consumer
 * handles a line, so input piped in ahead waits its turn.
 */
export async function* stdinLines(): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array | string>) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}

/** All of standard input as bytes, once it ended. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

const guarded = new Set<"stdout" | "stderr">();

/**
 * Writes to stdout/stderr and resolves once the text (and everything written before it: write
 * callbacks run in order) is handed to the OS, so an exit right after loses nothing.
 */
export function write(stream: "stdout" | "stderr", text: string): Promise<void> {
  const target = process[stream];
  if (!guarded.has(stream)) {
    guarded.add(stream);
    // The reader went away (EPIPE, e.g. `| head`): nothing more can be written, which is not
    // this program's failure, and must not surface as an uncaught error.
    target.on("error", () => {});
  }
  return new Promise((resolve) => {
    try {
      target.write(text, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Ends the process with `code` once pending output (e.g. the last log lines) is flushed. */
export async function exit(code: number): Promise<never> {
  await Promise.all([write("stdout", ""), write("stderr", "")]);
  process.exit(code);
}

export interface ProcessStats {
  rss_bytes: number;
  /** Null where the platform does not tell (only Linux's /proc is read). */
  open_fds: number | null;
}

/** This process's resident memory and open file descriptors, for the metrics endpoint. */
export function processStats(): ProcessStats {
  let open_fds: number | null = null;
  try {
    open_fds = readdirSync("/proc/self/fd").length;
  } catch {
    // Not Linux, or /proc not mounted.
  }
  return { rss_bytes: process.memoryUsage.rss(), open_fds };
}
