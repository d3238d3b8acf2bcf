import type { ErrorCode } from "../core/errors.ts";
import { errnoCode, messageOf } from "../shared/errors.ts";

/**
 * What a client call can fail with: a code of SPEC §9 answered by the runtime, or one of the
 * client's own — `connection_failed` (no HTTP answer at all: refused, reset, DNS) and
 * `unexpected_response` (an answer that is not the runtime's error body, e.g. from a proxy).
 */
export type ClientErrorCode = ErrorCode | "connection_failed" | "unexpected_response";

/** A failed call: the runtime's `{code, message, details?}`, with the HTTP status (null without an answer). */
export class RuntimeClientError extends Error {
  readonly code: ClientErrorCode;
  readonly status: number | null;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ClientErrorCode, message: string, status: number | null, details?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RuntimeClientError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export const isRuntimeClientError = (value: unknown): value is RuntimeClientError => value instanceof RuntimeClientError;

/** The error of a non-2xx answer, from its body as parsed JSON (or text, or nothing). */
export function errorFromBody(status: number, body: unknown): RuntimeClientError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    const details = typeof error.details === "object" && error.details !== null ? (error.details as Record<string, unknown>) : undefined;
    return new RuntimeClientError(error.code as ClientErrorCode, error.message, status, details);
  }
  return new RuntimeClientError("unexpected_response", `HTTP ${status} without an error body`, status);
}

/** The error of an answer read off a `Response` (the body is consumed). */
export async function errorFromResponse(response: Response): Promise<RuntimeClientError> {
  let body: unknown = null;
  try {
    const text = await response.text();
    body = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported as an unexpected response below.
  }
  return errorFromBody(response.status, body);
}

/** The runtime could not be reached at `url` (never includes credentials of the URL). */
export function connectionFailed(url: string, cause: unknown): RuntimeClientError {
  return new RuntimeClientError("connection_failed", `cannot connect to ${printableOrigin(url)}: ${reasonOf(cause)}`, null, undefined, cause);
}

function printableOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function reasonOf(cause: unknown): string {
  // Bun: code ECONNREFUSED; Deno: "fetch failed" caused by "…tcp connect error: Connection refused…".
  const chain: unknown[] = [];
  for (let at: unknown = cause; at !== undefined && at !== null && chain.length < 4; at = (at as { cause?: unknown }).cause) chain.push(at);
  const text = chain.map((item) => `${errnoCode(item) ?? ""} ${messageOf(item)}`).join(" ");
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(text)) return "connection refused";
  if (/ECONNRESET|ConnectionClosed|connection (reset|closed)/i.test(text)) return "connection closed";
  const last = chain.at(-1);
  return last instanceof Error ? last.message : String(last);
}
