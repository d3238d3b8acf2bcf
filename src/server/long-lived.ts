import { pathOf } from "./url-path.ts";

/**
 * True for requests that may stay silent longer than a server's idle timeout: the event stream
 * (quiet between heartbeats) and `?wait=` requests (quiet for up to 300 s). A platform adapter
 * with an idle timeout (Bun's default is 10 s) should lift it for these, e.g.
 * `if (isLongLived(request)) server.timeout(request, 0)`, or the connection is cut mid-wait.
 */
export function isLongLived(request: Request): boolean {
  const url = request.url;
  const mark = url.indexOf("?");
  if (mark >= 0) {
    // Parsing the query costs every request with one; a query that has neither `wait` nor a
    // `%` (which could spell it) has no `wait` parameter.
    const search = url.slice(mark + 1);
    if ((search.includes("wait") || search.includes("%")) && new URLSearchParams(search).has("wait")) return true;
  }
  return pathOf(url) === "/v1/events/stream";
}
