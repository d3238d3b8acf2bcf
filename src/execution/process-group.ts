import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { ChunkReader, type ByteReader } from "./chunk-reader.ts";
import { GroupLedger } from "./group-ledger.ts";
import { WebChunkReader } from "./web-chunk-reader.ts";
import { spawnLeaderNatively } from "../platform/spawn-leader.ts";
import { isLive, processIdsAsync, readProcStatAsync } from "../platform/proc-stat.ts";
import { errnoCode, messageOf } from "../shared/errors.ts";
import { sleep } from "../shared/sleep.ts";

export interface ExitStatus {
  /** The exit status, or null when a signal ended the process. */
  code: number | null;
  signal: string | null;
}

export interface GroupOptions {
  cwd: string;
  env: Record<string, string>;
  /**
   * Written to the child's stdin, which is then closed; null gives the child no stdin (/dev/null);
   * "pipe" keeps stdin open for a conversation (see `stdin`).
   */
  stdin: string | null | { pipe: true };
}

/** The program could not be started at all (not found, not executable, bad argument). */
export class SpawnError extends Error {
  constructor(
    readonly program: string,
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = "SpawnError";
  }
}

/** How long SIGKILLed processes get to disappear; past it they are stuck in the kernel and waiting cannot help. */
const KILL_WAIT_MS = 5_000;
const POLL_MIN_MS = 1;
const POLL_MAX_MS = 25;

/**
 * A child process started as the leader of its own process group (`detached`: setsid), so that
 * every process it starts — unless it deliberately leaves the group with setsid/setpgid — can be
 * signalled at once with `kill(-pgid)`, and its end can be observed.
 */
export class ProcessGroup {
  private terminating: Promise<void> | null = null;

  private constructor(
    readonly pid: number,
    readonly exited: Promise<ExitStatus>,
    /** Null when the platform's native spawn started it (see `run`): its pipes are not Node streams. */
    private readonly child: ChildProcess | null,
  ) {}

  /**
   * Starts `argv` (no shell) with `input` written to its stdin (null: no stdin) and readers of its
   * output, through the platform's native spawn where there is one (Bun), else as `start` does.
   * Throws SpawnError when the program cannot be started.
   */
  static async run(
    argv: readonly string[],
    options: { cwd: string; env: Record<string, string>; stdin: string | null },
  ): Promise<{ group: ProcessGroup; stdout: ByteReader; stderr: ByteReader }> {
    const native = spawnLeaderNatively(argv, options);
    if (native === null) {
      const group = await ProcessGroup.start(argv, options);
      return { group, stdout: new ChunkReader(group.stdout), stderr: new ChunkReader(group.stderr) };
    }
    const group = new ProcessGroup(native.pid, native.exited, null);
    ledger().note(native.pid);
    return { group, stdout: new WebChunkReader(native.stdout), stderr: new WebChunkReader(native.stderr) };
  }

  /** Starts `argv` (no shell). Throws SpawnError when the program cannot be started. */
  static async start(argv: readonly string[], options: GroupOptions): Promise<ProcessGroup> {
    const [program, ...args] = argv as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: [options.stdin === null ? "ignore" : "pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (error) {
      // Invalid arguments (e.g. a NUL byte in an argument) are refused synchronously.
      throw new SpawnError(program, errnoCode(error) ?? "unknown", `could not start ${JSON.stringify(program)}: ${messageOf(error)}`);
    }
    const failed = new Promise<unknown>((resolve) => child.once("error", resolve));
    // Later errors (a failed kill) must not crash the process as unhandled "error" events.
    child.on("error", () => {});
    if (child.pid === undefined) {
      const error = await failed;
      const errno = errnoCode(error) ?? "unknown";
      const reason =
        errno === "ENOENT"
          ? "no such file or directory"
          : errno === "EACCES"
            ? "permission denied (is it executable?)"
            : messageOf(error);
      throw new SpawnError(program, errno, `could not start ${JSON.stringify(program)}: ${reason}`);
    }
    const exited = new Promise<ExitStatus>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    const group = new ProcessGroup(child.pid, exited, child);
    ledger().note(child.pid);
    if (options.stdin !== null) {
      // A child that exits without reading its input closes the pipe: EPIPE is not a failure of the run.
      child.stdin!.on("error", () => {});
      if (typeof options.stdin === "string") child.stdin!.end(options.stdin);
    }
    return group;
  }

  /** The child's stdin, when it was started with `stdin: { pipe: true }`. */
  get stdin(): Writable {
    return this.nodeChild().stdin!;
  }

  get stdout(): Readable {
    return this.nodeChild().stdout!;
  }

  get stderr(): Readable {
    return this.nodeChild().stderr!;
  }

  private nodeChild(): ChildProcess {
    if (this.child === null) throw new Error("a group started by run() has no Node streams; use the readers run() returned");
    return this.child;
  }

  /**
   * Ends every process of the group: SIGTERM, then SIGKILL once `graceMs` passed, and resolves
   * when none of them runs any more. Idempotent: later calls share the first one's work.
   */
  terminate(graceMs: number): Promise<void> {
    this.terminating ??= (async () => {
      if (!signalGroup(this.pid, "SIGTERM") || (await waitGone(this.pid, graceMs))) {
        await ledger().forget(this.pid);
        return;
      }
      signalGroup(this.pid, "SIGKILL");
      // A group stuck in the kernel stays noted: the next runtime process tries again.
      if (await waitGone(this.pid, KILL_WAIT_MS)) await ledger().forget(this.pid);
    })();
    return this.terminating;
  }

  /**
   * Ends, in the background, the groups that runtime processes which died without ending them
   * left running on this host (see GroupLedger). Once per process.
   */
  static reapOrphans(graceMs: number): void {
    if (reaped) return;
    reaped = true;
    // Best effort: a failure leaves the notes for the next runtime process to try.
    ledger()
      .reap(signalGroup, graceMs)
      .catch(() => {});
  }
}

let sharedLedger: GroupLedger | null = null;
let reaped = false;

function ledger(): GroupLedger {
  return (sharedLedger ??= new GroupLedger());
}

/** Sends `signal` to every process of group `pgid`; false when the group has no process left. */
function signalGroup(pgid: number, signal: "SIGTERM" | "SIGKILL"): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errnoCode(error) === "ESRCH") return false;
    // EPERM: a member changed its credentials (setuid); it exists but cannot be signalled.
    return true;
  }
}

/** Polls until no process of the group runs; false if some still does after `ms`. */
async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let pause = POLL_MIN_MS;
  for (;;) {
    if (!(await groupRunning(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
    pause = Math.min(pause * 2, POLL_MAX_MS);
  }
}

/**
 * Whether some process of the group still runs. A member that exited but was not yet reaped (a
 * zombie: an orphaned grandchild waits for init, which may reap only now and then) runs nothing
 * and counts as gone; that is only visible in /proc (Linux). Elsewhere the group counts as
 * running until the kernel reports it empty.
 */
export async function groupRunning(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if (errnoCode(error) === "ESRCH") return false;
  }
  const pids = await processIdsAsync();
  if (pids === null || pids.length === 0) return true;
  for (const pid of pids) {
    const stat = await readProcStatAsync(pid);
    if (stat && stat.pgrp === pgid && isLive(stat)) return true;
  }
  // Every member left is a zombie, or the last ones vanished while /proc was read.
  return false;
}
