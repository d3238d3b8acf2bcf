import { errnoCode } from "../../shared/errors.ts";
import { writeFileAtomic } from "./atomic.ts";
import type { StorePaths } from "./paths.ts";
import { openDocument, sealDocument } from "./sealed-line.ts";

/**
 * `workers/<id>/unavailable.json`: a worker made unavailable by damage that the next open could
 * no longer see — acknowledged writes lost with a damaged journal record, once a checkpoint has
 * retired that journal file. Without it the worker would come back with a past state presented
 * as the present one. Written (sealed, atomically) by the open that found the damage; the worker
 * stays unavailable until it is deleted, which removes its directory and this file with it.
 */
export interface UnavailableMarker {
  reason: string;
  recorded_at: string;
}

/**
 * The reason a marker gives, or null when there is none; a damaged marker still marks.
 * `prefetched`: the file as read ahead (null: there is none; undefined: not read yet).
 */
export function readUnavailableMarker(paths: StorePaths, worker_id: string, prefetched?: string | Error | null): string | null {
  const file = paths.workerFile(worker_id, "unavailable.json");
  let text: string;
  if (prefetched === null) return null;
  try {
    if (prefetched instanceof Error) {
      if (errnoCode(prefetched) === "ENOENT") return null;
      throw prefetched;
    }
    text = prefetched ?? paths.fs.readFileSync(paths.abs(file), "utf8");
  } catch {
    return paths.fs.existsSync(paths.abs(file)) ? `${file} cannot be read; the worker was marked unavailable` : null;
  }
  const marker = openDocument(text, false) as Partial<UnavailableMarker> | undefined;
  return typeof marker?.reason === "string" ? marker.reason : `${file} is damaged; the worker was marked unavailable`;
}

export function writeUnavailableMarker(paths: StorePaths, worker_id: string, reason: string, durable: boolean): Promise<void> {
  const marker: UnavailableMarker = { reason, recorded_at: new Date().toISOString() };
  return writeFileAtomic(paths, paths.workerFile(worker_id, "unavailable.json"), sealDocument({ ...marker }), durable);
}
