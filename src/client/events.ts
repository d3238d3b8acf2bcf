import type { RuntimeEvent } from "../core/schema/event.ts";
import { SseParser } from "../shared/sse-parser.ts";
import { sleep } from "../shared/sleep.ts";
import { connectionFailed, errorFromBody, errorFromResponse, RuntimeClientError } from "./errors.ts";
import type { Transport } from "./transport.ts";

export interface EventsOptions {
  /**
   * Replay stored events with a larger id, then follow live. Omitted: from now — the runtime's
   * `last_event_id` when the iteration starts (the first `next()`), so nothing published after
   * that is missed, even across reconnects.
   */
  after?: number;
  /** Only this worker's events. */
  worker_id?: string;
  /** Ends the iteration (without an error) and closes the connection. */
  signal?: AbortSignal;
  /** Called each time the runtime accepted a (re)connection, with the cursor it resumes after. */
  onOpen?: (info: { after: number }) => void;
  /**
   * Consecutive failed connection attempts (no answer, or a 5xx while the runtime restarts)
   * before the iteration fails with `connection_failed`; default 8 (about 20 s of back-off).
   */
  retries?: number;
  /**
   * Reconnects when the stream stayed silent this long; default 45000 (the runtime sends a
   * heartbeat every 15 s, so only a dead connection is that quiet).
   */
  idle_timeout_ms?: number;
}

const DEFAULT_RETRIES = 8;
const DEFAULT_IDLE_TIMEOUT_MS = 45_000;
const MAX_BACKOFF_MS = 5_000;

/** How a stream ended, when it did not fail for good. */
type Ending = "closed" | "overflow";

/**
 * Follows `GET /v1/events/stream` as an async iterator of events: stored events (with ids) and
 * ephemeral `run_output_delta` events (id null). When the connection drops, or the runtime
 * reports `event: overflow` (this consumer fell too far behind), it reconnects with
 * `Last-Event-ID` = the last stored id it yielded, so stored events arrive exactly once and in
 * order across reconnects (deltas published while disconnected are not replayed: they are never
 * stored). Throws `RuntimeClientError` for a refused stream (4xx, e.g. `cursor_expired`,
 * `unauthorized`), an `event: stream_error`, or a runtime unreachable for `retries` attempts.
 */
export async function* streamEvents(transport: Transport, options: EventsOptions = {}): AsyncGenerator<RuntimeEvent, void, undefined> {
  const { signal } = options;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const idleTimeout = options.idle_timeout_ms ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (signal?.aborted) return;
  let cursor = options.after ?? (await currentLastEventId(transport, signal));
  if (cursor === null) return;
  const query = options.worker_id === undefined ? "" : `?worker_id=${encodeURIComponent(options.worker_id)}`;
  const streamUrl = `${transport.url}/v1/events/stream${query}`;
  let failures = 0;

  while (!signal?.aborted) {
    const connection = new AbortController();
    const abort = () => connection.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const idle = idleWatch(idleTimeout, abort);
    /** Whether this connection proved alive (an event, or a heartbeat after the opening comment). */
    let alive = false;
    let chunks = 0;
    let ending: Ending | "refused" = "refused";
    try {
      const opened = await openStream(transport, streamUrl, cursor, connection.signal);
      if (signal?.aborted) return;
      if (opened instanceof RuntimeClientError) {
        // No answer, or 5xx (the runtime is closing or restarting): worth another try; 4xx is final.
        if ((opened.status !== null && opened.status < 500) || ++failures > retries) throw opened;
      } else {
        options.onOpen?.({ after: cursor });
        const reader = opened.getReader();
        const decoder = new TextDecoder();
        const parser = new SseParser();
        ending = "closed";
        read: for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch {
            // Reset, cut, or silent past the idle timeout: reconnect (unless the caller aborted).
            break;
          }
          if (chunk.done) break;
          idle.touch();
          if (++chunks > 1) alive = true;
          // A frame cut off by the disconnect stays in the parser, which is dropped with it.
          for (const frame of parser.feed(decoder.decode(chunk.value, { stream: true }))) {
            if (frame.event === "message") {
              const event = parseEvent(frame.data);
              if (event.id !== null) {
                if (event.id <= cursor) continue;
                cursor = event.id;
              }
              alive = true;
              yield event;
              if (signal?.aborted) return;
              // Time the consumer spent on the event is not silence of the stream.
              idle.touch();
            } else if (frame.event === "overflow") {
              ending = "overflow";
              break read;
            } else if (frame.event === "stream_error") {
              throw errorFromBody(200, parseJson(frame.data));
            }
          }
        }
      }
    } finally {
      idle.stop();
      signal?.removeEventListener("abort", abort);
      connection.abort();
    }
    if (signal?.aborted) return;
    if (alive) failures = 0;
    // A stream that ended before it proved alive counts as a failed attempt, so a runtime that
    // keeps accepting and dropping the connection does not make this spin.
    if (ending === "refused" || !alive) {
      if (ending !== "refused" && ++failures > retries) {
        throw new RuntimeClientError("connection_failed", `the event stream of ${transport.url} keeps closing`, null);
      }
      await sleep(backoffMs(failures), signal);
    }
  }
}

