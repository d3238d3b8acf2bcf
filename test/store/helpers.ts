import { expect } from "bun:test";
import { Type } from "@sinclair/typebox";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ERROR_CODES,
  FsStore,
  MemoryStore,
  Runtime,
  RuntimeError,
  builtinBackends,
  type BackendDefinition,
  type ErrorCode,
  type ExecutionBackend,
  type FsStoreOptions,
  type RuntimeOptions,
  type RuntimeStore,
} from "../../src/index.ts";
export { sleep, until } from "../support/wait.ts";

const scratch: string[] = [];

/** A fresh directory under the system temp dir; removed by `cleanScratch`. */
export function scratchDir(label = "store"): string {
  const dir = mkdtempSync(join(tmpdir(), `yoi-${label}-`));
  scratch.push(dir);
  return dir;
}

export function cleanScratch(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs hold until aborted (cancel, stop, shutdown); lets a test keep a run active across a crash. */
export const holdBackend: BackendDefinition<Record<string, never>> = {
  kind: "hold",
  settings: Type.Object({}, { additionalProperties: false }),
  create: (): ExecutionBackend => ({
    async *run({ signal }) {
      yield { type: "delta", text: "partial" };
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },
  }),
};

export const BACKENDS = [...builtinBackends, holdBackend];
export const PROFILES = { hold: { backend: "hold" } };

export function runtimeOptions(store: RuntimeStore, extra: Partial<RuntimeOptions> = {}): RuntimeOptions {
  return { store, backends: BACKENDS, profiles: PROFILES, ...extra };
}

/**
 * A store under test and how to get at its data again: `reopen` after a clean close (a restart),
 * `crash` while a runtime still runs (what a killed process leaves behind).
 */
export interface StoreHarness {
  readonly name: string;
  open(extra?: Partial<RuntimeOptions>): Promise<Runtime>;
  /** Opens a new runtime over the data of `running`, which is abandoned as if its process died. */
  crash(running: Runtime, extra?: Partial<RuntimeOptions>): Promise<Runtime>;
  cleanup(): Promise<void>;
}

export function memoryHarness(): StoreHarness {
  const store = new MemoryStore();
  return {
    name: "MemoryStore",
    open: (extra) => Runtime.open(runtimeOptions(store, extra)),
    // The abandoned runtime's held runs never end on their own, so they write nothing more.
    crash: (_running, extra) => Runtime.open(runtimeOptions(store, extra)),
    cleanup: async () => {},
  };
}

export function fsHarness(options: Partial<FsStoreOptions> = {}): StoreHarness & { root(): string } {
  let root = scratchDir("fs");
  const abandoned: Runtime[] = [];
  return {
    name: `FsStore${options.durability === "none" ? " (durability none)" : ""}`,
    root: () => root,
    open: (extra) => Runtime.open(runtimeOptions(new FsStore({ ...options, root }), extra)),
    async crash(running, extra) {
      // The files as they are now are what the disk holds when the process dies: copy them, and
      // let the copy's LOCK (our pid, not held for the copy) be taken over as a stale lock.
      const copy = scratchDir("fs-crash");
      rmSync(copy, { recursive: true });
      cpSync(root, copy, { recursive: true });
      abandoned.push(running);
      root = copy;
      return Runtime.open(runtimeOptions(new FsStore({ ...options, root }), extra));
    },
    async cleanup() {
      for (const runtime of abandoned.splice(0)) await runtime.close().catch(() => undefined);
    },
  };
}

/** Asserts that `action` fails with a RuntimeError of `code` and returns it. */
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
  expect(caught.message.length).toBeGreaterThan(0);
  return caught;
}

/** Sends user input and waits for its run to end; returns the ack. */
export async function converse(runtime: Runtime, worker_id: string, content: string) {
  const ack = await runtime.sendInput(worker_id, { kind: "user", content });
  const run = await runtime.waitRun(worker_id, ack.run_id!, 20_000);
  expect(run.status).toBe("completed");
  return ack;
}

/** Every file under `root`, relative, sorted. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out.push(`${relative}/`);
        walk(join(dir, entry.name), relative);
      } else out.push(relative);
    }
  };
  walk(root, "");
  return out.sort();
}

/**
 * Parses every JSON and JSONL file of a store; throws naming the first that does not parse.
 * Returns the parsed lines per JSONL file.
 */
export function parseAll(root: string): Map<string, unknown[]> {
  const parsed = new Map<string, unknown[]>();
  for (const file of listFiles(root)) {
    const path = join(root, file);
    if (file.endsWith(".json")) {
      try {
        parsed.set(file, [JSON.parse(readFileSync(path, "utf8"))]);
      } catch (error) {
        throw new Error(`${file} does not parse: ${String(error)}`);
      }
    } else if (file.endsWith(".jsonl")) {
      const text = readFileSync(path, "utf8");
      if (text.length > 0 && !text.endsWith("\n")) throw new Error(`${file} ends with a partial line`);
      const lines = text.split("\n").slice(0, -1);
      parsed.set(
        file,
        lines.map((line, index) => {
          try {
            return JSON.parse(line);
          } catch (error) {
            throw new Error(`${file} line ${index + 1} does not parse: ${String(error)}`);
          }
        }),
      );
    }
  }
  return parsed;
}

export const fileSize = (path: string): number => statSync(path).size;
