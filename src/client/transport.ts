import { connectionFailed } from "./errors.ts";

/** `fetch` as the client calls it; any WHATWG-compatible implementation (or `app.handle`) fits. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Where and how the client reaches one runtime. */
export interface Transport {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:38800`. */
  url: string;
  fetch: FetchLike;
  /** Sent with every request (the bearer token, when there is one). */
  headers: Record<string, string>;
}

export const DEFAULT_URL = "http://127.0.0.1:38800";

export function transportOf(options: { url?: string; token?: string | null; fetch?: FetchLike }): Transport {
  // `127.0.0.1:38800` means http://127.0.0.1:38800 (as Eden reads a bare host too).
  const given = options.url ?? DEFAULT_URL;
  const url = (/^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`).replace(/\/+$/, "");
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const base = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  // No answer at all becomes `connection_failed` naming the runtime (never its credentials);
  // an abort the caller asked for stays an abort.
  const fetcher: FetchLike = async (input, init) => {
    try {
      return await base(input, init);
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw connectionFailed(url, error);
    }
  };
  return { url, fetch: fetcher, headers };
}