/** The stream's body, or why there is none (`status` null: no answer at all). */
async function openStream(
  transport: Transport,
  url: string,
  cursor: number,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array> | RuntimeClientError> {
  let response: Response;
  try {
    response = await transport.fetch(url, {
      headers: { ...transport.headers, accept: "text/event-stream", "last-event-id": String(cursor) },
      signal,
    });
  } catch (error) {
    return error instanceof RuntimeClientError ? error : connectionFailed(transport.url, error);
  }
  if (response.status === 200 && response.body) return response.body;
  return errorFromResponse(response);
}

/** The runtime's last event id (the cursor of "from now"), or null when aborted meanwhile. */
async function currentLastEventId(transport: Transport, signal: AbortSignal | undefined): Promise<number | null> {
  let response: Response;
  try {
    response = await transport.fetch(`${transport.url}/v1/runtime`, { headers: transport.headers, signal });
  } catch (error) {
    if (signal?.aborted) return null;
    throw error instanceof RuntimeClientError ? error : connectionFailed(transport.url, error);
  }
  if (response.status !== 200) throw await errorFromResponse(response);
  const body = (await response.json()) as { runtime?: { last_event_id?: unknown } };
  const id = body.runtime?.last_event_id;
  if (typeof id !== "number") throw new RuntimeClientError("unexpected_response", "GET /v1/runtime has no last_event_id", response.status);
  return id;
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new RuntimeClientError("unexpected_response", "the event stream sent a frame that is not JSON", 200);
  }
}

function parseEvent(data: string): RuntimeEvent {
  const event = parseJson(data) as RuntimeEvent;
  if (typeof event !== "object" || event === null || typeof event.kind !== "string" || !(event.id === null || typeof event.id === "number")) {
    throw new RuntimeClientError("unexpected_response", "the event stream sent a frame that is not an event", 200);
  }
  return event;
}

/** 0 before the first retry after a stream that ended, then 250 ms doubling up to 5 s. */
const backoffMs = (failures: number): number => (failures <= 0 ? 0 : Math.min(MAX_BACKOFF_MS, 250 * 2 ** (failures - 1)));

/** Calls `onIdle` once no `touch()` came for `timeoutMs`; one timer per connection, re-armed lazily. */
function idleWatch(timeoutMs: number, onIdle: () => void): { touch(): void; stop(): void } {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      const quiet = Date.now() - last;
      if (quiet >= timeoutMs) onIdle();
      else arm(timeoutMs - quiet);
    }, ms);
  };
  arm(timeoutMs);
  return {
    touch: () => {
      last = Date.now();
    },
    stop: () => clearTimeout(timer),
  };
}
