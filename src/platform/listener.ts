import { errnoCode, messageOf } from "../shared/errors.ts";
/** A request handler as every runtime's HTTP server calls it (Elysia's `app.fetch`). */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ListenOptions {
  hostname: string;
  /** 0 picks any free port; the chosen one is in `Listener.port`. */
  port: number;
  /**
   * Requests that may stay silent longer than an idle timeout (an event stream between
   * heartbeats, a `?wait=` request): the adapter lifts its idle timeout for them.
   */
  isLongLived?: (request: Request) => boolean;
}

export interface Listener {
  /** `http://HOST:PORT` as actually bound (IPv6 in brackets). */
  url: string;
  hostname: string;
  port: number;
  /**
   * Stops accepting connections. Resolves once in-flight requests have finished, or at once
   * with `force`, which cuts them (event streams never finish on their own).
   */
  stop(force?: boolean): Promise<void>;
}

/** Listening failed: the address is in use, not available on this host, or not permitted. */
export class ListenError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "ListenError";
  }
}

export function listenFailure(hostname: string, port: number, error: unknown): ListenError {
  const code = errnoCode(error);
  const name = (error as { name?: unknown })?.name;
  const known =
    code === "EADDRINUSE" || name === "AddrInUse"
      ? "address already in use"
      : code === "EADDRNOTAVAIL" || name === "AddrNotAvailable"
        ? "address not available on this host"
        : code === "EACCES" || name === "PermissionDenied"
          ? "permission denied"
          : null;
  const where = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  const reason = known ?? messageOf(error);
  return new ListenError(`cannot listen on ${where}: ${reason}`, typeof code === "string" ? code : typeof name === "string" ? name : undefined);
}

export function urlOf(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}
