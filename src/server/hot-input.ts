import { isValidId } from "../core/ids.ts";
import { ROUTE_SCOPES, type MatchedRoute } from "./scopes.ts";

/** `POST /v1/workers/:worker_id/input` matched in its plain form. */
export interface HotInput {
  path: string;
  route: MatchedRoute;
  worker_id: string;
}

const PREFIX = "/v1/workers/";
const SUFFIX = "/input";

/**
 * The write a Backend sends most, `POST /v1/workers/:worker_id/input` (issue 16), matched for
 * the request pipeline's front door like the hot reads (hot-reads.ts): only the plain case — the
 * path spelled exactly as the route declares it, a valid id, no query (`?wait=` goes to the
 * route, whose answer depends on it), no fragment. Anything else returns `undefined` and goes
 * to the route.
 */
export function matchHotInput(request: Request): HotInput | undefined {
  if (request.method !== "POST") return undefined;
  const url = request.url;
  const scheme = url.indexOf("://");
  if (scheme < 0) return undefined;
  const start = url.indexOf("/", scheme + 3);
  if (start < 0 || url.includes("?", start) || url.includes("#", start)) return undefined;
  if (!url.startsWith(PREFIX, start) || !url.endsWith(SUFFIX)) return undefined;
  const worker_id = url.slice(start + PREFIX.length, url.length - SUFFIX.length);
  if (!isValidId(worker_id)) return undefined;
  return {
    path: url.slice(start),
    route: { key: "POST /v1/workers/:worker_id/input", scope: ROUTE_SCOPES["POST /v1/workers/:worker_id/input"], worker_id },
    worker_id,
  };
}
