import { MemoryStore, Runtime, builtinBackends, type Limits } from "../../src/index.ts";
import { createApp, type App, type CreateAppOptions } from "../../src/server/index.ts";
import { RuntimeClientError, type RuntimeEvent } from "../../src/client/index.ts";
export { until } from "../support/wait.ts";

export interface InProcess {
  runtime: Runtime;
  app: App;
  /** `fetch` for `createClient` that hands requests to the app without a network (exact back-pressure). */
  fetch: (input: string, init: RequestInit) => Promise<Response>;
  close(): Promise<void>;
}

/** A runtime with a memory store and its app, in this process. */
export async function inProcess(options: CreateAppOptions = {}, limits: Partial<Limits> = {}): Promise<InProcess> {
  const runtime = await Runtime.open({
    store: new MemoryStore(),
    backends: builtinBackends,
    profiles: { stuck: { backend: "echo", delay_ms: 3_600_000 } },
    limits,
    runtime_id: "rt-client-test",
  });
  const app = createApp(runtime, options);
  return {
    runtime,
    app,
    fetch: (input, init) => app.handle(new Request(input, init)),
    close: () => runtime.close(),
  };
}

/** Takes events off an iterator until `stop` holds for one (included). */
export async function take(
  iterator: AsyncIterator<RuntimeEvent>,
  stop: (event: RuntimeEvent, seen: RuntimeEvent[]) => boolean,
): Promise<RuntimeEvent[]> {
  const seen: RuntimeEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) throw new Error(`the iterator ended after ${JSON.stringify(seen.map((e) => [e.id, e.kind]))}`);
    seen.push(next.value);
    if (stop(next.value, seen)) return seen;
  }
}

/** Asserts stored ids strictly increase by one from `first` (no loss, no duplicates, no reordering). */
export function storedIds(events: RuntimeEvent[]): number[] {
  return events.filter((event) => event.id !== null).map((event) => event.id!);
}

export const range = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);

/** A text/event-stream response whose body is `chunks`, then (unless `hold`) its end. */
export function sseResponse(chunks: string[], options: { hold?: boolean; signal?: AbortSignal | null } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!options.hold) controller.close();
      else options.signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")), { once: true });
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

/** An SSE frame of a stored event (or, with id null, a delta). */
export function frame(id: number | null, kind: string, data: Record<string, unknown> = {}): string {
  const event = { id, kind, worker_ref: null, run_id: null, created_at: "2026-01-01T00:00:00.000Z", data };
  return `${id === null ? "" : `id: ${id}\n`}data: ${JSON.stringify(event)}\n\n`;
}

/** The RuntimeClientError `call` fails with; any other outcome fails the test. */
export async function clientError(call: Promise<unknown>): Promise<RuntimeClientError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RuntimeClientError) return error;
    throw error;
  }
  throw new Error("expected a RuntimeClientError");
}
