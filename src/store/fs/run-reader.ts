import type { FileHandle } from "node:fs/promises";
import { RuntimeError } from "../../core/errors.ts";
import type { Run } from "../../core/schema/run.ts";
import { completeLines, NEWLINE, readAt, withWaiting, type ReadSource, type Waiting } from "./lines.ts";
import { errnoCode } from "../../shared/errors.ts";
import { parseSealed } from "./sealed-line.ts";
import type { StoreFs } from "./store-fs.ts";

const CHUNK = 64 * 1024;

async function withFile<T>(fs: StoreFs, file: string, waiting: Waiting | null, fallback: T, use: (source: ReadSource) => Promise<T>): Promise<T> {
  let handle: FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return fallback;
    throw error;
  }
  try {
    return await use(withWaiting(handle, waiting));
  } finally {
    await handle.close();
  }
}

function parseRun(text: string, path: string, offset: number, unsealed: boolean): Run {
  const run = parseSealed(text, unsealed) as Run | undefined;
  if (!run || typeof run.run_id !== "string") {
    throw new RuntimeError("store_corrupt", `${path} is damaged at byte ${offset}: it does not hold a run record`, { file: path, offset });
  }
  return run;
}

/** Every run of runs.jsonl (first `bytes`), in creation order, latest record per run. */
export function readRuns(fs: StoreFs, file: string, path: string, bytes: number, unsealed: boolean, waiting: Waiting | null = null): Promise<Run[]> {
  return withFile(fs, file, waiting, [], async (handle) => {
    const buffer = await readAt(handle, 0, bytes);
    const runs = new Map<string, Run>();
    for (const [start, end] of completeLines(buffer).lines) {
      const run = parseRun(buffer.toString("utf8", start, end), path, start, unsealed);
      runs.set(run.run_id, run);
    }
    return [...runs.values()];
  });
}

/**
 * The latest record of one run, reading runs.jsonl backwards from `bytes`: the last record of a
 * run is the one that counts, and recent runs — the ones asked about — are near the end.
 */
export function findRun(
  fs: StoreFs,
  file: string,
  path: string,
  bytes: number,
  run_id: string,
  unsealed: boolean,
  waiting: Waiting | null = null,
): Promise<Run | undefined> {
  const needle = Buffer.from(`"run_id":${JSON.stringify(run_id)}`);
  return withFile(fs, file, waiting, undefined, async (handle) => {
    let position = bytes;
    // Bytes after `position` that belong to a line whose start has not been read yet.
    let carry: Buffer = Buffer.alloc(0);
    while (position > 0) {
      const from = Math.max(0, position - CHUNK);
      const chunk = await readAt(handle, from, position - from);
      position = from;
      const buffer = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
      // `buffer` ends with a line's newline; walk its lines from the last.
      let end = buffer.length - 1;
      for (;;) {
        const previous = end > 0 ? buffer.lastIndexOf(NEWLINE, end - 1) : -1;
        if (previous < 0 && position > 0) {
          carry = buffer.subarray(0, end + 1);
          break;
        }
        const line = buffer.subarray(previous + 1, end);
        if (line.indexOf(needle) >= 0) {
          const run = parseRun(line.toString("utf8"), path, position + previous + 1, unsealed);
          if (run.run_id === run_id) return run;
        }
        if (previous < 0) return undefined;
        end = previous;
      }
    }
    return undefined;
  });
}
