import { errorFromBody, RuntimeClientError } from "./errors.ts";

/** What an Eden treaty call resolves with, as far as `unwrap` reads it. */
interface TreatyResult {
  data: unknown;
  error: { status: unknown; value: unknown } | null;
  response: Response | undefined;
}

/**
 * The data of a successful call, or a thrown `RuntimeClientError`: the runtime's error body for
 * a 4xx/5xx, `connection_failed` when there was no answer at all.
 *
 * ```ts
 * const { workers } = await unwrap(client.v1.workers.get());
 * ```
 */
export async function unwrap<R extends TreatyResult>(call: Promise<R> | R): Promise<NonNullable<R["data"]>> {
  const result = await call;
  if (result.error === null) return result.data as NonNullable<R["data"]>;
  const { status, value } = result.error;
  // Eden reports a fetch that threw as status 503 without a response, the thrown error as value.
  // (The transport already turned that error into `connection_failed` naming the URL.)
  // An abort the caller asked for is rethrown as it is.
  if (result.response === undefined) {
    if (value instanceof RuntimeClientError || (value instanceof Error && value.name === "AbortError")) throw value;
    throw new RuntimeClientError("connection_failed", `cannot connect to the runtime: ${String(value)}`, null, undefined, value);
  }
  if (typeof status !== "number") throw new RuntimeClientError("unexpected_response", "an answer without a status", null);
  throw errorFromBody(status, value);
}
