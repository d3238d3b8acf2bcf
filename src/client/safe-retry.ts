import { RuntimeClientError } from "./errors.ts";
import type { FetchLike } from "./transport.ts";

/** The header that makes a POST safe to retry (SPEC §10). */
export const IDEMPOTENCY_HEADER = "idempotency-key";
/** The longest a `Retry-After` is honoured before the one retry. */
const MAX_RETRY_WAIT_MS = 5_000;

/**
 * Every POST carries an Idempotency-Key (a fresh one unless the caller set its own), and is sent
 * once more with the same key when its first answer leaves the outcome open: a 503 whose error
 * says `details.outcome: "unknown"` (the write may or may not be durable), or no answer at all
 * (`connection_failed`). The runtime answers the retry with the first attempt's result if that
 * one was applied, so retrying never applies anything twice. A body that cannot be sent twice (a
 * stream) is not retried. Anything else is answered as it came.
 */
export function withSafeRetries(send: FetchLike, wait: (ms: number) => Promise<void> = delay): FetchLike {
  return async (input, init) => {
    if ((init.method ?? "GET").toUpperCase() !== "POST") return send(input, init);
    const headers = new Headers(init.headers);
    if (!headers.has(IDEMPOTENCY_HEADER)) headers.set(IDEMPOTENCY_HEADER, freshKey());
    const request: RequestInit = { ...init, headers };
    const replayable = init.body === undefined || init.body === null || typeof init.body === "string";
    let response: Response;
    try {
      response = await send(input, request);
    } catch (error) {
      if (!replayable || init.signal?.aborted || !(error instanceof RuntimeClientError) || error.code !== "connection_failed") throw error;
      return send(input, request);
    }
    if (!replayable || !(await outcomeUnknown(response))) return response;
    await wait(retryAfterMs(response));
    return send(input, request);
  };
}

/** A 503 whose error body says the write may or may not have been applied. */
async function outcomeUnknown(response: Response): Promise<boolean> {
  if (response.status !== 503) return false;
  try {
    const body = (await response.clone().json()) as { error?: { details?: { outcome?: unknown } } } | null;
    return body?.error?.details?.outcome === "unknown";
  } catch {
    return false;
  }
}

function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_WAIT_MS) : 0;
}

/** 128 random bits as hex; Node 18 has no global `crypto` unless flagged, so it is looked up, not assumed. */
function freshKey(): string {
  const bytes = new Uint8Array(16);
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: (array: Uint8Array) => Uint8Array } }).crypto;
  if (typeof webCrypto?.getRandomValues === "function") webCrypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const delay = (ms: number): Promise<void> => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms)));
