import { checkBindPolicy } from "../config/bind-policy.ts";
import { checkLayer } from "../config/check-layer.ts";
import { loadConfig } from "../config/load.ts";
import { preflight } from "../config/preflight.ts";
import type { ResolvedConfig } from "../config/resolved.ts";
import { resolveToken } from "../config/token.ts";
import { builtinBackends } from "../execution/index.ts";
import { environment, isTerminal, workingDirectory } from "../platform/index.ts";
import type { KeySet } from "../server/key-set.ts";
import { flagName, flagsLayer, type ServeArgs } from "./flags.ts";
import { loadKeySet } from "./public-keys.ts";

export interface ServeSetup {
  config: ResolvedConfig;
  /** Never logged or printed. */
  token: string | null;
  /** The signed-token keys, read from `auth.public_keys_file`; null when none are configured. */
  keys: KeySet | null;
  allowInsecureRemote: boolean;
  /** The environment the config was read with; backends are built with it too. */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Everything `serve` needs before it opens anything, checked in full: flags, config files,
 * environment, token, bind rule, and what the configuration needs of this host (`preflight`).
 * `config` runs exactly this, so it prints what `serve` would run with and refuses what `serve`
 * would refuse. Throws `ConfigError`.
 */
export function resolveServeSetup(args: ServeArgs): ServeSetup {
  const backends = builtinBackends;
  const flags = checkLayer(flagsLayer(args), backends, "", flagName);
  const env = environment();
  const config = loadConfig({
    flags,
    flagName,
    configFile: args.config,
    env,
    cwd: workingDirectory(),
    backends,
    logIsTTY: isTerminal("stderr"),
  });
  const token = resolveToken(config.auth, env);
  const allowInsecureRemote = args["allow-insecure-remote"] === true;
  checkBindPolicy(config, token, allowInsecureRemote);
  const keys = config.auth.public_keys_file === null ? null : loadKeySet(config.auth.public_keys_file);
  preflight(config, env);
  return { config, token, keys, allowInsecureRemote, env };
}
