import { expect } from "bun:test";
import { Type } from "@sinclair/typebox";
import {
  ERROR_CODES,
  MemoryStore,
  Runtime,
  RuntimeError,
  builtinBackends,
  type BackendDefinition,
  type ErrorCode,
  type ExecutionBackend,
  type RunContext,
  type RunOutput,
  type RuntimeOptions,
  type RuntimeStore,
  type StoreCommit,
} from "../../src/index.ts";
import { sleep } from "../support/wait.ts";
export { eventLoopIdle, sleep, until } from "../support/wait.ts";

/** Resolves once `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * A backend kind whose runs are scripted by the test: `script(context)` is the run body.
 * Lets a test hold a run open, observe the abort signal and record when the work really stopped.
 */
export function scriptedBackend(
  kind: string,
  script: (context: RunContext) => AsyncIterable<RunOutput>,
): BackendDefinition<Record<string, never>> {
  return {
    kind,
    settings: Type.Object({}, { additionalProperties: false }),
    create: (): ExecutionBackend => ({ run: script }),
  };
}

/** Records, per run, when its backend work ended; lets cancel tests assert ordering. */
export class Probe {
  readonly ended = new Set<string>();
  readonly started = new Set<string>();
}

/** Yields one delta, then holds the run until aborted, then takes a little time to clean up. */
export function holdingBackend(probe: Probe): BackendDefinition<Record<string, never>> {
  return scriptedBackend("hold", async function* ({ run_id, signal }) {
    probe.started.add(run_id);
    try {
      yield { type: "delta", text: "partial answer" };
      await aborted(signal);
      // Cleanup that outlives the abort itself: cancel must wait for it.
      await sleep(20);
    } finally {
      probe.ended.add(run_id);
    }
  });
}

export const failingBackend = scriptedBackend("fail", async function* () {
  yield { type: "delta", text: "half" };
  throw new Error("backend exploded");
});

export async function openRuntime(options: Partial<RuntimeOptions> & { probe?: Probe } = {}): Promise<Runtime> {
  const { probe = new Probe(), ...rest } = options;
  return Runtime.open({
    store: new MemoryStore(),
    backends: [...builtinBackends, holdingBackend(probe), failingBackend],
    profiles: {
      slow: { backend: "echo", delay_ms: 200 },
      hold: { backend: "hold" },
      fail: { backend: "fail" },
      web: { backend: "echo", capabilities: ["web", "files"] },
    },
    ...rest,
  });
}

/** Asserts that `action` fails with a RuntimeError of `code` (one of ERROR_CODES) and returns it. */
export async function expectCode(action: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<RuntimeError> {
  let caught: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof RuntimeError)) {
    throw new Error(`expected RuntimeError ${code}, got ${caught === undefined ? "success" : String(caught)}`);
  }
  expect(ERROR_CODES).toContain(caught.code);
  expect(caught.code).toBe(code);
  expect(typeof caught.message).toBe("string");
  expect(caught.message.length).toBeGreaterThan(0);
  return caught;
}

/**
 * A MemoryStore whose commits and reads take a random, small amount of time, as a disk store's do.
 * Commits still apply and resolve in call order (the store contract); reads see whatever was
 * committed when they run. Used to shake out races between the core's awaits.
 */
export class SlowStore extends MemoryStore {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly maxDelayMs = 2) {
    super();
  }

  private delay(): Promise<void> {
    const ms = Math.floor(Math.random() * (this.maxDelayMs + 1));
    return ms === 0 ? Promise.resolve() : sleep(ms);
  }

  override commit(commit: StoreCommit): Promise<void> {
    const applied = this.queue.then(async () => {
      await this.delay();
      await super.commit(commit);
    });
    this.queue = applied.catch(() => undefined);
    return applied;
  }

  override async readEvents(query: Parameters<RuntimeStore["readEvents"]>[0]) {
    await this.delay();
    const events = await super.readEvents(query);
    await this.delay();
    return events;
  }

  override async readTranscript(worker_id: string, start: number, limit: number) {
    await this.delay();
    return super.readTranscript(worker_id, start, limit);
  }

  override async getRun(worker_id: string, run_id: string) {
    await this.delay();
    return super.getRun(worker_id, run_id);
  }
}

/** A MemoryStore whose commits wait while the test holds the gate (commits still apply in order). */
export class GatedStore extends MemoryStore {
  private gate: Promise<void> = Promise.resolve();
  private unblock: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  /** Commits issued while held (they complete only after release()). */
  pending = 0;

  hold(): void {
    if (this.unblock) return;
    this.gate = new Promise((resolve) => (this.unblock = resolve));
  }

  release(): void {
    this.unblock?.();
    this.unblock = null;
  }

  override commit(commit: StoreCommit): Promise<void> {
    const gate = this.gate;
    this.pending++;
    const applied = this.queue.then(async () => {
      await gate;
      await super.commit(commit);
      this.pending--;
    });
    this.queue = applied.catch(() => undefined);
    return applied;
  }
}
