import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MemoryStore,
  Runtime,
  builtinBackends,
  type ProfileConfig,
  type Run,
  type RuntimeEvent,
  type RuntimeStore,
  type WorkerRef,
} from "../../src/index.ts";
export { sleep, until } from "../support/wait.ts";

/** A temporary directory for one test's scripts, marker and pid files. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), "yoi-exec-test-"));

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes an executable `#!/bin/sh` script and returns its path. */
  script(name: string, body: string): string {
    const file = this.path(name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  exists(name: string): boolean {
    return existsSync(this.path(name));
  }

  touch(name: string): void {
    writeFileSync(this.path(name), "");
  }

  /** Pids written one per line (or several files) by a script. */
  pids(...names: string[]): number[] {
    return names.flatMap((name) =>
      readFileSync(this.path(name), "utf8")
        .split(/\s+/)
        .filter((s) => s.length > 0)
        .map(Number),
    );
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether `pid` is a running process. A zombie has exited and runs nothing: it only waits for its
 * parent (init, for an orphaned grandchild) to collect its status, which some init processes do
 * only every few seconds. On Linux /proc tells the two apart.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code === "ESRCH") return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return existsSync("/proc/self") ? false : true;
  }
}

export async function openRuntime(
  profiles: Record<string, ProfileConfig>,
  options: { store?: RuntimeStore; default_profile?: string } = {},
): Promise<Runtime> {
  return Runtime.open({
    store: options.store ?? new MemoryStore(),
    backends: builtinBackends,
    profiles,
    default_profile: options.default_profile ?? Object.keys(profiles)[0],
  });
}

/** Live `run_output_delta` texts of one run, in the order the runtime published them. */
export class DeltaLog {
  readonly deltas: string[] = [];
  private readonly done: Promise<void>;

  constructor(runtime: Runtime, worker_id: string) {
    const subscription = runtime.subscribe({ worker_id });
    this.done = (async () => {
      for await (const event of subscription as AsyncIterable<RuntimeEvent>) {
        if (event.kind === "run_output_delta") this.deltas.push(String(event.data.delta));
        if (event.kind.startsWith("run_") && event.kind !== "run_output_delta" && event.kind !== "run_started") break;
      }
    })();
  }

  /** Resolves once the run's terminal event arrived. */
  finished(): Promise<void> {
    return this.done;
  }
}

export async function startRun(runtime: Runtime, content = "go", worker?: WorkerRef): Promise<{ worker_ref: WorkerRef; run_id: string }> {
  const worker_ref = worker ?? (await runtime.createWorker({})).worker_ref;
  const ack = await runtime.sendInput(worker_ref, { kind: "user", content });
  return { worker_ref, run_id: ack.run_id! };
}

export async function finish(runtime: Runtime, worker_ref: WorkerRef, run_id: string): Promise<Run> {
  const run = await runtime.waitRun(worker_ref, run_id, 60_000);
  if (run.status === "running") throw new Error(`run ${run_id} did not end`);
  return run;
}

export async function lastAssistant(runtime: Runtime, worker_ref: WorkerRef) {
  return (await runtime.transcript(worker_ref, { tail: 1 })).items[0];
}

/** Sets environment variables for the duration of `body`, then restores them. */
export async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(vars)) {
    saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
