/**
 * `yoi-runtime/client`: a typed client for Backends written in TypeScript (SPEC §12). The
 * request methods are an Eden treaty over the server's `type App` (a type-only import: neither
 * Elysia nor the server is loaded at run time); `events()` follows the event stream.
 *
 * ```ts
 * const client = createClient({ url: "http://127.0.0.1:38800", token: process.env.YOI_RUNTIME_TOKEN });
 * const { worker } = await unwrap(client.v1.workers.post({ worker_id: "w1" }));
 * for await (const event of client.events({ worker_id: "w1" })) console.log(event.kind);
 * ```
 */
import { treaty, type Treaty } from "@elysiajs/eden/treaty2";
import type { RuntimeEvent } from "../core/schema/event.ts";
import type { App } from "../server/index.ts";
import { streamEvents, type EventsOptions } from "./events.ts";
import { transportOf, type FetchLike, type TokenSource, type Transport } from "./transport.ts";

export { RuntimeClientError, isRuntimeClientError, type ClientErrorCode } from "./errors.ts";
export { unwrap } from "./unwrap.ts";
export { DEFAULT_URL, type FetchLike, type TokenSource } from "./transport.ts";
export type { EventsOptions } from "./events.ts";
export type { App } from "../server/index.ts";
export { isRunEnded } from "../core/run-ended.ts";
export type {
  Ack,
  CreateWorkerRequest,
  EventKind,
  PermissionRequest,
  Run,
  RuntimeEvent,
  RunEndedEvent,
  RuntimeSummary,
  StopReason,
  StoredEvent,
  ToolCall,
  TranscriptEntry,
  WorkerDetail,
  WorkerSummary,
  WorkspaceStatus,
  RemovedWorkspace,
} from "../core/schema/index.ts";

export interface ClientOptions {
  /** The runtime's base URL, e.g. `http://127.0.0.1:38800` (the default). */
  url?: string;
  /**
   * Bearer token, when the runtime requires one (SPEC §10): the static token or a signed one, or
   * a function that returns the current token before each request (renew it before it expires).
   */
  token?: TokenSource;
  /** Replaces the global `fetch` (tests, proxies, or `(url, init) => app.handle(new Request(url, init))`). */
  fetch?: FetchLike;
}

/** The routes of SPEC §10 as typed methods (`client.v1.workers.get()`), plus `events()`. */
export type RuntimeClient = Treaty.Create<App> & {
  /** Follows the event stream; see `EventsOptions`. Reconnects on its own, losing no stored event. */
  events(options?: EventsOptions): AsyncGenerator<RuntimeEvent, void, undefined>;
  /** The base URL the client talks to. */
  readonly url: string;
};

/**
 * A client of one runtime. Calls answer Eden's `{ data, error, status }`; `unwrap()` turns that
 * into the data or a thrown `RuntimeClientError` with the runtime's `{code, message}`. Date
 * strings stay strings, as the schemas declare them.
 */
export function createClient(options: ClientOptions = {}): RuntimeClient {
  const transport: Transport = transportOf(options);
  const api = treaty<App>(transport.url, {
    fetcher: transport.fetch as typeof fetch,
    headers: transport.headers,
    parseDate: false,
    keepDomain: true,
  });
  const events = (eventOptions?: EventsOptions) => streamEvents(transport, eventOptions);
  // The treaty is a proxy that turns every property into a path segment; the two extra members
  // are answered before it (the API has no top-level `events` or `url` route).
  return new Proxy(api, {
    get(target, key, receiver) {
      if (key === "events") return events;
      if (key === "url") return transport.url;
      return Reflect.get(target, key, receiver);
    },
  }) as RuntimeClient;
}
