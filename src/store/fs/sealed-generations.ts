import type { TSchema } from "@sinclair/typebox";
import { firstError } from "../../core/validate.ts";
import { completeLines, readAtSync } from "./lines.ts";
import { numberedName, type StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { parseSealed } from "./sealed-line.ts";

/** One generation file of sealed JSON lines as read on open. */
export interface SealedGeneration<T> {
  number: number;
  path: string;
  /** Its size once a torn last line is cut. */
  bytes: number;
  records: T[];
  /** Byte offsets of lines in the middle that fail their seal or schema: still on disk, never served. */
  damaged: number[];
}

/**
 * Reads every `<dir>/<n>.jsonl` generation, oldest first (diagnostics, idempotency keys). A torn
 * last line is cut and reported as a repair; what a damaged line in the middle means is the
 * caller's to say, so only its offset is returned.
 */
export function readSealedGenerations<T>(
  paths: StorePaths,
  dir: string,
  pathOf: (number: number) => string,
  schema: TSchema,
  repairs: Repairs,
): Array<SealedGeneration<T>> {
  const numbers = paths.fs.readdirSync(paths.abs(dir))
    .map((name) => numberedName(name))
    .filter((n): n is number => n !== null)
    .sort((a, b) => a - b);
  return numbers.map((number) => readGeneration<T>(paths, number, pathOf(number), schema, repairs));
}

function readGeneration<T>(paths: StorePaths, number: number, path: string, schema: TSchema, repairs: Repairs): SealedGeneration<T> {
  const fd = paths.fs.openSync(paths.abs(path), "r+");
  try {
    const size = paths.fs.fstatSync(fd).size;
    const buffer = readAtSync(paths.fs, fd, 0, size);
    const { lines, rest } = completeLines(buffer);
    const generation: SealedGeneration<T> = { number, path, bytes: size, records: [], damaged: [] };
    for (let i = 0; i < lines.length; i++) {
      const [start, end] = lines[i]!;
      const value = parseSealed(buffer.toString("utf8", start, end), paths.unsealedAccepted);
      if (firstError(schema, value) === null) generation.records.push(value as T);
      else if (i === lines.length - 1 && rest === size) generation.bytes = start;
      else generation.damaged.push(start);
    }
    if (rest < size) generation.bytes = Math.min(generation.bytes, rest);
    if (generation.bytes < size) {
      paths.fs.ftruncateSync(fd, generation.bytes);
      repairs.repaired(path, `the last line was torn; cut ${size - generation.bytes} bytes at byte ${generation.bytes}`);
    }
    return generation;
  } finally {
    paths.fs.closeSync(fd);
  }
}
