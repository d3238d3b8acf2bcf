import { writeFileAtomic } from "./atomic.ts";
import type { StorePaths } from "./paths.ts";
import { openDocument, sealDocument } from "./sealed-line.ts";

/**
 * `events/checkpoint.json`: how much of each event segment is acknowledged, and the highest event
 * id handed out, as of the last checkpoint (which synced the segments first). Without it a
 * shortened segment would look like a torn tail, its acknowledged events would vanish silently and
 * their ids — runtime events belong to no worker whose state remembers them — would be handed out
 * again. Only bytes past these sizes are a torn tail.
 */
export interface EventsCheckpoint {
  /** Segment first id (as a string key) → acknowledged bytes. */
  segments: Record<string, number>;
  last_event_id: number;
}

export const EVENTS_CHECKPOINT = "events/checkpoint.json";

/** The record, null when there is none (a store from before it, or never checkpointed) or it is damaged (`problem`). */
export function readEventsCheckpoint(paths: StorePaths): { record: EventsCheckpoint | null; problem?: string } {
  let text: string;
  try {
    text = paths.fs.readFileSync(paths.abs(EVENTS_CHECKPOINT), "utf8");
  } catch {
    return { record: null };
  }
  const value = openDocument(text, false) as Partial<EventsCheckpoint> | undefined;
  const segments = value?.segments;
  if (
    !value ||
    !Number.isSafeInteger(value.last_event_id) ||
    typeof segments !== "object" ||
    segments === null ||
    !Object.values(segments).every((bytes) => Number.isSafeInteger(bytes) && bytes >= 0)
  ) {
    return { record: null, problem: `${EVENTS_CHECKPOINT} is damaged (it does not match its checksum)` };
  }
  return { record: { segments, last_event_id: value.last_event_id! } };
}

export function writeEventsCheckpoint(paths: StorePaths, record: EventsCheckpoint, durable: boolean): Promise<void> {
  return writeFileAtomic(paths, EVENTS_CHECKPOINT, sealDocument({ ...record }), durable);
}
