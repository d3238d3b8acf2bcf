import { connectionFailed } from "./errors.ts";
import { withSafeRetries } from "./safe-retry.ts";

/** `fetch` as the client calls it; any WHATWG-compatible implementation (or `app.handle`) fits. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * The bearer token: a fixed string, or a function asked before every request (a signed token
 * that the caller renews before it expires; it may cache and answer synchronously).
 */
export type TokenSource = string | null | undefined | (() => string | null | Promise<string | null>);

/** Where and how the client reaches one runtime. */
export interface Transport {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:38800`. */
  url: string;
  fetch: FetchLike;
  /** Sent with every request; the bearer token is added by `fetch`, fresh from its source each time. */
  headers: Record<string, string>;
}

export const DEFAULT_URL = "http://127.0.0.1:38800";

export function transportOf(options: { url?: string; token?: TokenSource; fetch?: FetchLike }): Transport {
  // `127.0.0.1:38800` means http://127.0.0.1:38800 (as Eden reads a bare host too).
  const given = options.url ?? DEFAULT_URL;
  const url = (/^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`).replace(/\/+$/, "");
  const headers: Record<string, string> = {};
  const source = options.token;
  if (typeof source === "string" && source !== "") headers.authorization = `Bearer ${source}`;
  const base = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  // A failing token source fails the call with its own error, not as an unreachable runtime.
  const withToken = async (init: RequestInit): Promise<RequestInit> => {
    if (typeof source !== "function") return init;
    const token = await source();
    const headers = new Headers(init.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    else headers.delete("authorization");
    return { ...init, headers };
  };
  // No answer at all becomes `connection_failed` naming the runtime (never its credentials);
  // an abort the caller asked for stays an abort.
  const fetcher: FetchLike = async (input, init) => {
    const sent = await withToken(init);
    try {
      return await base(input, sent);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw connectionFailed(url, error);
    }
  };
  // Every POST carries an Idempotency-Key and is retried once when its outcome is unknown.
  return { url, fetch: withSafeRetries(fetcher), headers };
}
