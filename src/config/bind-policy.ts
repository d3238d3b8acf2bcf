import { isLoopback } from "./bind.ts";
import { ConfigError } from "./errors.ts";
import type { ResolvedConfig } from "./resolved.ts";

/**
 * SPEC §10: without a token the API is open to whoever can connect, so it may only listen where
 * no other host can reach it, unless the operator explicitly accepts that risk.
 */
export function checkBindPolicy(config: ResolvedConfig, token: string | null, allowInsecureRemote: boolean): void {
  if (allowInsecureRemote) return;
  const metrics = config.server.metrics_address;
  // The metrics listener never asks for credentials: it is for a scraper on this host.
  if (metrics !== null && !isLoopback(metrics.hostname)) {
    throw new ConfigError(
      `--metrics-bind / server.metrics_bind: refusing to serve metrics without credentials on ${config.server.metrics_bind}: ` +
        `bind a loopback address (127.0.0.1, ::1, localhost), scrape the main port with a metrics:read token, or pass ` +
        `--allow-insecure-remote to accept the risk.`,
    );
  }
  const secured = token !== null || config.auth.public_keys_file !== null;
  if (secured || isLoopback(config.server.address.hostname)) return;
  throw new ConfigError(
    `--bind / server.bind: refusing to listen on ${config.server.bind} without a token: any host that can reach it ` +
      `could drive this runtime. Configure a token (--token-env NAME or --token-file PATH) or signed tokens ` +
      `([auth] public_keys_file), bind a loopback address (127.0.0.1, ::1, localhost), or pass ` +
      `--allow-insecure-remote to accept the risk.`,
  );
}
