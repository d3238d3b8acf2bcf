import { TypeCompiler } from "@sinclair/typebox/compiler";
import { isValidId } from "../core/ids.ts";
import type { Runtime } from "../core/runtime.ts";
import { TranscriptQuery } from "./http-schema.ts";

/** A hot read matched: its path (for the request log), the core call, and the body's envelope. */
export interface HotRead {
  path: string;
  read: () => Promise<unknown>;
  envelope: (value: never) => object;
}

const runtimeEnvelope = (runtime: unknown) => ({ runtime });
const workerEnvelope = (worker: unknown) => ({ worker });
const transcriptEnvelope = (transcript: unknown) => ({ transcript });

/**
 * The three reads a Backend polls — `GET /v1/workers/:worker_id`, `GET /v1/runtime` and
 * `GET /v1/workers/:worker_id/transcript` — answered without Elysia's per-request machinery
 * (context, hooks, route handler wrapper), which costs these small answers a third of their
 * throughput. The returned function matches a request and gives back the read to run, which
 * the caller runs only once the request passed the guard (no Origin header, the token if one
 * is configured), answering `Response.json(envelope(value))`. Only the plain success case is handled: the
 * path is spelled exactly as the
 * route declares it with a valid id and nothing to decode, the query (transcript only) is
 * `name=digits` pairs that the route's own schema accepts, and the core call succeeds.
 * Everything else — HEAD, a trailing slash, percent-encoding, an unknown or repeated query
 * parameter — returns `undefined`, and a failing read is the caller's to hand over: the request
 * goes through the Elysia route as if this did not exist; the core calls are reads, so running
 * one again there is harmless. The answer is built the way Elysia builds it for these routes
 * (`Response.json` of the same envelope, status 200, no other headers), so both paths give the
 * same bytes; the routes keep their schemas for OpenAPI and Eden.
 */
export function hotReads(runtime: Runtime): (request: Request) => HotRead | undefined {
  const transcriptQuery = TypeCompiler.Compile(TranscriptQuery);

  return (request) => {
    if (request.method !== "GET") return undefined;
    const url = request.url;
    const scheme = url.indexOf("://");
    if (scheme < 0) return undefined;
    const start = url.indexOf("/", scheme + 3);
    if (start < 0 || url.includes("#", start)) return undefined;
    const mark = url.indexOf("?", start);
    const path = mark < 0 ? url.slice(start) : url.slice(start, mark);

    if (path === "/v1/runtime") {
      if (mark >= 0) return undefined;
      return { path, read: () => runtime.summary(), envelope: runtimeEnvelope };
    }
    if (!path.startsWith("/v1/workers/")) return undefined;
    const slash = path.indexOf("/", 12);
    const id = slash < 0 ? path.slice(12) : path.slice(12, slash);
    if (!isValidId(id)) return undefined;
    if (slash < 0) {
      if (mark >= 0) return undefined;
      return { path, read: () => runtime.getWorker(id), envelope: workerEnvelope };
    }
    if (path.length !== slash + 11 || !path.endsWith("/transcript")) return undefined;
    const query = mark < 0 ? Object.create(null) : plainIntegerQuery(url.slice(mark + 1));
    if (query === null || !transcriptQuery.Check(query)) return undefined;
    const { start: first, limit, tail } = query;
    return { path, read: () => runtime.transcript(id, { start: first, limit, tail }), envelope: transcriptEnvelope };
  };
}

const PAIR = /^([a-z_]+)=(0|[1-9][0-9]{0,15})$/;

/**
 * `a=1&b=2` as `{a: 1, b: 2}` (what strictQuery makes of it), or null for anything else: an
 * empty pair, a name given twice, a value that is not plain decimal digits, anything that
 * would need decoding (`%`, `+`).
 */
function plainIntegerQuery(search: string): Record<string, number> | null {
  const query: Record<string, number> = Object.create(null);
  if (search === "") return query;
  for (const pair of search.split("&")) {
    const match = PAIR.exec(pair);
    if (!match) return null;
    const name = match[1]!;
    if (Object.hasOwn(query, name)) return null;
    query[name] = Number(match[2]);
  }
  return query;
}
