import { isLoopback } from "./bind.ts";
import { ConfigError } from "./errors.ts";
import type { ResolvedConfig } from "./resolved.ts";

/**
 * SPEC §10: without a token the API is open to whoever can connect, so it may only listen where
 * no other host can reach it, unless the operator explicitly accepts that risk.
 */
export function checkBindPolicy(config: ResolvedConfig, token: string | null, allowInsecureRemote: boolean): void {
  if (token !== null || allowInsecureRemote || isLoopback(config.server.address.hostname)) return;
  throw new ConfigError(
    `--bind / server.bind: refusing to listen on ${config.server.bind} without a token: any host that can reach it ` +
      `could drive this runtime. Configure a token (--token-env NAME or --token-file PATH), bind a loopback ` +
      `address (127.0.0.1, ::1, localhost), or pass --allow-insecure-remote to accept the risk.`,
  );
}
