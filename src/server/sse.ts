import { RuntimeError } from "../core/errors.ts";
import type { RuntimeEvent } from "../core/schema/event.ts";
import { SubscriptionOverflowError, type EventSubscription } from "../core/subscription.ts";
import type { RuntimeLogger } from "../core/ports/logger.ts";

/** Response headers of the event stream (SPEC §6.2): no caching or buffering by proxies. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
});

const encoder = new TextEncoder();
const OPENED = encoder.encode(": connected\n\n");
const HEARTBEAT = encoder.encode(": heartbeat\n\n");

/**
 * One SSE frame per event. Stored events carry `id:` so a client resumes with `Last-Event-ID`;
 * ephemeral `run_output_delta` events (id null) carry none, which leaves the client's last id
 * untouched. Every runtime event is a default `message` event; its `kind` is in the JSON.
 */
export function eventFrame(event: RuntimeEvent): Uint8Array {
  // Every subscriber gets the same event object: it is encoded once, however many streams it goes to.
  let frame = frames.get(event);
  if (!frame) {
    const data = JSON.stringify(event);
    frame = encoder.encode(event.id === null ? `data: ${data}\n\n` : `id: ${event.id}\ndata: ${data}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}

const frames = new WeakMap<RuntimeEvent, Uint8Array>();

/** Events already queued behind the awaited one go out in the same chunk, up to this many. */
const BATCH_EVENTS = 64;

function framesOf(first: RuntimeEvent, rest: readonly RuntimeEvent[]): Uint8Array {
  if (rest.length === 0) return eventFrame(first);
  const parts = [eventFrame(first), ...rest.map(eventFrame)];
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Sent when the subscriber fell `queue_limit` events behind; the stream then ends. */
export function overflowFrame(lastEventId: number): Uint8Array {
  return encoder.encode(`event: overflow\ndata: ${JSON.stringify({ last_event_id: lastEventId })}\n\n`);
}

/** Sent when the stream fails after it started (e.g. its cursor was pruned during replay). */
export function streamErrorFrame(error: RuntimeError): Uint8Array {
  return encoder.encode(`event: stream_error\ndata: ${JSON.stringify({ error: error.toJSON() })}\n\n`);
}

/** Sent when the stream's signed token expires; the stream then ends (the client reconnects with a fresh token). */
export const TOKEN_EXPIRED_FRAME = encoder.encode("event: token_expired\ndata: {}\n\n");

export interface EventStreamOptions {
  heartbeat_ms: number;
  /** Epoch milliseconds at which the stream's credentials expire; omitted: never. */
  expires_at?: number;
  /** Which events this stream may carry (a token limited to some workers); omitted: all. */
  filter?: (event: RuntimeEvent) => boolean;
  /** Called once when the stream ends; `dropped` when it ended because the client fell behind. */
  onClose?: (dropped: boolean) => void;
  /** Client disconnect: frees the subscription at once even if no read is pending. */
  signal: AbortSignal;
  logger: RuntimeLogger;
}

/**
 * Streams a subscription as Server-Sent Events. Pull-based: the next event is taken from the
 * subscription only when the client has consumed the previous one, so a slow client makes the
 * subscription's bounded queue overflow (it then detaches itself from the runtime) instead of
 * growing a stream buffer.
 */
export function eventStreamResponse(subscription: EventSubscription, options: EventStreamOptions): Response {
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let expiry: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  let dropped = false;
  const filter = options.filter;
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;

  const finish = (closeStream: boolean) => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    options.onClose?.(dropped);
    options.signal.removeEventListener("abort", onAbort);
    subscription.close();
    if (closeStream && stream) {
      try {
        stream.close();
      } catch {
        // Already closed or errored by the consumer.
      }
    }
  };
  const onAbort = () => finish(true);

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream = controller;
      // A first chunk at once lets clients and proxies see the headers without waiting for an event.
      controller.enqueue(OPENED);
      heartbeat = setInterval(() => {
        // Only when the client keeps up: a backed-up stream needs no keep-alive.
        if (!finished && (controller.desiredSize ?? 0) > 0) controller.enqueue(HEARTBEAT);
      }, options.heartbeat_ms);
      (heartbeat as { unref?: () => void }).unref?.();
      if (options.expires_at !== undefined) {
        // setTimeout's delay is capped at 2^31-1 ms; a token never lives that long (max_token_lifetime_s).
        expiry = setTimeout(() => {
          if (finished) return;
          controller.enqueue(TOKEN_EXPIRED_FRAME);
          finish(true);
        }, Math.min(Math.max(0, options.expires_at - Date.now()), 2 ** 31 - 1));
        (expiry as { unref?: () => void }).unref?.();
      }
      if (options.signal.aborted) finish(true);
      else options.signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      // Loops only while every event taken is filtered out: a pull must enqueue something (or
      // end the stream), or the stream would not ask again.
      while (!finished) {
        let result: IteratorResult<RuntimeEvent>;
        try {
          result = await subscription.next();
        } catch (error) {
          if (finished) return;
          if (error instanceof SubscriptionOverflowError) {
            dropped = true;
            controller.enqueue(overflowFrame(error.last_event_id));
          } else {
            const failure =
              error instanceof RuntimeError ? error : new RuntimeError("internal", "the event stream failed");
            if (!(error instanceof RuntimeError)) options.logger.error("event stream failed", { error: String(error) });
            controller.enqueue(streamErrorFrame(failure));
          }
          finish(true);
          return;
        }
        if (finished) return;
        if (result.done) {
          finish(true);
          return;
        }
        const rest = subscription.takeQueued(BATCH_EVENTS - 1);
        if (filter === undefined) {
          controller.enqueue(framesOf(result.value, rest));
          return;
        }
        const allowed = [result.value, ...rest].filter(filter);
        if (allowed.length > 0) {
          controller.enqueue(framesOf(allowed[0]!, allowed.slice(1)));
          return;
        }
      }
    },
    cancel() {
      finish(false);
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
