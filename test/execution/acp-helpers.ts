import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Run, Runtime, RuntimeEvent, WorkerRef } from "../../src/index.ts";
import { isRunning, until } from "./helpers.ts";

export const FAKE_AGENT = resolve(import.meta.dir, "fake-acp-agent.ts");

/** argv of the fake agent run by this process's own runtime (bun). */
export function fakeAgent(...flags: string[]): string[] {
  return [process.execPath, FAKE_AGENT, ...flags];
}

/** A prompt that scripts the fake agent (see fake-acp-agent.ts). */
export function script(...steps: Record<string, unknown>[]): string {
  return JSON.stringify(steps);
}

export interface LogLine {
  method: string;
  sessionId: string | null;
  pid: number;
  cwd?: string;
  mcpServers?: unknown[];
  clientCapabilities?: unknown;
  protocolVersion?: number;
  /** `_meta` of a session/prompt. */
  meta?: Record<string, unknown>;
}

/** What the fake agent received, in order (its --log file). */
export function agentLog(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LogLine);
}

/** Every event of one worker from now on, live (stored and ephemeral), until `stop()`. */
export class EventLog {
  readonly events: RuntimeEvent[] = [];
  private readonly subscription: ReturnType<Runtime["subscribe"]>;

  constructor(runtime: Runtime, worker_id: string) {
    const subscription = runtime.subscribe({ worker_id });
    this.subscription = subscription;
    void (async () => {
      for await (const event of subscription as AsyncIterable<RuntimeEvent>) this.events.push(event);
    })();
  }

  kinds(): string[] {
    return this.events.map((event) => event.kind);
  }

  of<K extends RuntimeEvent["kind"]>(kind: K): Extract<RuntimeEvent, { kind: K }>[] {
    return this.events.filter((event): event is Extract<RuntimeEvent, { kind: K }> => event.kind === kind);
  }

  async waitFor<K extends RuntimeEvent["kind"]>(kind: K, count = 1): Promise<Extract<RuntimeEvent, { kind: K }>[]> {
    await until(() => this.of(kind).length >= count, `${count} ${kind} event(s)`);
    return this.of(kind);
  }

  stop(): void {
    this.subscription.close();
  }
}

/** Sends user input and waits for the run to end. */
export async function turn(runtime: Runtime, worker: WorkerRef, content: string): Promise<Run> {
  const ack = await runtime.sendInput(worker, { kind: "user", content });
  const run = await runtime.waitRun(worker, ack.run_id!, 60_000);
  if (run.status === "running") throw new Error(`run ${run.run_id} did not end`);
  return run;
}

/** The last assistant entry's text. */
export async function lastReply(runtime: Runtime, worker: WorkerRef): Promise<string> {
  return (await runtime.transcript(worker, { tail: 1 })).items[0]!.content;
}

/** Waits until the run shows a pending permission request and returns the run. */
export async function pendingPermission(runtime: Runtime, worker: WorkerRef, run_id: string): Promise<Run> {
  let run: Run | null = null;
  await until(async () => {
    run = await runtime.getRun(worker, run_id);
    return Boolean(run.pending_permission);
  }, "a pending permission request");
  return run!;
}

/** Pids of running processes with `argument` on their command line (Linux /proc). */
export function processesWithArgument(argument: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.split("\0").includes(argument) && isRunning(Number(name))) found.push(Number(name));
  }
  return found;
}
