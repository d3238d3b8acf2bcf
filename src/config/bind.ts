import { isIP } from "../shared/ip.ts";

/** A listen address from `server.bind` / `--bind`. `hostname` is bare (no brackets around IPv6). */
export interface BindAddress {
  hostname: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `HOST:PORT` or `[IPv6]:PORT`; port 0 asks for any free port. Returns the problem as a
 * message instead of throwing, so the caller can name the flag or key it came from.
 */
export function parseBind(value: string): BindAddress | string {
  let host: string;
  let port: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return `expected [IPV6]:PORT, got "${value}"`;
    host = value.slice(1, close);
    port = value.slice(close + 2);
    if (isIP(host) !== 6) return `"${host}" is not an IPv6 address`;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) return `expected HOST:PORT, got "${value}"`;
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.includes(":")) return `an IPv6 address needs brackets: [${host}]:${port}`;
    if (isIP(host) !== 4 && !HOSTNAME.test(host)) return `"${host}" is not a valid host name or IPv4 address`;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `port must be an integer from 0 to 65535, got "${port}"`;
  return { hostname: host, port: Number(port) };
}

/**
 * True when only this host can reach the address: 127.0.0.0/8, ::1 (also IPv4-mapped) or
 * `localhost`. Any other name may resolve to a routable address, so it counts as remote.
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) {
    const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return mapped[1]!.startsWith("127.");
    return expandIPv6(host) === "0000:0000:0000:0000:0000:0000:0000:0001";
  }
  return false;
}

/** `::1` → `0000:…:0001`, so every spelling of one address compares equal. */
function expandIPv6(address: string): string {
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill("0"), ...right].map((group) => group.padStart(4, "0")).join(":");
}

/** The address as a URL authority: IPv6 in brackets. */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
