/**
 * Starting a program as the leader of its own process group (setsid) with its input written to
 * stdin, through the runtime's native spawn where it has one. On Bun, `Bun.spawn` costs about a
 * third of `node:child_process` per program (issue 16): no Node stream objects, no event emitter,
 * the input written and the pipes read by Bun itself.
 */
export interface LeaderProcess {
  pid: number;
  /** Resolves once the leader exited and was reaped: its code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
}

export interface LeaderOptions {
  cwd: string;
  env: Record<string, string>;
  /** Written to stdin, which is then closed; null: no stdin (/dev/null). */
  stdin: string | null;
}

/**
 * Starts `argv` natively, or returns null: when the runtime has no native spawn here (Deno, Node),
 * or when the start failed. The caller then starts it through `node:child_process`, which also
 * names the failure (ENOENT, EACCES…) the way every runtime reports it; a failed start has no
 * side effect, so trying again is safe.
 */
export function spawnLeaderNatively(argv: readonly string[], options: LeaderOptions): LeaderProcess | null {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return null;
  let child: Bun.Subprocess<Uint8Array<ArrayBuffer> | "ignore", "pipe", "pipe">;
  try {
    child = Bun.spawn(argv as string[], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdin: options.stdin === null ? "ignore" : new TextEncoder().encode(options.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch {
    return null;
  }
  return {
    pid: child.pid,
    exited: child.exited.then(() => {
      const signal = child.signalCode;
      return signal === null ? { code: child.exitCode, signal: null } : { code: null, signal: String(signal) };
    }),
    stdout: child.stdout,
    stderr: child.stderr,
  };
}
