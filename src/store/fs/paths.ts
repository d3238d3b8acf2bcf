import { join, resolve } from "node:path";
import { RuntimeError } from "../../core/errors.ts";
import { isValidId } from "../../core/ids.ts";
import { NODE_STORE_FS, type StoreFs } from "./store-fs.ts";

export type WorkerFile = "worker.json" | "state.json" | "runs.jsonl" | "transcript.jsonl" | "unavailable.json" | "work";

/** A file the journal may append to or remove, as parsed back from its root-relative path. */
export type JournalTarget =
  | { kind: "worker"; worker_id: string; file: "runs.jsonl" | "transcript.jsonl" }
  | { kind: "events"; first: number }
  | { kind: "diagnostics"; generation: number }
  | { kind: "idempotency"; generation: number };

const NUMBERED = /^(events|diagnostics|idempotency)\/([1-9][0-9]{0,15})\.jsonl$/;
const WORKER_LOG = /^workers\/([^/]+)\/(runs|transcript)\.jsonl$/;

/**
 * Every path the store touches is built here. Worker ids are checked before they become a path
 * segment, and the id charset (SPEC §2) has no separator and cannot spell `.` or `..`, so no
 * input can name anything outside the root. Paths are root-relative with `/` until `abs()`.
 */
export class StorePaths {
  readonly root: string;
  /** Format 1 stores wrote records without seals: only there is an unsealed line accepted (set on open). */
  unsealedAccepted = false;

  constructor(
    root: string,
    /** Every file-system call of the store goes through this (store-fs.ts). */
    readonly fs: StoreFs = NODE_STORE_FS,
  ) {
    this.root = resolve(root);
  }

  abs(relative: string): string {
    return join(this.root, relative);
  }

  workerDir(worker_id: string): string {
    if (!isValidId(worker_id)) throw new RuntimeError("invalid_worker_id", "worker_id is not a valid id; no path was built");
    return `workers/${worker_id}`;
  }

  workerFile(worker_id: string, file: WorkerFile): string {
    return `${this.workerDir(worker_id)}/${file}`;
  }

  segment(first: number): string {
    return `events/${checkNumber(first)}.jsonl`;
  }

  diagnostics(generation: number): string {
    return `diagnostics/${checkNumber(generation)}.jsonl`;
  }

  idempotency(generation: number): string {
    return `idempotency/${checkNumber(generation)}.jsonl`;
  }

  journal(number: number): string {
    return `wal/${checkNumber(number)}.jsonl`;
  }

  /** A unique name under `tmp/`, where partial writes live until renamed into place. */
  temporary(label: string): string {
    return `tmp/${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Parses a path read back from the journal; null for anything this store would not write. */
  parseTarget(relative: unknown): JournalTarget | null {
    if (typeof relative !== "string") return null;
    const numbered = NUMBERED.exec(relative);
    if (numbered) {
      const value = Number(numbered[2]);
      if (numbered[1] === "events") return { kind: "events", first: value };
      return numbered[1] === "diagnostics" ? { kind: "diagnostics", generation: value } : { kind: "idempotency", generation: value };
    }
    const worker = WORKER_LOG.exec(relative);
    if (worker && isValidId(worker[1])) {
      return { kind: "worker", worker_id: worker[1]!, file: worker[2] === "runs" ? "runs.jsonl" : "transcript.jsonl" };
    }
    return null;
  }
}

function checkNumber(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RuntimeError("internal", `not a file number: ${value}`);
  return value;
}

/** Parses `<n>.jsonl` file names (segments, journal files); anything else is null. */
export function numberedName(name: string): number | null {
  const match = /^([1-9][0-9]{0,15})\.jsonl$/.exec(name);
  return match ? Number(match[1]) : null;
}
